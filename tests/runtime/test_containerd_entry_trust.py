"""containerd gives every hosts.toml entry its own TLS settings (remotes/docker/config/
hosts.go ConfigureHosts, v1.6.20) and goes on to the next host after a 404
(remotes/docker/resolver.go Resolve): with the ``ca`` only on the ``[host]`` table, a
missing tag sends it to the ``server`` entry, which has no ``ca``; the pull reports that
entry's x509 error. Against the real TLS registry of the testbed (the scenario
tag-missing-server-fallback checks the same against ctr and the CRI plugin)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from regdoctor.check.seen import Kind, Seen
from regdoctor.check.walk import UNTRUSTED_ENTRY, https_outcome
from tests.harness.testbed import Testbed


def _node(root: Path, hostport: str, ca_file: Path, *, server_ca: bool = False) -> Path:
    config = root / "etc/containerd/config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n'
    )
    hosts = root / f"etc/containerd/certs.d/{hostport}/hosts.toml"
    hosts.parent.mkdir(parents=True, exist_ok=True)
    (hosts.parent / "ca.crt").write_bytes(ca_file.read_bytes())
    ca = f'ca = "/etc/containerd/certs.d/{hostport}/ca.crt"\n'
    hosts.write_text(
        (ca if server_ca else "")
        + f'server = "https://{hostport}"\n\n[host."https://{hostport}"]\n'
        '  capabilities = ["pull", "resolve"]\n  ' + ca
    )
    return hosts


def _check(root: Path, runtime: str, image: str) -> dict:
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "regdoctor", "check", "--format", "json"),
            *("--root", str(root), "--runtime", runtime, image),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return json.loads(proc.stdout)


def _path(document: dict, runtime: str) -> dict:
    observations = document["targets"][0]["observations"]
    return next(
        o["facts"]
        for o in observations
        if o["kind"] == "runtime.path" and o["facts"]["runtime"] == runtime
    )


@pytest.mark.parametrize("runtime", ["containerd", "kubernetes"])
def test_a_missing_tag_ends_at_the_server_entry_without_the_ca(
    testbed: Testbed, tmp_path: Path, runtime: str
) -> None:
    hostport = testbed.endpoints["tls"].hostport
    _node(tmp_path, hostport, testbed.ca_file)
    missing = f"{hostport}/{testbed.images.app.repository}:no-such-tag"
    document = _check(tmp_path, runtime, missing)
    verdict = document["targets"][0]["runtimes"][runtime]
    assert verdict["status"] == "error"
    assert verdict["category"] == "tls.unknown_authority", verdict
    facts = _path(document, runtime)
    assert facts["entry_lacks_ca"] is True
    assert facts["entry_is_server"] is True and facts["after_not_found"] is True
    assert facts["entry_ca"] == f"/etc/containerd/certs.d/{hostport}/ca.crt"
    verify = next(o for o in document["targets"][0]["observations"] if o["kind"] == "tls.verify")
    assert verify["facts"]["trusted_at"][runtime] == [True, False]
    # both are true, and both are said: the TLS error the runtime reports, the missing tag
    mine = {
        f["rule"]: f
        for f in document["findings"]
        if runtime in f["runtimes"] and f["severity"] == "error"
    }
    assert {"tls-hosts-entry-lacks-ca", "image-manifest-unknown"} <= set(mine), list(mine)
    command = mine["tls-hosts-entry-lacks-ca"]["remediation"][0]["commands"][runtime]
    assert f"/etc/containerd/certs.d/{hostport}/hosts.toml" in command


def test_with_the_ca_on_the_server_line_the_missing_tag_is_what_remains(
    testbed: Testbed, tmp_path: Path
) -> None:
    hostport = testbed.endpoints["tls"].hostport
    _node(tmp_path, hostport, testbed.ca_file, server_ca=True)
    missing = f"{hostport}/{testbed.images.app.repository}:no-such-tag"
    document = _check(tmp_path, "containerd", missing)
    verdict = document["targets"][0]["runtimes"]["containerd"]
    assert verdict["category"] == "image.manifest_unknown", verdict
    assert _path(document, "containerd")["entry_lacks_ca"] is False


def test_a_tag_that_exists_is_pulled_from_the_host_entry(testbed: Testbed, tmp_path: Path) -> None:
    hostport = testbed.endpoints["tls"].hostport
    _node(tmp_path, hostport, testbed.ca_file)
    document = _check(tmp_path, "containerd", testbed.images.app.ref(hostport))
    assert document["targets"][0]["runtimes"]["containerd"]["status"] == "ok"


def test_a_host_entry_without_the_ca_of_the_server_line_is_passed_with_a_warning(
    testbed: Testbed, tmp_path: Path
) -> None:
    hostport = testbed.endpoints["tls"].hostport
    hosts = _node(tmp_path, hostport, testbed.ca_file, server_ca=True)
    hosts.write_text(hosts.read_text().replace("  ca = ", "  # ca = "))  # [host]: no ca
    document = _check(tmp_path, "containerd", testbed.images.app.ref(hostport))
    verdict = document["targets"][0]["runtimes"]["containerd"]
    assert verdict["status"] == "warning", verdict
    assert verdict["category"] == "tls.unknown_authority", verdict
    facts = _path(document, "containerd")
    assert facts["entry_lacks_ca"] is True and facts["entry_table"] == f"https://{hostport}"
    assert facts["mirror_failed"] is False  # the registry's own host:port is no mirror
    rules = [f["rule"] for f in document["findings"] if "containerd" in f["runtimes"]]
    assert "tls-hosts-entry-lacks-ca-passed" in rules and "mirror-fallback" not in rules


def test_an_entry_without_the_ca_another_entry_has_fails_alone() -> None:
    seen = Seen(
        https="ok",
        verify_ok=False,
        verify_reason="unknown_authority",
        trusted_by={"containerd": True},
        trusted_at={"containerd": [True, False]},
    )
    assert https_outcome(seen, False, "containerd", 0) is None
    assert https_outcome(seen, False, "containerd", 1) == (Kind.TLS, UNTRUSTED_ENTRY)
    assert https_outcome(seen, True, "containerd", 1) is None  # skip_verify on that entry
    assert https_outcome(seen, False, "containerd") is None  # no index: the file's trust


@pytest.mark.parametrize("runtime", ["containerd", "kubernetes"])
def test_a_missing_tag_after_the_host_entry_without_the_ca_reports_its_x509(
    testbed: Testbed, tmp_path: Path, runtime: str
) -> None:
    """The ca only on the server line, a tag nobody has: the [host] fails x509, the
    server answers 404; containerd reports its first non-404 error (resolver.go
    Resolve firstErr), the x509 of the [host], not the 404."""
    hostport = testbed.endpoints["tls"].hostport
    hosts = _node(tmp_path, hostport, testbed.ca_file, server_ca=True)
    hosts.write_text(hosts.read_text().replace("  ca = ", "  # ca = "))  # [host]: no ca
    missing = f"{hostport}/{testbed.images.app.repository}:no-such-tag"
    document = _check(tmp_path, runtime, missing)
    verdict = document["targets"][0]["runtimes"][runtime]
    assert verdict["status"] == "error"
    assert verdict["category"] == "tls.unknown_authority", verdict
    facts = _path(document, runtime)
    assert facts["entry_lacks_ca"] is True and facts["entry_is_server"] is False
    assert facts["after_not_found"] is False
    assert facts["entry_table"] == f"https://{hostport}"
    mine = {f["rule"] for f in document["findings"] if runtime in f["runtimes"]}
    assert {"tls-hosts-entry-lacks-ca", "image-manifest-unknown"} <= mine, mine
