"""Per-runtime walks after the per-entry trust of containerd's hosts.toml: what it must
not change for the other runtimes, and the corner cases of an entry's own ``ca``.
Unit tests of one step (the walk, which findings apply) and checks against the real
registries of the testbed through ``regdoctor check --root``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from regdoctor.check.routes import Route
from regdoctor.check.seen import Kind, Seen
from regdoctor.check.verdicts import _with_runtimes
from regdoctor.check.walk import walk_runtime
from regdoctor.model import Finding, Severity, TargetReport
from regdoctor.model.target import Target
from regdoctor.runtime.common import Endpoint
from tests.harness.testbed import Testbed

REGISTRY = "reg.test:5000"


def _report() -> TargetReport:
    target = Target(raw=f"{REGISTRY}/team/app:1", registry=REGISTRY, host="reg.test", port=5000)
    return TargetReport(target, {}, (), (), (), 0.0)


def _endpoint(scheme: str, *, mirror: bool = False) -> Endpoint:
    return Endpoint(
        url=f"{scheme}://{REGISTRY}/v2/",
        scheme=scheme,
        host=REGISTRY,
        path_prefix="/v2",
        mirror=mirror,
        skip_verify=False,
        source="test",
    )


def _finding(rule: str, phase: str) -> Finding:
    return Finding(rule, "x", Severity.ERROR, "high", "t", phase, rule, "")


def test_docker_insecure_https_failure_does_not_outrank_the_last_error() -> None:
    """dockerd with insecure-registries: the https endpoint fails its handshake, the
    http one answers 401. dockerd reports the last error (moby pullEndpoints lastErr):
    an https-phase error finding does not apply to it, the auth finding does."""
    seen = Seen(
        https="handshake_failure",
        https_error="remote error: tls: handshake failure",
        went_on="http",
        post_failure=(Kind.UNAUTHORIZED, "401 Unauthorized"),
    )
    route = Route("docker", (_endpoint("https", mirror=True), _endpoint("http")))
    report = _report()
    walk = walk_runtime("docker", route, report, seen, {})
    assert not walk.ok and walk.failure is not None and walk.failure[0] is Kind.UNAUTHORIZED
    assert walk.failed_part == "post"
    tls = _with_runtimes(_finding("tls-x", "tls"), report, {"docker": walk})
    auth = _with_runtimes(_finding("auth-x", "auth"), report, {"docker": walk})
    assert tls.runtimes == () and auth.runtimes == ("docker",)


def test_containerd_keeps_every_failed_part() -> None:
    """containerd reports its first non-404 error: the https failure of a [host] before
    the server still applies (what tls-hosts-entry-lacks-ca relies on)."""
    seen = Seen(
        https="handshake_failure",
        https_error="remote error: tls: handshake failure",
        went_on="http",
        post_failure=(Kind.UNAUTHORIZED, "401 Unauthorized"),
    )
    route = Route("containerd", (_endpoint("https", mirror=True), _endpoint("http")))
    report = _report()
    walk = walk_runtime("containerd", route, report, seen, {})
    tls = _with_runtimes(_finding("tls-x", "tls"), report, {"containerd": walk})
    assert tls.runtimes == ("containerd",)


def test_a_not_observed_endpoint_carries_no_part_of_the_one_before() -> None:
    """An http:// [host] answers 404 (part "post"); the https server line verifies but
    its requests were not observed: that endpoint failed at no known part, not "post"."""
    seen = Seen(https="ok", verify_ok=True, went_on="http", post_failure=(Kind.NOT_FOUND, "404"))
    route = Route("containerd", (_endpoint("http", mirror=True), _endpoint("https")))
    walk = walk_runtime("containerd", route, _report(), seen, {})
    assert walk.failure is not None and walk.failure[1] == "not observed"
    assert walk.failed_part is None


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


def _hosts_toml(root: Path, hostport: str, text: str) -> Path:
    config = root / "etc/containerd/config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n'
    )
    hosts = root / f"etc/containerd/certs.d/{hostport}/hosts.toml"
    hosts.parent.mkdir(parents=True, exist_ok=True)
    hosts.write_text(text)
    return hosts


def _path(document: dict, runtime: str) -> dict:
    return next(
        o["facts"]
        for o in document["targets"][0]["observations"]
        if o["kind"] == "runtime.path" and o["facts"]["runtime"] == runtime
    )


def test_a_host_entry_failing_x509_before_a_skip_verify_server_is_a_failed_mirror(
    testbed: Testbed, tmp_path: Path
) -> None:
    """No entry has a ca: the [host] fails x509 (not for a ca another entry has), the
    server line with skip_verify pulls. That is the mirror-fallback warning."""
    hostport = testbed.endpoints["tls_untrusted"].hostport
    _hosts_toml(
        tmp_path,
        hostport,
        f'server = "https://{hostport}"\nskip_verify = true\n\n[host."https://{hostport}"]\n'
        '  capabilities = ["pull", "resolve"]\n',
    )
    document = _check(tmp_path, "containerd", testbed.images.app.ref(hostport))
    facts = _path(document, "containerd")
    assert facts["mirror_failed"] is True and facts["entry_lacks_ca"] is False
    rules = [f["rule"] for f in document["findings"] if "containerd" in f["runtimes"]]
    assert "mirror-fallback" in rules, rules


def test_a_host_entry_failing_x509_before_a_skip_verify_server_is_not_an_error(
    testbed: Testbed, tmp_path: Path
) -> None:
    """The same layout: containerd pulls from the server line after the [host]'s x509
    failure, so its verdict is a warning (mirror-fallback), not an error."""
    hostport = testbed.endpoints["tls_untrusted"].hostport
    _hosts_toml(
        tmp_path,
        hostport,
        f'server = "https://{hostport}"\nskip_verify = true\n\n[host."https://{hostport}"]\n'
        '  capabilities = ["pull", "resolve"]\n',
    )
    document = _check(tmp_path, "containerd", testbed.images.app.ref(hostport))
    errors = [
        f["rule"]
        for f in document["findings"]
        if "containerd" in f["runtimes"] and f["severity"] == "error"
    ]
    assert errors == [], errors


def test_a_podman_mirror_on_the_registrys_own_host_port_is_still_a_mirror() -> None:
    """registries.conf: a [[registry.mirror]] on the same host:port, verified where the
    registry itself is insecure: the mirror fails x509 and podman goes on."""
    seen = Seen(
        https="ok",
        verify_ok=False,
        verify_reason="unknown_authority",
        verify_error="x509: certificate signed by unknown authority",
        trusted_by={"podman": False},
        went_on="https",
    )
    insecure = Endpoint(
        url=f"https://{REGISTRY}/v2/",
        scheme="https",
        host=REGISTRY,
        path_prefix="/v2",
        mirror=False,
        skip_verify=True,
        source="test",
    )
    route = Route("podman", (_endpoint("https", mirror=True), insecure))
    walk = walk_runtime("podman", route, _report(), seen, {})
    assert walk.ok and walk.fell_back
    assert walk.mirror_failed is True


def _ca_dir(root: Path, hostport: str) -> Path:
    return root / f"etc/containerd/certs.d/{hostport}"


def _fix(document: dict, rule: str, runtime: str, hosts: Path, machine_path: str) -> str:
    """The rule's command, run against the file under the test's root (no sudo)."""
    finding = next(f for f in document["findings"] if f["rule"] == rule)
    command = finding["remediation"][0]["commands"][runtime]
    return command.replace("sudo python3", sys.executable).replace(machine_path, str(hosts))


def _run(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=False
    )


def test_an_entry_whose_own_ca_does_not_anchor_is_not_an_entry_without_ca(
    testbed: Testbed, tmp_path: Path
) -> None:
    """A rotated CA: [host] ca = old.crt (does not anchor), the server line new.crt. The
    [host] has a ca: no 'has no ca', no script adding a second ca to its table."""
    hostport = testbed.endpoints["tls"].hostport
    d = _ca_dir(tmp_path, hostport)
    d.mkdir(parents=True)
    (d / "new.crt").write_bytes(testbed.ca_file.read_bytes())
    (d / "old.crt").write_bytes(testbed.pki.untrusted_ca_file.read_bytes())
    machine = f"/etc/containerd/certs.d/{hostport}"
    _hosts_toml(
        tmp_path,
        hostport,
        f'server = "https://{hostport}"\nca = "{machine}/new.crt"\n\n'
        f'[host."https://{hostport}"]\n  capabilities = ["pull", "resolve"]\n'
        f'  ca = "{machine}/old.crt"\n',
    )
    document = _check(tmp_path, "containerd", testbed.images.app.ref(hostport))
    facts = _path(document, "containerd")
    assert facts["outcome"] == "pulls"
    assert facts["entry_lacks_ca"] is False
    assert "ca does not anchor" in facts["fell_back"][0], facts["fell_back"]
    rules = [f["rule"] for f in document["findings"] if "containerd" in f["runtimes"]]
    assert "tls-hosts-entry-lacks-ca-passed" not in rules
    assert "mirror-fallback" in rules, rules  # it fails there and goes on: still said


def test_every_ca_file_of_the_other_entry_is_copied_into_the_table_as_written(
    testbed: Testbed, tmp_path: Path
) -> None:
    """The server line names two CA files; the [host] table (single quotes, spaces in
    its header) has none. The fix copies both, into that table, and the file parses."""
    hostport = testbed.endpoints["tls"].hostport
    d = _ca_dir(tmp_path, hostport)
    d.mkdir(parents=True)
    (d / "ca.crt").write_bytes(testbed.ca_file.read_bytes())
    (d / "other.crt").write_bytes(testbed.pki.untrusted_ca_file.read_bytes())
    machine = f"/etc/containerd/certs.d/{hostport}"
    cas = [f"{machine}/other.crt", f"{machine}/ca.crt"]
    hosts = _hosts_toml(
        tmp_path,
        hostport,
        f'server = "https://{hostport}"\nca = {json.dumps(cas)}\n\n'
        f"[ host.'https://{hostport}' ]  # the registry itself\n"
        '  capabilities = ["pull", "resolve"]\n',
    )
    document = _check(tmp_path, "containerd", testbed.images.app.ref(hostport))
    facts = _path(document, "containerd")
    assert facts["entry_lacks_ca"] is True and facts["entry_is_server"] is False
    assert facts["entry_ca"] == ", ".join(cas)
    assert facts["entry_table"] == f"https://{hostport}" and facts["entry_ca_table"] == "server"
    rule = "tls-hosts-entry-lacks-ca-passed"
    command = _fix(document, rule, "containerd", hosts, f"{machine}/hosts.toml")
    done = _run(command)
    assert done.returncode == 0, done.stderr
    import tomllib

    assert tomllib.loads(hosts.read_text())["host"][f"https://{hostport}"]["ca"] == cas
    after = _check(tmp_path, "containerd", testbed.images.app.ref(hostport))
    assert after["targets"][0]["runtimes"]["containerd"]["status"] == "ok"
    # run again: the table has its ca now; the script says so and writes nothing
    text = hosts.read_text()
    again = _run(command)
    assert again.returncode != 0 and "has a ca already" in again.stderr
    assert "Traceback" not in again.stderr and hosts.read_text() == text


def test_a_table_the_script_cannot_find_stops_it_with_a_message(
    testbed: Testbed, tmp_path: Path
) -> None:
    hostport = testbed.endpoints["tls"].hostport
    d = _ca_dir(tmp_path, hostport)
    d.mkdir(parents=True)
    (d / "ca.crt").write_bytes(testbed.ca_file.read_bytes())
    machine = f"/etc/containerd/certs.d/{hostport}"
    hosts = _hosts_toml(
        tmp_path,
        hostport,
        f'server = "https://{hostport}"\nca = "{machine}/ca.crt"\n\n'
        f'[host."https://{hostport}"]\n  capabilities = ["pull", "resolve"]\n',
    )
    document = _check(tmp_path, "containerd", testbed.images.app.ref(hostport))
    command = _fix(
        document, "tls-hosts-entry-lacks-ca-passed", "containerd", hosts, f"{machine}/hosts.toml"
    )
    # the same table, written as a dotted key the script does not edit
    hosts.write_text(
        f'server = "https://{hostport}"\nca = "{machine}/ca.crt"\n'
        f'host."https://{hostport}".capabilities = ["pull", "resolve"]\n'
    )
    text = hosts.read_text()
    done = _run(command)
    assert done.returncode != 0 and "cannot find the line" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and hosts.read_text() == text


def test_the_server_flag_is_the_root_entry_not_the_last_position() -> None:
    """The root allows only pull: a tag's route ends at a [host], which is no server."""
    from regdoctor.check.verdicts import _entry_facts
    from regdoctor.runtime.containerd import containerd_endpoints

    hostport = REGISTRY
    hosts = (
        f'server = "https://{hostport}"\ncapabilities = ["pull"]\n\n'
        f'[host."https://{hostport}"]\n  capabilities = ["pull", "resolve"]\n'
        '  ca = "/etc/a.crt"\n'
        f'[host."https://{hostport}/second"]\n  capabilities = ["pull", "resolve"]\n'
    )
    endpoints = containerd_endpoints(hostport, hosts)
    assert [e.root for e in endpoints] == [False, False]
    walk = walk_runtime(
        "containerd",
        Route("containerd", tuple(endpoints)),
        _report(),
        Seen(
            https="ok",
            verify_ok=False,
            verify_reason="unknown_authority",
            trusted_by={"containerd": True},
            trusted_at={"containerd": [True, False]},
            went_on="https",
            post_failure=(Kind.NOT_FOUND, "manifest unknown"),
        ),
        {},
    )
    facts = _entry_facts(
        "containerd",
        walk,
        Seen(trusted_at={"containerd": [True, False]}),
        Route("containerd", tuple(endpoints)),
    )
    assert facts["entry_lacks_ca"] is True
    assert facts["entry_is_server"] is False
    assert facts["entry_table"] == f"https://{hostport}/second"
    assert containerd_endpoints(hostport, hosts.replace('capabilities = ["pull"]\n', ""))[-1].root


