"""A hosts.toml whose root (``server`` and the file's top-level ``ca``) may only pull,
and whose ``[host]`` for the same registry resolves without a ``ca``: containerd
resolves at the ``[host]`` alone and fails "x509: certificate signed by unknown
authority" (the runtime table's scenario fixcov-hosts-entry-lacks-ca, ctr and the CRI).
check said error with no finding (no fix): the entry with the CA is not on the resolve
route, so it found none to copy. Now tls-hosts-entry-lacks-ca copies the root's ``ca``
to the ``[host]``. Against the real TLS registry of the testbed.

With every runtime in scope and the CA in docker's certs.d too, the file whose CA was
matched against the hosts.toml was the first trusting runtime's first file (docker's
ca.crt), never the hosts.toml's: error with no finding again. Each runtime's own
anchoring CA files are matched now."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.testbed import Testbed


@pytest.mark.parametrize(
    ("runtime", "scope"),
    [("containerd", "containerd"), ("kubernetes", "kubernetes"), ("containerd", "all")],
)
def test_the_root_ca_off_the_resolve_route_is_copied(
    testbed: Testbed, tmp_path: Path, runtime: str, scope: str
) -> None:
    hostport = testbed.endpoints["tls"].hostport
    config = tmp_path / "etc/containerd/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n'
    )
    hosts = tmp_path / f"etc/containerd/certs.d/{hostport}/hosts.toml"
    hosts.parent.mkdir(parents=True)
    (hosts.parent / "ca.crt").write_bytes(testbed.ca_file.read_bytes())
    hosts.write_text(
        f'server = "https://{hostport}"\ncapabilities = ["pull"]\n'
        f'ca = "/etc/containerd/certs.d/{hostport}/ca.crt"\n\n'
        f'[host."https://{hostport}"]\n  capabilities = ["pull", "resolve"]\n'
    )
    if scope == "all":
        # docker's certs.d has the CA too: docker trusts it first
        docker_ca = tmp_path / f"etc/docker/certs.d/{hostport}/ca.crt"
        docker_ca.parent.mkdir(parents=True)
        docker_ca.write_bytes(testbed.ca_file.read_bytes())
    image = f"{hostport}/{testbed.images.app.repository}:{testbed.images.app.tag}"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "regdoctor", "check", "--format", "json"),
            *("--root", str(tmp_path), "--runtime", scope, "--timeout", "3", image),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    document = json.loads(proc.stdout)
    verdict = document["targets"][0]["runtimes"][runtime]
    assert verdict["category"] == "tls.unknown_authority", verdict
    errors = [
        f
        for f in document["findings"]
        if f["severity"] == "error" and runtime in (f.get("runtimes") or [])
    ]
    assert [f["rule"] for f in errors] == ["tls-hosts-entry-lacks-ca"], errors
    facts = next(
        o["facts"]
        for o in document["targets"][0]["observations"]
        if o["kind"] == "runtime.path" and o["facts"]["runtime"] == runtime
    )
    assert facts["entry_ca_table"] == "server"
    assert facts["entry_table"] == f"https://{hostport}"
    assert facts["entry_ca"] == f"/etc/containerd/certs.d/{hostport}/ca.crt"
