"""Several runtimes in scope with different credentials (probes/credential_beside.py),
through ``regdoctor check --root ROOT --runtime all`` against a small fake registry on
127.0.0.1 (plain HTTP; its token realm on the same server): what each runtime is judged
on, what the registry receives, which finding leads. Review of session 14: each case
failed before its fix. The real runtimes' agreement is
tests/scenarios/runtimes/test_verdict4_mixed_scope.py."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import hostile
from tests.harness.testbed import Testbed

USER, PASSWORD = "tester", "s3cret-pw"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class Registry:
    """``/v2/`` answers 401 (Basic, or Bearer with the realm ``/token`` here) unless
    anonymous; ``/token`` gives ``good`` for the login, ``anon`` without one; a manifest
    answers to ``good`` (or to anyone, but in ``bearer``) with a manifest, or with a
    web page (``bad_body``)."""

    def __init__(self, mode: str, tls: Any = None) -> None:
        self.mode = mode
        self.tls = tls  # an ssl.SSLContext: the registry speaks HTTPS
        self.requests: list[hostile.RawRequest] = []
        self.server = hostile.HostileServer(self.accept, raw=True).start()

    def accept(self, conn: hostile.Conn, _unread: hostile.RawRequest) -> None:
        """A ClientHello gets what Go's HTTP server answers bytes that are no request
        (a 400: "server gave HTTP response to HTTPS client"); a request, its answer."""
        import socket

        if self.tls is not None:
            conn = hostile.Conn(self.tls.wrap_socket(conn.sock, server_side=True), conn.stopping)
        first = b"" if self.tls is not None else conn.sock.recv(1, socket.MSG_PEEK)
        if first == b"\x16":
            conn.respond(400, {"Content-Type": "text/plain"}, "Bad Request")
            return
        head = hostile._read_head(conn.sock)
        if head is None:
            return
        request = hostile._parse_head(head, self.hostport)
        self.requests.append(request)
        self.handle(conn, request)

    @property
    def hostport(self) -> str:
        return self.server.hostport

    def handle(self, conn: hostile.Conn, request: hostile.RawRequest) -> None:
        auth = request.authorization
        if self.mode == "anonymous":
            hostile.registry_answer(conn, request)
            return
        if self.mode == "basic":
            if auth != BASIC:
                challenge = 'Basic realm="fake"'
                conn.respond(401, {**hostile.REGISTRY_HEADERS, "WWW-Authenticate": challenge})
            else:
                hostile.registry_answer(conn, request)
            return
        if request.path.startswith("/token"):
            if auth is not None and auth != BASIC:
                conn.respond(401, {"Content-Type": "application/json"}, '{"details":"bad login"}')
                return
            token = "good" if auth == BASIC else "anon"
            conn.respond(200, {"Content-Type": "application/json"}, json.dumps({"token": token}))
            return
        granted = auth == "Bearer good" or (self.mode != "bearer" and auth == "Bearer anon")
        if not granted:
            realm = f'Bearer realm="http://{self.hostport}/token",service="fake"'
            body = '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
            conn.respond(401, {**hostile.REGISTRY_HEADERS, "WWW-Authenticate": realm}, body)
        elif "/manifests/" in request.path and self.mode == "bad_body":
            page = {**hostile.REGISTRY_HEADERS, "Content-Type": "text/html"}
            conn.respond(200, page, b"<html><body>Sign in</body></html>")
        else:
            hostile.registry_answer(conn, request)

    def authorizations(self) -> list[str]:
        return [r.authorization or "" for r in self.requests]


@pytest.fixture
def registry(request: pytest.FixtureRequest) -> Iterator[Registry]:
    fake = Registry(request.param)
    yield fake
    fake.server.stop()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _root(
    tmp_path: Path,
    hostport: str,
    *,
    docker_login: bool,
    podman_login: bool,
    podman_insecure: bool = True,
    docker_insecure: bool = True,
    docker_password: str = PASSWORD,
) -> Path:
    """docker told the registry is insecure, containerd given ``server = "http://..."``
    (both reach its plain HTTP), podman too unless not ``podman_insecure`` (it then stops
    at https://)."""
    root = tmp_path / "root"
    if podman_insecure:
        _write(
            root / "etc/containers/registries.conf",
            f'[[registry]]\nlocation = "{hostport}"\ninsecure = true\n',
        )

    def login(password: str) -> str:
        pair = base64.b64encode(f"{USER}:{password}".encode()).decode()
        return json.dumps({"auths": {hostport: {"auth": pair}}})

    if docker_insecure:
        _write(root / "etc/docker/daemon.json", json.dumps({"insecure-registries": [hostport]}))
    if docker_login:
        _write(root / "root/.docker/config.json", login(docker_password))
    if podman_login:
        _write(root / "run/containers/0/auth.json", login(PASSWORD))
    _write(
        root / "etc/containerd/config.toml",
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n',
    )
    _write(
        root / f"etc/containerd/certs.d/{hostport}/hosts.toml",
        f'server = "http://{hostport}"\n[host."http://{hostport}"]\n'
        '  capabilities = ["pull", "resolve"]\n',
    )
    return root


#: ``regdoctor`` with the dance made beside made to raise (a bug of regdoctor's own)
CRASHING = (
    "import sys, regdoctor.probes.credential_beside as beside\n"
    "async def boom(*args, **kwargs):\n"
    "    raise RuntimeError('boom')\n"
    "beside._dance = boom\n"
    "from regdoctor.cli.main import main\n"
    "sys.argv[0] = 'regdoctor'\n"
    "sys.exit(main())\n"
)


def _check(
    root: Path, image: str, *extra: str, stdin: str | None = None, program: str | None = None
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY") and k != "NO_PROXY"}
    env.update({"HOME": "/root", "REGDOCTOR_NO_CACHE": "1"})
    for name in ("DOCKER_CONFIG", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE"):
        env.pop(name, None)
    start = [sys.executable, "-c", program] if program else [sys.executable, "-m", "regdoctor"]
    argv = [*start, "check", "--root", str(root), "--runtime", "all"]
    argv += ["--format", "json", "--timeout", "3", *extra, image]
    proc = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=60, env=env, check=False
    )
    doc = json.loads(proc.stdout)
    assert isinstance(doc, dict), proc.stderr
    return doc


def _plain(root: Path, image: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY") and k != "NO_PROXY"}
    env.update({"HOME": "/root", "REGDOCTOR_NO_CACHE": "1", "NO_COLOR": "1", "COLUMNS": "200"})
    for name in ("DOCKER_CONFIG", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE"):
        env.pop(name, None)
    argv = [sys.executable, "-m", "regdoctor", "check", "--root", str(root), "--runtime", "all"]
    argv += ["--timeout", "3", image]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    return proc.stdout


def _statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {r: v["status"] for r, v in doc["targets"][0]["runtimes"].items()}


def _beside(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in doc["targets"][0]["observations"] if o["facts"].get("credential_beside")]


@pytest.mark.parametrize("registry", ["basic"], indirect=True)
def test_a_credential_never_goes_over_plain_http_for_a_runtime_that_stops_at_https(
    registry: Registry, tmp_path: Path
) -> None:
    """Only podman has a login, and podman stops at https:// (nothing told it the
    registry is insecure): its password must not go to the plain-HTTP registry docker
    and containerd reach (it went there in clear, in a Basic header)."""
    root = _root(
        tmp_path, registry.hostport, docker_login=False, podman_login=True, podman_insecure=False
    )
    doc = _check(root, f"{registry.hostport}/team/app:1.2")
    assert any("/v2/" in r.path for r in registry.requests), "the registry was reached"
    assert BASIC not in registry.authorizations()
    assert _beside(doc) == []
    assert _statuses(doc)["podman"] == "error"


@pytest.mark.parametrize("registry", ["anonymous"], indirect=True)
def test_a_registry_that_asks_for_no_credential_gets_one_dance(
    registry: Registry, tmp_path: Path
) -> None:
    """``/v2/`` answers 200: no runtime sends its credential, so docker's login and ctr's
    none are the same dance (there was one more manifest request per credential)."""
    root = _root(tmp_path, registry.hostport, docker_login=True, podman_login=False)
    doc = _check(root, f"{registry.hostport}/team/app:1.2")
    assert _beside(doc) == []
    manifests = [r for r in registry.requests if "/manifests/" in r.path]
    assert len(manifests) == 1, [(r.method, r.path) for r in registry.requests]
    assert _statuses(doc) == dict.fromkeys(("docker", "containerd", "podman", "kubernetes"), "ok")


@pytest.mark.parametrize("registry", ["bad_body"], indirect=True)
def test_a_manifest_that_is_no_manifest_fails_every_credential(
    registry: Registry, tmp_path: Path
) -> None:
    """Anonymous tokens pull here, and the manifest is a web page: docker (with its
    login) and ctr (without) both fail on it; ctr's dance, made beside, got a 200 and was
    judged ok although the body is every runtime's."""
    root = _root(tmp_path, registry.hostport, docker_login=True, podman_login=False)
    doc = _check(root, f"{registry.hostport}/team/app:1.2")
    assert _beside(doc), "the anonymous dance was made beside"
    assert _statuses(doc) == dict.fromkeys(
        ("docker", "containerd", "podman", "kubernetes"), "error"
    )


@pytest.mark.parametrize("registry", ["bearer"], indirect=True)
def test_the_failing_credential_leads_and_its_fix_is_for_its_runtimes(
    registry: Registry, tmp_path: Path
) -> None:
    """docker's login pulls, ctr's anonymous token is refused: the error for containerd
    and kubernetes is the target's leading finding (no finding led), and its commands
    are theirs, not docker's."""
    root = _root(tmp_path, registry.hostport, docker_login=True, podman_login=False)
    doc = _check(root, f"{registry.hostport}/team/app:1.2")
    statuses = _statuses(doc)
    assert statuses["docker"] != "error" and statuses["containerd"] == "error", statuses
    findings = doc["targets"][0]["findings"]
    leading = [f for f in findings if f.get("leading")]
    assert len(leading) == 1 and leading[0]["severity"] == "error", findings
    assert set(leading[0]["runtimes"]) == {"containerd", "kubernetes"}, leading[0]
    assert statuses["podman"] != "error", statuses  # docker's login, read by podman too
    commands = {
        r for step in leading[0].get("remediation") or [] for r in step.get("commands") or {}
    }
    assert "docker" not in commands, leading[0].get("remediation")


@pytest.mark.parametrize("registry", ["bearer"], indirect=True)
def test_username_judges_every_runtime_with_the_credential_given(
    registry: Registry, tmp_path: Path
) -> None:
    """``-u`` with a wrong password: one dance, every runtime's (containerd and
    kubernetes were ok: the failure was narrowed to docker's group)."""
    root = _root(tmp_path, registry.hostport, docker_login=True, podman_login=False)
    doc = _check(
        root, f"{registry.hostport}/team/app:1.2", "-u", USER, "--password-stdin", stdin="wrong\n"
    )
    assert _beside(doc) == []
    assert _statuses(doc) == dict.fromkeys(
        ("docker", "containerd", "podman", "kubernetes"), "error"
    )


def test_no_credential_goes_to_a_certificate_its_runtime_refuses(
    testbed: Testbed, tmp_path: Path
) -> None:
    """An https registry whose CA nobody trusts; docker skips verification (insecure),
    podman, with the only login, verifies and stops: its password must not be sent
    over that TLS session (it was, by its dance made beside)."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf = testbed.pki.leaves["untrusted"]
    context.load_cert_chain(leaf.cert, leaf.key)
    fake = Registry("basic", tls=context)
    try:
        root = _root(
            tmp_path, fake.hostport, docker_login=False, podman_login=True, podman_insecure=False
        )
        doc = _check(root, f"{fake.hostport}/team/app:1.2")
    finally:
        fake.server.stop()
    assert any("/v2/" in r.path for r in fake.requests), "the registry was reached"
    assert BASIC not in fake.authorizations()
    assert _statuses(doc)["podman"] == "error"


@pytest.mark.parametrize("registry", ["basic"], indirect=True)
def test_the_targets_own_dance_sends_no_credential_its_runtimes_would_not(
    registry: Registry, tmp_path: Path
) -> None:
    """Nothing tells docker or podman the registry is plain HTTP; containerd's hosts.toml
    does. The target takes podman's login (the first runtime with settings for it), but
    podman stops at https://: the check's own dance over http:// must go without it."""
    root = _root(
        tmp_path,
        registry.hostport,
        docker_login=False,
        podman_login=True,
        podman_insecure=False,
        docker_insecure=False,
    )
    doc = _check(root, f"{registry.hostport}/team/app:1.2")
    assert any("/v2/" in r.path for r in registry.requests), "the registry was reached"
    assert BASIC not in registry.authorizations()
    statuses = _statuses(doc)
    assert statuses["containerd"] == "error" and statuses["podman"] == "error", statuses


@pytest.mark.parametrize("registry", ["open"], indirect=True)
def test_a_finding_on_the_targets_own_dance_gives_commands_to_its_runtimes(
    registry: Registry, tmp_path: Path
) -> None:
    """docker's saved password is wrong (the realm refuses it), anonymous tokens pull:
    docker and podman (which reads docker's file) fail, ctr and the CRI pull. The
    rejected-login finding names docker and podman, and the report shows their
    commands, the others' folded (it showed the kubelet a pull secret to fix)."""
    root = _root(
        tmp_path, registry.hostport, docker_login=True, podman_login=False, docker_password="old"
    )
    doc = _check(root, f"{registry.hostport}/team/app:1.2")
    statuses = _statuses(doc)
    assert statuses["docker"] == "error" and statuses["containerd"] != "error", statuses
    errors = [f for f in doc["targets"][0]["findings"] if f["severity"] == "error"]
    assert errors, doc["targets"][0]["findings"]
    for finding in errors:
        assert set(finding["runtimes"]) <= {"docker", "podman"}, finding["runtimes"]
    # the plain report shows docker's and podman's commands, the others' folded away
    plain = _plain(root, f"{registry.hostport}/team/app:1.2")
    fix = plain[plain.index("auth-rejected-credentials") :]
    assert "docker login" in fix and "podman login" in fix, fix
    assert "ctr images pull" not in fix and "kubectl" not in fix, fix
    assert "other runtimes: containerd, kubernetes (see -v)" in fix, fix


@pytest.mark.parametrize("registry", ["bearer"], indirect=True)
def test_a_dance_beside_that_crashes_is_regdoctors_failure_not_the_registrys(
    registry: Registry, tmp_path: Path
) -> None:
    """ctr's anonymous dance raises inside regdoctor: containerd and kubernetes are not
    said to meet a server error; the probe-crashed finding names them, and their
    verdict says regdoctor did not observe their requests."""
    root = _root(tmp_path, registry.hostport, docker_login=True, podman_login=False)
    doc = _check(root, f"{registry.hostport}/team/app:1.2", program=CRASHING)
    runtimes = doc["targets"][0]["runtimes"]
    assert runtimes["docker"]["status"] != "error", runtimes
    for name in ("containerd", "kubernetes"):
        assert "did not observe" in runtimes[name]["reason"], runtimes[name]
        assert runtimes[name]["category"] != "server.error", runtimes[name]
    crashed = [f for f in doc["targets"][0]["findings"] if f["rule"] == "probe-crashed"]
    assert crashed and set(crashed[0]["runtimes"]) == {"containerd", "kubernetes"}, crashed