def test_a_dead_mirror_before_a_missing_tag_is_what_containerd_reports(
    testbed: Testbed, tmp_path: Path
) -> None:
    """A [host] mirror that refuses connections, then the registry answers 404: ctr and
    the CRI report the mirror's connection error (resolver.go Resolve: firstErr)."""
    hostport = testbed.endpoints["tls"].hostport
    closed = testbed.endpoints["closed"].hostport
    d = _ca_dir(tmp_path, hostport)
    d.mkdir(parents=True)
    (d / "ca.crt").write_bytes(testbed.ca_file.read_bytes())
    _hosts_toml(
        tmp_path,
        hostport,
        f'server = "https://{hostport}"\nca = "/etc/containerd/certs.d/{hostport}/ca.crt"\n\n'
        f'[host."https://{closed}"]\n  capabilities = ["pull", "resolve"]\n',
    )
    missing = f"{hostport}/{testbed.images.app.repository}:no-such-tag"
    document = _check(tmp_path, "containerd", missing)
    target = next(t for t in document["targets"] if t["target"] == missing)
    verdict = target["runtimes"]["containerd"]
    assert verdict["status"] == "error"
    assert verdict["endpoint"] == f"https://{closed}/v2/", verdict
    assert verdict["category"] == "tcp.refused", verdict


