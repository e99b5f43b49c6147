"""A registry's CA installed only where a runtime *out of scope* reads it (``check
--runtime R``): R fails "x509: certificate signed by unknown authority" (the runtime
table's scenarios fixcov-ca-only-docker-dir and fixcov-ca-only-containerd-dir show it
with the real clients), and the fix is to copy that CA where R looks
(tls-runtime-lacks-ca). Before, with the CA in docker's certs.d, ``--runtime
containerd`` said error with no finding at all (no fix); with it in containerd's
certs.d directory, ``--runtime docker`` said tls-unknown-authority ("a private CA this
host does not trust"). Against the real TLS registry of the testbed (on 127.0.0.1,
which dockerd treats as insecure: docker's side is the runtime table's).

With a hosts.toml in containerd's directory, a ca.crt copied there is never read
(containerd v1.6.20 remotes/docker/config/hosts.go loadHostDir reads hosts.toml, and
the directory's *.crt only without one): the fix gives the entry that failed the
``ca`` (scenario fixcov-ca-only-docker-dir-hosts-entry: ctr and the CRI still failed
x509 after the copy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.testbed import Testbed


def _check(root: Path, runtime: str, image: str) -> dict:
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "regdoctor", "check", "--format", "json"),
            *("--root", str(root), "--runtime", runtime, "--timeout", "3", image),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return json.loads(proc.stdout)


@pytest.mark.parametrize(
    ("installed", "runtime"),
    [
        ("docker", "containerd"),
        ("docker", "kubernetes"),
        ("containerd", "podman"),
    ],
)
def test_a_ca_only_another_runtime_reads_is_copied(
    testbed: Testbed, tmp_path: Path, installed: str, runtime: str
) -> None:
    hostport = testbed.endpoints["tls"].hostport
    ca = tmp_path / f"etc/{installed}/certs.d/{hostport}/ca.crt"
    ca.parent.mkdir(parents=True)
    ca.write_bytes(testbed.ca_file.read_bytes())
    if runtime in ("containerd", "kubernetes"):
        # containerd 1.6 speaks plain HTTP to a loopback registry no hosts.toml names
        config = tmp_path / "etc/containerd/config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
            '  config_path = "/etc/containerd/certs.d"\n'
        )
        hosts = tmp_path / f"etc/containerd/certs.d/{hostport}/hosts.toml"
        hosts.parent.mkdir(parents=True)
        hosts.write_text(
            f'server = "https://{hostport}"\n\n[host."https://{hostport}"]\n'
            '  capabilities = ["pull", "resolve"]\n'
        )
    image = f"{hostport}/{testbed.images.app.repository}:{testbed.images.app.tag}"
    document = _check(tmp_path, runtime, image)
    verdict = document["targets"][0]["runtimes"][runtime]
    assert verdict["status"] == "error", verdict
    assert verdict["category"] == "tls.unknown_authority", verdict
    errors = [
        f
        for f in document["findings"]
        if f["severity"] == "error" and runtime in (f.get("runtimes") or [])
    ]
    assert [f["rule"] for f in errors] == ["tls-runtime-lacks-ca"], errors
    commands = errors[0]["remediation"][0]["commands"][runtime]
    assert f"/etc/{installed}/certs.d/{hostport}/ca.crt" in commands
    if runtime in ("containerd", "kubernetes"):
        _run_hosts_fix(tmp_path, commands, hostport, ca)


def _run_hosts_fix(root: Path, commands: str, hostport: str, ca: Path) -> None:
    """The fix, run against the files below ``root`` (the machine's /etc there), twice:
    the entry that resolves gets the ``ca``, and the second run changes nothing."""
    import tomllib

    fix = commands.replace("sudo ", "").replace(" /etc/", f" {root}/etc/")
    hosts = root / f"etc/containerd/certs.d/{hostport}/hosts.toml"
    for _ in range(2):
        proc = subprocess.run(
            ["bash", "-e", "-c", fix], capture_output=True, text=True, timeout=30, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        doc = tomllib.loads(hosts.read_text())
        placed = hosts.parent / "ca.crt"
        assert doc["host"][f"https://{hostport}"]["ca"] == str(placed), doc
        assert placed.read_bytes() == ca.read_bytes()
