"""`regdoctor check` against the real registry variants of the testbed.

For every scenario: the leading finding's category and the exit code, the JSON document
validated against the shipped schema, and real `skopeo inspect` run against the same
peer to show that regdoctor's verdict (healthy or not) is what a real client sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.skopeo import run_skopeo_inspect
from tests.harness.testbed import PASSWORD, USERNAME, Testbed
from tests.helpers.commands_lint import assert_commands_clean


@dataclass
class Result:
    code: int
    document: dict
    stdout: str
    stderr: str

    @property
    def findings(self) -> list[dict]:
        return self.document["findings"]

    @property
    def leading(self) -> dict | None:
        leading = [f for f in self.findings if f["leading"]]
        return leading[0] if leading else None

    @property
    def categories(self) -> list[str]:
        return [f["category"] for f in self.findings]

    def phase(self, name: str, target: int = 0) -> dict:
        return next(p for p in self.document["targets"][target]["phases"] if p["name"] == name)


def regdoctor(*args: str, password: str | None = None, fmt: str = "json") -> Result:
    """``regdoctor check``, judged as docker does unless ``--runtime`` is given (these
    scenarios were written for Docker's semantics: loopback registries may fall back to
    plain HTTP)."""
    if "--runtime" not in args:
        args = ("--runtime", "docker", *args)
    argv = [sys.executable, "-m", "regdoctor", "check", "--format", fmt, *args]
    if password is not None:
        argv[6:6] = ["--username", USERNAME, "--password-stdin"]
    proc = subprocess.run(
        argv,
        input=password if password is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    document = json.loads(proc.stdout) if fmt == "json" and proc.stdout.strip() else {}
    # every command of every scenario: no placeholder, valid shell (issue #14)
    assert_commands_clean(document)
    return Result(proc.returncode, document, proc.stdout, proc.stderr)


@dataclass(frozen=True)
class Scenario:
    name: str
    endpoint: str
    category: str | None  # the leading finding's category; None: healthy
    exit_code: int
    image: bool = True
    scheme: str | None = None  # pin the scheme in the TARGET
    args: tuple[str, ...] = ()
    ca: bool = True  # pass --ca-file (the trusted test CA)
    password: str | None = None
    client_cert: bool = False
    skopeo_fails: bool = True
    skopeo_creds: bool = False
    peer: str = "skopeo"


SCENARIOS = [
    Scenario("plain-http", "plain", None, 0, skopeo_fails=False),
    Scenario("tls-valid-anonymous", "tls", None, 0, skopeo_fails=False),
    Scenario(
        "tls-basic-right-password",
        "tls_basic",
        None,
        0,
        password=PASSWORD,
        skopeo_fails=False,
        skopeo_creds=True,
    ),
    Scenario("tls-basic-no-credentials", "tls_basic", "auth.unauthorized", 2),
    Scenario(
        "tls-basic-wrong-password", "tls_basic", "auth.unauthorized", 2, password="wrong-password"
    ),
    Scenario("tls-expired", "tls_expired", "tls.expired", 2),
    Scenario("tls-wrong-host", "tls_wrong_host", "tls.hostname_mismatch", 2),
    Scenario("tls-cn-only", "tls_cn_only", "tls.hostname_mismatch", 2),
    Scenario("tls-untrusted-ca", "tls_untrusted", "tls.unknown_authority", 2),
    Scenario("tls-no-ca-given", "tls", "tls.unknown_authority", 2, ca=False),
    Scenario("tls-expiring-soon", "tls_expiring", "tls.expiring_soon", 1, skopeo_fails=False),
    Scenario("mtls-without-client-cert", "tls_mtls", "tls.handshake", 2),
    Scenario("mtls-with-client-cert", "tls_mtls", None, 0, client_cert=True, skopeo_fails=False),
    Scenario(
        "token-right-password",
        "token",
        None,
        0,
        password=PASSWORD,
        skopeo_fails=False,
        skopeo_creds=True,
    ),
    Scenario(
        "token-server-refuses",
        "token_refuse",
        "auth.unauthorized",
        2,
        password=PASSWORD,
        skopeo_creds=True,
    ),
    Scenario(
        "token-server-5xx", "token_error", "server.error", 2, password=PASSWORD, skopeo_creds=True
    ),
    Scenario(
        "token-server-bad-json",
        "token_badjson",
        "server.error",
        2,
        password=PASSWORD,
        skopeo_creds=True,
    ),
    Scenario(
        "token-wrong-audience",
        "token_wrongaud",
        "auth.unauthorized",
        2,
        password=PASSWORD,
        skopeo_creds=True,
    ),
    Scenario(
        "token-grants-no-pull", "token_less", "auth.denied", 2, password=PASSWORD, skopeo_creds=True
    ),
    Scenario("closed-port", "closed", "tcp.refused", 2),
    Scenario("blackhole", "blackhole", "tcp.timeout", 2, args=("--timeout", "1")),
    # the TLS handshake stalls: a timeout is never a reason to try plain HTTP
    Scenario("accepts-never-answers", "silent", "tls.handshake", 2, args=("--timeout", "1")),
    Scenario("not-a-registry", "not_registry", "other", 2, scheme="http"),
    Scenario("plain-http-on-tls-port", "plain", "tls.http_on_https", 2, scheme="https"),
    # skopeo cannot be made to speak plain HTTP to a TLS port (--tls-verify=false still
    # tries HTTPS first), so this one is compared with curl, a real client that can.
    Scenario("tls-spoken-to-as-http", "tls", "tls.http_on_https", 2, scheme="http", peer="curl"),
]


def _target(bed: Testbed, scenario: Scenario) -> str:
    endpoint = bed.endpoints[scenario.endpoint]
    base = f"{scenario.scheme}://{endpoint.hostport}" if scenario.scheme else endpoint.hostport
    return f"{base}/{bed.images.app.repository}:{bed.images.app.tag}" if scenario.image else base


def _curl(bed: Testbed, scenario: Scenario) -> tuple[int, str]:
    endpoint = bed.endpoints[scenario.endpoint]
    scheme = scenario.scheme or endpoint.scheme
    proc = subprocess.run(
        [
            "curl",
            "-sS",
            "--fail",
            "--max-time",
            "3",
            "--noproxy",
            "*",
            "--cacert",
            str(bed.ca_file),
            "-o",
            "/dev/null",
            f"{scheme}://{endpoint.hostport}/v2/",
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return proc.returncode, proc.stderr


def _skopeo(bed: Testbed, scenario: Scenario, tmp_path: Path) -> tuple[int, str]:
    if scenario.peer == "curl":
        return _curl(bed, scenario)
    endpoint = bed.endpoints[scenario.endpoint]
    uses_tls = scenario.scheme == "https" or (
        scenario.scheme is None and endpoint.scheme == "https"
    )
    cert_dir = None
    if uses_tls and scenario.ca:
        cert_dir = bed.make_cert_dir(tmp_path / "certs", ca=True, client=scenario.client_cert)
    creds = (USERNAME, scenario.password or PASSWORD) if scenario.skopeo_creds else None
    return run_skopeo_inspect(
        bed.images.app.ref(endpoint.hostport),
        tls_verify=uses_tls,
        cert_dir=cert_dir,
        creds=creds,
        timeout_s=3,
    )


def _skopeo_verifies(bed: Testbed, scenario: Scenario) -> bool:
    endpoint = bed.endpoints[scenario.endpoint]
    return scenario.scheme == "https" or (scenario.scheme is None and endpoint.scheme == "https")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario(testbed: Testbed, scenario: Scenario, tmp_path: Path, check_schema) -> None:
    # skopeo is containers/image, as podman: judge as podman does; where skopeo is run
    # with --tls-verify=false, podman's equivalent is an insecure registry (--insecure)
    args = ["--runtime", "podman", *scenario.args]
    if not _skopeo_verifies(testbed, scenario) and scenario.peer == "skopeo":
        args.append("--insecure")
    if scenario.ca:
        args += ["--ca-file", str(testbed.ca_file)]
    if scenario.client_cert:
        args += ["--cert", str(testbed.client_cert), "--key", str(testbed.client_key)]
    result = regdoctor(*args, _target(testbed, scenario), password=scenario.password)
    check_schema(result.document)
    assert result.code == scenario.exit_code, (result.categories, result.stderr)
    if scenario.category is None:
        assert not [f for f in result.findings if f["severity"] == "error"], result.findings
    else:
        assert result.leading is not None, result.document
        assert result.leading["category"] == scenario.category, result.categories
    if scenario.password:
        assert scenario.password not in result.stdout + result.stderr
    code, stderr = _skopeo(testbed, scenario, tmp_path)
    assert (code != 0) == scenario.skopeo_fails, stderr
    healthy = result.code in (0, 1)
    assert healthy == (code == 0), f"regdoctor {result.code} vs skopeo {code}: {stderr}"


def test_healthy_plain_registry_runs_every_phase(testbed: Testbed) -> None:
    result = regdoctor(
        testbed.images.multi.ref(testbed.endpoints["plain"].hostport), "--platform", "linux/arm64"
    )
    assert result.code == 0, result.findings
    statuses = {p["name"]: p["status"] for p in result.document["targets"][0]["phases"]}
    assert statuses == {
        "dns": "ok",
        "tcp": "ok",
        "tls": "n/a",
        "http": "ok",
        "auth": "ok",
        "image": "ok",
        "harbor": "n/a",  # not a Harbor registry
    }
    manifest = next(
        o for o in result.document["targets"][0]["observations"] if o["kind"] == "image.manifest"
    )
    assert manifest["facts"]["digest"] == testbed.images.multi.digest
    found = {"/".join(p.split("/")[:2]) for p in manifest["facts"]["platforms"]}
    assert found == set(testbed.images.multi.platforms)


def test_later_phases_are_skipped_not_failed(testbed: Testbed) -> None:
    result = regdoctor(testbed.endpoints["closed"].hostport)
    assert result.phase("tcp")["status"] == "failed"
    for name in ("tls", "http", "auth"):
        phase = result.phase(name)
        assert phase["status"] == "skipped"
        assert "tcp" in phase["reason"]
    assert result.categories == ["tcp.refused"]


@pytest.mark.parametrize(
    ("reference", "category"),
    [
        ("team/app:no-such-tag", "image.manifest_unknown"),
        ("no/such-repo:1.0", "image.name_unknown"),
    ],
)
def test_missing_tag_and_missing_repository_are_told_apart(testbed, reference, category):
    image = f"{testbed.endpoints['plain'].hostport}/{reference}"
    result = regdoctor(image)
    assert result.code == 2
    assert result.leading["category"] == category
    code, stderr = run_skopeo_inspect(image, tls_verify=False, timeout_s=3)
    assert code != 0 and "manifest unknown" in stderr


def test_platform_mismatch(testbed: Testbed) -> None:
    target = testbed.images.app.ref(testbed.endpoints["plain"].hostport)
    result = regdoctor(target, "--platform", "linux/s390x")
    assert result.code == 2
    assert result.leading["category"] == "image.platform_mismatch"
    assert "linux/amd64" in result.leading["explanation"]


@pytest.mark.parametrize(
    ("name", "category", "answered"),
    [
        ("nothing-here.invalid", "dns.nxdomain", "NXDOMAIN (no such name):"),
        ("slow.timeout.test", "dns.failure", "nothing in time (timeout) (A: timeout"),
        (
            "broken.servfail.test",
            "dns.failure",
            "SERVFAIL (it could not get an answer upstream) (A: servfail",
        ),
    ],
)
def test_dns_failures(testbed: Testbed, name: str, category: str, answered: str) -> None:
    result = regdoctor(f"{name}:5000", "--dns-server", testbed.dns_server, "--timeout", "1")
    assert result.code == 2
    assert result.leading["category"] == category
    answer = next(
        o for o in result.document["targets"][0]["observations"] if o["kind"] == "dns.answer"
    )
    assert answer["facts"]["resolver"] == testbed.dns_server
    # the probe gives the enum, the rule says it (no sentence in the facts)
    assert not [k for k in answer["facts"] if k.endswith("_text")]
    assert (
        f"{name}, the DNS server {testbed.dns_server} answered {answered}"
        in (result.leading["explanation"])
    )


def test_name_resolved_through_given_dns_server(testbed: Testbed) -> None:
    port = testbed.endpoints["tls_basic"].port
    result = regdoctor(
        f"registry.test:{port}/team/app:1.2",
        "--dns-server",
        testbed.dns_server,
        "--ca-file",
        str(testbed.ca_file),
        password=PASSWORD,
    )
    assert result.code == 0, result.findings
    target = result.document["targets"][0]
    assert target["endpoint"]["address"] == "127.0.0.1"


def test_unreachable_resolver(testbed: Testbed) -> None:
    closed = testbed.endpoints["closed"].port
    result = regdoctor(
        "registry.test:5000", "--dns-server", f"127.0.0.1:{closed}", "--timeout", "1"
    )
    assert result.code == 2
    assert result.leading["category"] == "dns.failure"


def test_token_realm_host_gets_its_own_phases(testbed: Testbed) -> None:
    result = regdoctor(
        "--ca-file",
        str(testbed.ca_file),
        testbed.images.app.ref(testbed.endpoints["token"].hostport),
        password=PASSWORD,
    )
    assert result.code == 0, result.findings
    observations = result.document["targets"][0]["observations"]
    realm = [o for o in observations if o["facts"].get("role") == "realm"]
    assert {o["kind"] for o in realm} >= {
        "dns.answer",
        "tcp.connect",
        "tls.handshake",
        "tls.verify",
    }
    steps = [o["step"] for o in observations if o["kind"] == "http.response"]
    assert steps[:3] == ["v2", "auth.token", "auth.ping"]
    token = next(o for o in observations if o["step"] == "auth.token")
    assert token["facts"]["sent_credentials"] is True
    result_obs = next(o for o in observations if o["kind"] == "auth.result")
    assert result_obs["facts"]["granted"] == [
        {"type": "repository", "name": "team/app", "actions": ["pull"]}
    ]


def test_ca_and_client_certificate_from_docker_certs_d(testbed: Testbed, isolate_env) -> None:
    """Docker's per-registry directory: ca.crt is trusted, client.cert/.key are sent."""
    import shutil

    endpoint = testbed.endpoints["tls_mtls"]
    directory = isolate_env.config_root / "etc/docker/certs.d" / endpoint.hostport
    directory.mkdir(parents=True)
    shutil.copy(testbed.ca_file, directory / "ca.crt")
    without_client = regdoctor(testbed.images.app.ref(endpoint.hostport))
    assert without_client.leading["category"] == "tls.handshake"  # trusted, but no client cert
    shutil.copy(testbed.client_cert, directory / "client.cert")
    shutil.copy(testbed.client_key, directory / "client.key")
    result = regdoctor(testbed.images.app.ref(endpoint.hostport))
    assert result.code == 0, result.findings
    handshake = next(
        o for o in result.document["targets"][0]["observations"] if o["kind"] == "tls.handshake"
    )
    assert handshake["facts"]["client_cert"].endswith("client.cert")
    verify = next(
        o for o in result.document["targets"][0]["observations"] if o["kind"] == "tls.verify"
    )
    assert any("certs.d" in source for source in verify["facts"]["ca_sources"])