def test_a_dead_mirror_before_an_untrusted_registry_is_what_containerd_reports(
    testbed: Testbed, tmp_path: Path
) -> None:
    """A [host] mirror that refuses connections, then the registry's own certificate
    fails x509: containerd reports the mirror's error (its first, not its last: resolver.go
    Resolve, firstErr), and the registry's x509 stays an error finding for it (both must
    be fixed before it pulls; the runtime table's containerd-dead-mirror-then-x509)."""
    hostport = testbed.endpoints["tls_untrusted"].hostport
    closed = testbed.endpoints["closed"].hostport
    _hosts_toml(
        tmp_path,
        hostport,
        f'server = "https://{hostport}"\n\n[host."https://{closed}"]\n'
        '  capabilities = ["pull", "resolve"]\n',
    )
    document = _check(tmp_path, "containerd", testbed.images.app.ref(hostport))
    target = next(t for t in document["targets"] if t["target"].startswith(hostport))
    verdict = target["runtimes"]["containerd"]
    assert verdict["status"] == "error"
    assert verdict["endpoint"] == f"https://{closed}/v2/", verdict
    assert verdict["category"] == "tcp.refused", verdict
    errors = {
        f["category"]
        for f in document["findings"]
        if "containerd" in f["runtimes"] and f["severity"] == "error"
    }
    assert "tls.unknown_authority" in errors, errors


