"""Self-tests of the harness: every peer behaves as documented, seen by real clients.

If one of these fails, product tests built on the testbed would fail (or, worse, pass)
for the wrong reason, so they check each variant's observable behaviour, not its config.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.resolver
import httpx
import pytest
from cryptography import x509

from tests.harness import procs
from tests.harness import testbed as testbed_module
from tests.harness.clients import fetch_token, http_client, parse_challenge
from tests.harness.content import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from tests.harness.dns import NXDOMAIN_NAME, SERVFAIL_NAME, TIMEOUT_NAME, V6_ONLY_NAME
from tests.harness.isolation import IsolatedEnv, proxy_variable_names
from tests.harness.pki import CertKey
from tests.harness.servers import NOT_FOUND_HTML, connect_times_out
from tests.harness.skopeo import run_skopeo_inspect
from tests.harness.testbed import Endpoint, Testbed, start_testbed
from tests.harness.token_server import SERVICE, WRONG_AUDIENCE

EXPECTED_ENDPOINTS = {
    "plain", "tls", "tls_basic", "tls_expired", "tls_wrong_host", "tls_cn_only",
    "tls_untrusted", "tls_expiring", "tls_mtls", "token", "token_refuse", "token_error",
    "token_badjson", "token_wrongaud", "token_less", "closed", "blackhole", "silent",
    "not_registry",
}  # fmt: skip
MANIFEST_ACCEPT = ", ".join([DOCKER_MANIFEST, OCI_MANIFEST, OCI_INDEX])
BAD_CERT_VARIANTS = ("tls_expired", "tls_wrong_host", "tls_cn_only", "tls_untrusted")


def _client_pair(bed: Testbed) -> CertKey:
    return CertKey(bed.client_cert, bed.client_key)


def _get_v2(bed: Testbed, ep: Endpoint, **kwargs: object) -> httpx.Response:
    with http_client(ep.url, ca_file=bed.ca_file, **kwargs) as client:  # type: ignore[arg-type]
        return client.get("/v2/")


# --- the testbed as a whole ------------------------------------------------------


def test_endpoint_keys_and_shapes(testbed: Testbed) -> None:
    assert set(testbed.endpoints) == EXPECTED_ENDPOINTS
    for name, ep in testbed.endpoints.items():
        assert ep.name == name
        assert ep.host == "127.0.0.1"
        assert ep.hostport == f"127.0.0.1:{ep.port}"
        assert ep.url == f"{ep.scheme}://127.0.0.1:{ep.port}"
    ports = [ep.port for ep in testbed.endpoints.values()]
    assert len(set(ports)) == len(ports), "every endpoint has its own port"
    assert testbed.dns_server == f"127.0.0.1:{testbed.dns.port}"


def test_startup_is_fast(testbed: Testbed) -> None:
    print(f"testbed started in {testbed.startup_s:.2f}s")
    assert testbed.startup_s < 5.0


def test_registry_logs_go_to_files(testbed: Testbed) -> None:
    for name in testbed.registries:
        assert testbed.log_path(name).is_file()


# --- registries: /v2/ answers -----------------------------------------------------


def test_plain_answers_200(testbed: Testbed) -> None:
    resp = _get_v2(testbed, testbed.endpoints["plain"])
    assert resp.status_code == 200
    assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"


@pytest.mark.parametrize("name", ["tls", "tls_expiring"])
def test_tls_with_trusted_ca_answers_200(testbed: Testbed, name: str) -> None:
    assert _get_v2(testbed, testbed.endpoints[name]).status_code == 200


def test_tls_basic_challenges_then_accepts_credentials(testbed: Testbed) -> None:
    ep = testbed.endpoints["tls_basic"]
    anonymous = _get_v2(testbed, ep)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic realm=")
    with http_client(ep.url, ca_file=testbed.ca_file) as client:
        assert client.get("/v2/", auth=(testbed.username, testbed.password)).status_code == 200
        assert client.get("/v2/", auth=(testbed.username, "wrong")).status_code == 401


def test_mtls_needs_the_client_certificate(testbed: Testbed) -> None:
    ep = testbed.endpoints["tls_mtls"]
    assert _get_v2(testbed, ep, client=_client_pair(testbed)).status_code == 200
    with pytest.raises(httpx.TransportError):
        _get_v2(testbed, ep)


@pytest.mark.parametrize("name", BAD_CERT_VARIANTS)
def test_bad_certificates_fail_verification_but_serve(testbed: Testbed, name: str) -> None:
    ep = testbed.endpoints[name]
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        _get_v2(testbed, ep)
    assert _get_v2(testbed, ep, verify=False).status_code == 200


@pytest.mark.parametrize(
    "name", ["tls", "tls_basic", "tls_expired", "tls_wrong_host", "tls_cn_only",
             "tls_untrusted", "tls_expiring"],
)  # fmt: skip
def test_each_tls_variant_presents_its_own_leaf(testbed: Testbed, name: str) -> None:
    ep = testbed.endpoints[name]
    assert ep.server_cert is not None
    served = ssl.get_server_certificate(("127.0.0.1", ep.port), timeout=2)
    assert x509.load_pem_x509_certificate(served.encode()) == x509.load_pem_x509_certificate(
        ep.server_cert.cert.read_bytes()
    )


def test_expiring_leaf_expires_in_about_five_days(testbed: Testbed) -> None:
    leaf = testbed.endpoints["tls_expiring"].server_cert
    assert leaf is not None
    cert = x509.load_pem_x509_certificate(leaf.cert.read_bytes())
    left_s = cert.not_valid_after_utc.timestamp() - time.time()
    assert 4.9 * 86400 < left_s <= 5 * 86400


def test_cn_only_leaf_has_no_san(testbed: Testbed) -> None:
    leaf = testbed.pki.leaves["cn_only"]
    cert = x509.load_pem_x509_certificate(leaf.cert.read_bytes())
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_http_on_tls_port_fails_the_handshake(testbed: Testbed) -> None:
    ep = testbed.http_on_tls_port
    assert ep.port == testbed.endpoints["plain"].port and ep.scheme == "https"
    with pytest.raises(httpx.ConnectError, match=r"WRONG_VERSION_NUMBER|wrong version"):
        _get_v2(testbed, ep)


# --- content ----------------------------------------------------------------------


def test_content_is_visible_through_every_tls_variant(testbed: Testbed) -> None:
    """One shared storage root: pushed via plain, served by tls_basic too."""
    app = testbed.images.app
    ep = testbed.endpoints["tls_basic"]
    with http_client(ep.url, ca_file=testbed.ca_file) as client:
        resp = client.get(
            f"/v2/{app.repository}/manifests/{app.tag}",
            headers={"Accept": MANIFEST_ACCEPT},
            auth=(testbed.username, testbed.password),
        )
    assert resp.status_code == 200
    assert resp.headers["Docker-Content-Digest"] == app.digest


def test_multi_arch_index_lists_both_platforms(testbed: Testbed) -> None:
    multi = testbed.images.multi
    with http_client(testbed.endpoints["plain"].url) as client:
        resp = client.get(
            f"/v2/{multi.repository}/manifests/{multi.tag}", headers={"Accept": MANIFEST_ACCEPT}
        )
    assert resp.headers["Content-Type"] == OCI_INDEX
    entries = {
        f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
        for m in resp.json()["manifests"]
    }
    assert (
        entries
        == multi.platforms
        == {
            "linux/amd64": multi.platforms["linux/amd64"],
            "linux/arm64": multi.platforms["linux/arm64"],
        }
    )
    assert resp.headers["Docker-Content-Digest"] == multi.digest


def test_nginx_is_there(testbed: Testbed) -> None:
    nginx = testbed.images.nginx
    with http_client(testbed.endpoints["plain"].url) as client:
        resp = client.get("/v2/library/nginx/tags/list")
    assert resp.json() == {"name": "library/nginx", "tags": ["latest"]}
    assert nginx.media_type == DOCKER_MANIFEST


# --- token auth -------------------------------------------------------------------


def _pull_manifest_with_token(
    bed: Testbed, name: str, auth: tuple[str, str] | None
) -> tuple[httpx.Response, httpx.Response | None]:
    """The full dance: anonymous pull -> 401 challenge -> realm -> retry with the token."""
    app = bed.images.app
    path = f"/v2/{app.repository}/manifests/{app.tag}"
    with http_client(bed.endpoints[name].url) as registry:
        first = registry.get(path, headers={"Accept": MANIFEST_ACCEPT})
        assert first.status_code == 401
        scheme, challenge = parse_challenge(first.headers["WWW-Authenticate"])
        assert scheme == "bearer"
        assert challenge["realm"] == bed.endpoints[name].realm
        assert challenge["service"] == SERVICE
        assert challenge["scope"] == f"repository:{app.repository}:pull"
        token_resp = fetch_token(challenge, ca_file=bed.ca_file, auth=auth)
        try:
            token = token_resp.json()["token"]
        except (ValueError, KeyError):  # refused, failed, or not JSON at all
            return token_resp, None
        pulled = registry.get(
            path, headers={"Accept": MANIFEST_ACCEPT, "Authorization": f"Bearer {token}"}
        )
        return token_resp, pulled


def _creds(bed: Testbed) -> tuple[str, str]:
    return bed.username, bed.password


def test_token_dance_pulls_the_manifest(testbed: Testbed) -> None:
    token_resp, pulled = _pull_manifest_with_token(testbed, "token", _creds(testbed))
    body = token_resp.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300 and body["issued_at"].endswith("Z")
    assert pulled is not None and pulled.status_code == 200
    assert pulled.headers["Docker-Content-Digest"] == testbed.images.app.digest


def test_token_server_refuses_wrong_or_missing_credentials(testbed: Testbed) -> None:
    wrong, _ = _pull_manifest_with_token(testbed, "token", (testbed.username, "nope"))
    assert wrong.status_code == 401
    missing, _ = _pull_manifest_with_token(testbed, "token", None)
    assert missing.status_code == 401


def test_anonymous_tokens_only_when_allowed(testbed: Testbed) -> None:
    with testbed.token_server.anonymous_allowed():
        token_resp, pulled = _pull_manifest_with_token(testbed, "token", None)
    assert token_resp.status_code == 200
    assert pulled is not None and pulled.status_code == 200
    assert testbed.token_server.allow_anonymous is False


def test_token_less_grants_nothing(testbed: Testbed) -> None:
    token_resp, pulled = _pull_manifest_with_token(testbed, "token_less", _creds(testbed))
    assert token_resp.status_code == 200
    assert pulled is not None and pulled.status_code == 401


def test_token_wrongaud_is_rejected_by_the_registry(testbed: Testbed) -> None:
    token_resp, pulled = _pull_manifest_with_token(testbed, "token_wrongaud", _creds(testbed))
    claims = _jwt_claims(token_resp.json()["token"])
    assert claims["aud"] == WRONG_AUDIENCE
    assert pulled is not None and pulled.status_code == 401


def _jwt_claims(token: str) -> dict[str, object]:
    import jwt

    return dict(jwt.decode(token, options={"verify_signature": False}))


@pytest.mark.parametrize(
    ("name", "status", "check"),
    [
        ("token_refuse", 401, lambda r: r.json()["errors"][0]["code"] == "UNAUTHORIZED"),
        ("token_error", 503, lambda r: True),
        ("token_badjson", 200, lambda r: r.text == "{not json"),
    ],
)
def test_token_failure_modes(testbed: Testbed, name: str, status: int, check: object) -> None:
    token_resp, pulled = _pull_manifest_with_token(testbed, name, _creds(testbed))
    assert token_resp.status_code == status
    assert pulled is None
    assert callable(check) and check(token_resp)
    if name == "token_badjson":
        with pytest.raises(json.JSONDecodeError):
            token_resp.json()


def test_token_server_records_requests(testbed: Testbed) -> None:
    testbed.token_server.clear_requests()
    _pull_manifest_with_token(testbed, "token_refuse", _creds(testbed))
    (request,) = testbed.token_server.requests
    assert request.path == "/refuse" and request.has_authorization
    assert request.status == 401 and request.service == SERVICE


# --- DNS --------------------------------------------------------------------------


def _resolver(bed: Testbed, lifetime_s: float = 1.0) -> dns.resolver.Resolver:
    return bed.dns.resolver(lifetime_s)


def test_dns_answers_registry_test(testbed: Testbed) -> None:
    answer = _resolver(testbed).resolve("registry.test", "A")
    assert [r.to_text() for r in answer] == ["127.0.0.1"]
    wild = _resolver(testbed).resolve("anything.wild.registry.test", "A")
    assert [r.to_text() for r in wild] == ["127.0.0.1"]


def test_dns_v6_only_name(testbed: Testbed) -> None:
    assert [r.to_text() for r in _resolver(testbed).resolve(V6_ONLY_NAME, "AAAA")] == ["::1"]
    with pytest.raises(dns.resolver.NoAnswer):
        _resolver(testbed).resolve(V6_ONLY_NAME, "A")


def test_dns_nxdomain(testbed: Testbed) -> None:
    with pytest.raises(dns.resolver.NXDOMAIN):
        _resolver(testbed).resolve(NXDOMAIN_NAME, "A")


def test_dns_timeout_name_times_out(testbed: Testbed) -> None:
    started = time.monotonic()
    with pytest.raises(dns.resolver.LifetimeTimeout):
        _resolver(testbed, lifetime_s=1.0).resolve(TIMEOUT_NAME, "A")
    assert time.monotonic() - started < 1.5


def test_dns_servfail_name(testbed: Testbed) -> None:
    query = dns.message.make_query(SERVFAIL_NAME, "A")
    reply = dns.query.udp(query, "127.0.0.1", port=testbed.dns.port, timeout=1)
    assert reply.rcode() == dns.rcode.SERVFAIL


# --- socket-level peers -------------------------------------------------------------


def test_blackhole_connect_times_out(testbed: Testbed) -> None:
    started = time.monotonic()
    assert connect_times_out(testbed.endpoints["blackhole"].port, timeout_s=1.0)
    assert time.monotonic() - started < 1.5


def test_closed_port_refuses(testbed: Testbed) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", testbed.endpoints["closed"].port), timeout=1)


def test_silent_accepts_but_never_answers(testbed: Testbed) -> None:
    port = testbed.endpoints["silent"].port
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)


def test_not_registry_answers_404_html(testbed: Testbed) -> None:
    with http_client(testbed.endpoints["not_registry"].url) as client:
        for path in ("/v2/", "/v2/team/app/manifests/1.2", "/"):
            resp = client.get(path)
            assert resp.status_code == 404
            assert resp.headers["Content-Type"] == "text/html"
            assert resp.content == NOT_FOUND_HTML


# --- real skopeo ------------------------------------------------------------------


def test_skopeo_inspect_plain(testbed: Testbed) -> None:
    rc, stderr = run_skopeo_inspect(
        testbed.images.app.ref(testbed.endpoints["plain"].hostport), tls_verify=False
    )
    assert rc == 0, stderr


def test_skopeo_inspect_tls_basic(testbed: Testbed, tmp_path: Path) -> None:
    cert_dir = testbed.make_cert_dir(tmp_path / "certs")
    rc, stderr = run_skopeo_inspect(
        testbed.images.app.ref(testbed.endpoints["tls_basic"].hostport),
        tls_verify=True,
        cert_dir=cert_dir,
        creds=_creds(testbed),
    )
    assert rc == 0, stderr


def test_skopeo_inspect_token(testbed: Testbed, tmp_path: Path) -> None:
    rc, stderr = run_skopeo_inspect(
        testbed.images.app.ref(testbed.endpoints["token"].hostport),
        tls_verify=False,
        creds=_creds(testbed),
    )
    assert rc == 0, stderr


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tls_expired", "x509: certificate has expired or is not yet valid"),
        ("tls_untrusted", "x509: certificate signed by unknown authority"),
        ("tls_wrong_host", "doesn't contain any IP SANs"),
        ("tls_cn_only", "x509: certificate relies on legacy Common Name field"),
        ("tls_mtls", "remote error: tls: bad certificate"),
        ("token_refuse", "unable to retrieve auth token: invalid username/password"),
        ("token_error", "invalid status code from registry 503"),
        ("token_less", "denied: requested access to the resource is denied"),
        ("closed", "connect: connection refused"),
        ("not_registry", "invalid status code from registry 404 (Not Found)"),
    ],
)
def test_skopeo_real_error_texts(
    testbed: Testbed, tmp_path: Path, name: str, expected: str
) -> None:
    ep = testbed.endpoints[name]
    cert_dir = testbed.make_cert_dir(tmp_path / "certs")
    rc, stderr = run_skopeo_inspect(
        testbed.images.app.ref(ep.hostport),
        tls_verify=ep.scheme == "https",
        cert_dir=cert_dir,
        creds=_creds(testbed),
        timeout_s=5,
    )
    print(f"{name}: {stderr.strip()}")
    assert rc != 0
    assert expected in stderr


def test_skopeo_wrong_host_by_name(testbed: Testbed, tmp_path: Path) -> None:
    """Dialled by name (private /etc/hosts), the mismatch reads as the familiar text."""
    port = testbed.endpoints["tls_wrong_host"].port
    rc, stderr = run_skopeo_inspect(
        testbed.images.app.ref(f"registry.test:{port}"),
        tls_verify=True,
        cert_dir=testbed.make_cert_dir(tmp_path / "certs"),
        hosts={"registry.test": "127.0.0.1"},
    )
    assert rc != 0
    assert "x509: certificate is valid for wrong-name.test, not registry.test" in stderr


# --- isolation and lifecycle ---------------------------------------------------------


def test_isolate_env(isolate_env: IsolatedEnv) -> None:
    assert Path(os.environ["HOME"]) == isolate_env.home
    assert Path(os.environ["REGDOCTOR_CONFIG_ROOT"]) == isolate_env.config_root
    for name in (
        "DOCKER_CONFIG",
        "XDG_CONFIG_HOME",
        "XDG_STATE_HOME",
        "XDG_CACHE_HOME",
        "XDG_RUNTIME_DIR",
        "REGISTRY_AUTH_FILE",
    ):
        assert os.environ[name].startswith(str(isolate_env.root)), name
    assert not proxy_variable_names() & set(os.environ)


def test_a_failed_start_leaves_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = procs.live_processes()

    def boom(base_url: str) -> None:
        raise RuntimeError("push failed on purpose")

    monkeypatch.setattr(testbed_module, "push_test_images", boom)
    with pytest.raises(RuntimeError, match="on purpose"), start_testbed(tmp_path):
        pass
    assert procs.live_processes() == before


def test_a_clean_stop_reaps_everything(tmp_path: Path) -> None:
    before = procs.live_processes()
    with start_testbed(tmp_path) as bed:
        started = procs.live_processes() - before
        assert len(started) == 16  # 15 registries + dnsmasq
        ports = [ep.port for ep in bed.endpoints.values() if ep.name != "closed"]
    assert procs.live_processes() == before
    assert all(p.returncode is not None for p in started)
    for port in ports:
        assert not _accepts(port), port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_registry_survives_losing_a_port_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry that finds its port taken is restarted on a fresh one."""
    from tests.harness.registry import Registry, wait_all_ready

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        real = procs.free_tcp_port
        monkeypatch.setattr(procs, "free_tcp_port", lambda: next(ports, None) or real())
        registry = Registry("race", tmp_path / "race", tmp_path / "storage")
        try:
            registry.start()
            assert registry.port == taken
            wait_all_ready([registry], timeout_s=10)
            assert registry.port != taken
        finally:
            registry.stop()
