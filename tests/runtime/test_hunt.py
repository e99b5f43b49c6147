"""Verdicts hunted against the real runtimes (session 10): unit tests of one step each.
The real clients' agreement is tests/scenarios/runtimes/table_hunt.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from regdoctor.check.routes import Routes
from regdoctor.discovery.effective import discover, paths_from
from regdoctor.reference.targets import parse_target
from regdoctor.runtime.certs_dir import unpaired_file

IMAGE = "tls.test:5443/team/app:1.2"
HOST = "tls.test:5443"
RUNTIMES = ("docker", "containerd", "kubernetes", "podman")

# -- a certs.d directory with a client certificate and no key -----------------------------


def test_a_ca_named_cert_is_a_client_certificate_without_key() -> None:
    """certs-d-ca-named-cert: the texts dockerd 20.10.24, podman 4.3.1 and containerd
    1.6.20 print for ``ca.cert`` alone."""
    docker = unpaired_file("docker", ["ca.cert"])
    assert docker is not None
    assert docker.message == (
        "missing key ca.key for client certificate ca.cert. "
        "Note that CA certificates should use the extension .crt"
    )
    assert docker.rename_to == "ca.crt"
    podman = unpaired_file("podman", ["ca.cert"])
    assert podman is not None and podman.message == docker.message
    ctr = unpaired_file("containerd", ["ca.cert"])
    assert ctr is not None and ctr.message.startswith("failed to load X509 key pair: ")


def test_pairs_and_cas_are_fine_and_a_lone_key_stops_docker_and_podman_only() -> None:
    assert unpaired_file("docker", ["ca.crt", "client.cert", "client.key"]) is None
    lone = unpaired_file("docker", ["ca.crt", "client.key"])
    assert lone is not None
    assert lone.message == "Missing client certificate client.cert for key client.key"
    podman = unpaired_file("podman", ["ca.crt", "client.key"])
    assert podman is not None
    assert podman.message == "missing client certificate client.cert for key client.key"
    assert lone.rename_to == "client.key.unused"
    assert unpaired_file("containerd", ["ca.crt", "client.key"]) is None
    # name order decides which file is reported first (Go's ReadDir)
    first = unpaired_file("podman", ["z.cert", "a.key"])
    assert first is not None and first.name == "a.key"


def _routes(root: Path, files: dict[str, str]) -> Routes:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    conf = root / "etc/containerd/config.toml"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        'config_path = "/etc/containerd/certs.d"\n'
    )
    effective = discover(paths_from(root, {}), runtimes=RUNTIMES)
    return Routes(runtimes=RUNTIMES, effective=effective)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_ca_named_cert_stops_every_runtime(tmp_path: Path, runtime: str) -> None:
    """The scenario's node: ca.cert in each runtime's directory, no hosts.toml."""
    base = {"docker": "docker", "podman": "containers"}.get(runtime, "containerd")
    routes = _routes(tmp_path, {f"etc/{base}/certs.d/{HOST}/ca.cert": "PEM"})
    route = routes.route(runtime, parse_target(IMAGE))
    assert route.stopped is not None
    directory = f"/etc/{base}/certs.d/{HOST}"
    assert route.fix == ("certs-unpaired", f"{directory}/ca.cert", f"{directory}/ca.crt")


def test_what_each_runtime_does_not_read_does_not_stop_it(tmp_path: Path) -> None:
    """containerd with a hosts.toml reads no other file of the directory; podman reads
    /etc/containers/certs.d's directory, not docker's, when it has one; dockerd reads
    certs.d only for a secure registry."""
    routes = _routes(
        tmp_path,
        {
            f"etc/containerd/certs.d/{HOST}/ca.cert": "PEM",
            f"etc/containerd/certs.d/{HOST}/hosts.toml": f'server = "https://{HOST}"\n',
            f"etc/containers/certs.d/{HOST}/ca.crt": "PEM",
            f"etc/docker/certs.d/{HOST}/ca.cert": "PEM",
            "etc/docker/daemon.json": f'{{"insecure-registries": ["{HOST}"]}}',
        },
    )
    for runtime in RUNTIMES:
        assert routes.route(runtime, parse_target(IMAGE)).stopped is None, runtime


def test_podman_reads_docker_s_directory_when_its_own_is_absent(
    tmp_path: Path,
) -> None:
    routes = _routes(tmp_path, {f"etc/docker/certs.d/{HOST}/ca.cert": "PEM"})
    for runtime in ("docker", "podman"):
        route = routes.route(runtime, parse_target(IMAGE))
        assert route.fix is not None and route.fix[1] == f"/etc/docker/certs.d/{HOST}/ca.cert"


# -- an auths entry with an identitytoken beside its password ----------------------------


def test_an_identity_token_entry_keeps_its_password_for_basic_auth(tmp_path: Path) -> None:
    """creds-identitytoken-stale-basic-registry: docker 20.10.24 and podman 4.3.1 pull
    from a basic-auth registry with the entry's password; regdoctor had no credentials."""
    import base64
    import json

    from regdoctor.discovery.credentials import resolve
    from regdoctor.model import CredentialRef

    config = tmp_path / "config.json"
    auth = base64.b64encode(b"tester:s3cret-pw").decode()
    entry = {"auth": auth, "identitytoken": "stale-refresh-token"}
    config.write_text(json.dumps({"auths": {"secure.test": entry}}))
    ref = CredentialRef("identitytoken", str(config), 'auths["secure.test"]')
    resolution = resolve(ref)
    assert resolution.outcome == "identity_token"  # the info finding still says so
    assert resolution.credentials is not None
    assert resolution.credentials.username == "tester"
    assert resolution.credentials.password.reveal() == "s3cret-pw"


def test_basic_only_credentials_never_go_to_a_token_realm() -> None:
    """creds-identitytoken-stale-token-registry: for a Bearer challenge the runtimes send
    the refresh token, never the password; regdoctor asks the realm anonymously."""
    from regdoctor.model import Credentials, Secret
    from regdoctor.net import auth_dance

    creds = Credentials("tester", Secret("s3cret-pw"), "config.json")
    bearer = auth_dance.Response(
        401, {"www-authenticate": 'Bearer realm="https://auth.test/token",service="r"'}
    )
    basic = auth_dance.Response(401, {"www-authenticate": 'Basic realm="r"'})
    dance = auth_dance.dance(
        "https://secure.test", credentials=creds, scope=None, challenge=bearer, basic_only=True
    )
    request = next(dance)
    assert request.step == "auth.token" and request.authorization is None
    dance = auth_dance.dance(
        "https://secure.test", credentials=creds, scope=None, challenge=basic, basic_only=True
    )
    request = next(dance)
    assert request.step == "auth.ping" and request.sends_credentials