def test_a_refused_connect_before_plain_http_is_not_the_error_of_a_configured_target() -> None:
    """dockerd with insecure-registries behind a proxy that wants a login: the CONNECT of
    the https endpoint is refused (407), dockerd goes on to http://, and the proxy's 407
    to that request is the error it prints. The target came from daemon.json (its
    runtime is docker), but the tunnel's finding cites no configuration: it is not on
    the part where docker failed; the proxy's 407 to the plain request is."""
    from dataclasses import replace

    seen = Seen(
        https="proxy_refused",
        https_error="proxyconnect: the proxy answered 'HTTP/1.1 407'",
        went_on="http",
        post_failure=(Kind.SERVER_ERROR, "407 Proxy Authentication Required"),
    )
    route = Route("docker", (_endpoint("https", mirror=True), _endpoint("http")))
    report = _report()
    report = replace(report, target=replace(report.target, runtime="docker"))
    walk = walk_runtime("docker", route, report, seen, {})
    assert walk.failed_part == "post"
    tunnel = _with_runtimes(_finding("proxy-tunnel-refused", "tcp"), report, {"docker": walk})
    login = _with_runtimes(_finding("http-proxy-auth-required", "http"), report, {"docker": walk})
    assert tunnel.runtimes == () and login.runtimes == ("docker",)


def test_the_token_server_s_certificate_is_part_of_the_auth_step() -> None:
    """A finding on the realm's TLS (phase tls, role realm) is where the walk failed
    after /v2/ (part "post"): it applies to docker, whose token request failed, also when
    the target came from docker's configuration."""
    from dataclasses import replace

    from regdoctor.model import Observation

    realm = Observation(
        kind="tls.verify", target=REGISTRY, ok=False, phase="tls", facts={"role": "realm"}
    )
    seen = Seen(https="ok", verify_ok=True, went_on="https", post_failure=(Kind.TLS, "x509"))
    route = Route("docker", (_endpoint("https"),))
    report = replace(_report(), observations=(realm,))
    report = replace(report, target=replace(report.target, runtime="docker"))
    walk = walk_runtime("docker", route, report, seen, {})
    assert walk.failed_part == "post"
    finding = replace(_finding("tls-realm-unknown-authority", "tls"), observations=(0,))
    assert _with_runtimes(finding, report, {"docker": walk}).runtimes == ("docker",)
