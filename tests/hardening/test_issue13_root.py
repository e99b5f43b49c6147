"""Issue #13, files: discovery under ``--root DIR`` (``config``, ``check``) reads only
inside DIR. A symlink in DIR pointing to an absolute path means that path *on the
machine whose files are in DIR* (``DIR/<path>``), as ``bundle`` resolves it; ``..``
never climbs out of DIR. This host's file is never read, whatever the link says.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.hardening.runner import run

HOST = "host-only-canary.test"
IN_ROOT = "in-root-mirror.test"
UNREACHABLE = "127.0.0.1:1"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _daemon_json(mirror: str) -> str:
    return json.dumps({"registry-mirrors": [f"https://{mirror}"]}) + "\n"


def _hosts_toml(server: str) -> str:
    return f'server = "https://{server}"\n[host."https://{server}"]\n  capabilities = ["pull"]\n'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """DIR with links out of it: to this host's files (absolute and with ``..``), and
    the same absolute paths present inside DIR with other content."""
    host = tmp_path / "host"
    host_daemon = _write(host / "daemon.json", _daemon_json(HOST))
    host_certs = host / "certs.d"
    _write(host_certs / "reg.test" / "hosts.toml", _hosts_toml(HOST))
    _write(host / "registries.conf", f'unqualified-search-registries = ["{HOST}"]\n')
    root = tmp_path / "root"
    # absolute link to a file: resolved as DIR/<that path>, which holds the root's own
    daemon = root / "etc/docker/daemon.json"
    daemon.parent.mkdir(parents=True)
    daemon.symlink_to(host_daemon)
    _write(root / str(host_daemon).lstrip("/"), _daemon_json(IN_ROOT))
    # absolute link to a directory that is globbed (containerd's certs.d)
    certs = root / "etc/containerd/certs.d"
    certs.parent.mkdir(parents=True)
    certs.symlink_to(host_certs)
    _write(root / "etc/containerd/config.toml", _containerd_config())
    # an entry of certs.d linked to this host's directory (the in-root one has none)
    (root / str(host_certs).lstrip("/")).mkdir(parents=True)
    (root / str(host_certs).lstrip("/") / "other.test").symlink_to(host_certs / "reg.test")
    # a relative link climbing out with ..
    conf = root / "etc/containers/registries.conf"
    conf.parent.mkdir(parents=True)
    conf.symlink_to(os.path.relpath(host / "registries.conf", conf.parent))
    return root


def _containerd_config() -> str:
    return (
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n'
    )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["HOME"] = "/root"
    for name in ("DOCKER_CONFIG", "XDG_CONFIG_HOME", "REGISTRY_AUTH_FILE", "REGDOCTOR_CONFIG_ROOT"):
        env.pop(name, None)
    return env


def test_config_root_never_follows_a_link_out_of_the_root(tree: Path) -> None:
    result = run(
        ["config", "--root", str(tree), "--sources", "--format", "json"],
        env=_env(),
        hard_limit_s=30,
    )
    everything = result.stdout + result.stderr
    assert result.code in (0, 1, 2), everything[-3000:]
    assert HOST not in everything, everything[-3000:]
    assert IN_ROOT in result.stdout  # the link was followed inside the root
    plain = run(["config", "--root", str(tree), "--sources"], env=_env(), hard_limit_s=30)
    assert HOST not in plain.stdout + plain.stderr
    assert IN_ROOT in plain.stdout


def test_check_root_never_follows_a_link_out_of_the_root(tree: Path) -> None:
    args = ["check", "--root", str(tree), "--format", "json", "--timeout", "1"]
    result = run([*args, "--deadline", "4", "reg.test/team/app:1"], env=_env(), hard_limit_s=30)
    everything = result.stdout + result.stderr
    assert result.code in (1, 2), everything[-3000:]
    assert HOST not in everything, everything[-3000:]
    result = run([*args, "--deadline", "4", UNREACHABLE], env=_env(), hard_limit_s=30)
    assert HOST not in result.stdout + result.stderr


def test_check_root_sends_the_credential_of_the_root_not_of_this_host(
    tmp_path: Path, serve
) -> None:  # type: ignore[no-untyped-def]
    """``DIR/root/.docker/config.json`` links to an absolute path: discovery finds the
    root's entry, and the credential is fetched from that same file inside the root,
    never from this host's file the link names."""
    import base64

    from tests.harness import hostile

    def basic_registry(conn: hostile.Conn, request: hostile.RawRequest) -> None:
        if not (request.authorization or "").startswith("Basic "):
            headers = {**hostile.REGISTRY_HEADERS, "WWW-Authenticate": 'Basic realm="r"'}
            conn.respond(401, headers, b"{}")
            return
        hostile.registry_answer(conn, request)

    registry = serve(basic_registry)

    def config(user: str) -> str:
        pair = base64.b64encode(f"{user}:pw-{user}".encode()).decode()
        return json.dumps({"auths": {registry.hostport: {"auth": pair}}})

    host_config = _write(tmp_path / "host" / "config.json", config("host-user"))
    root = tmp_path / "root"
    link = root / "root/.docker/config.json"
    link.parent.mkdir(parents=True)
    link.symlink_to(host_config)
    _write(root / str(host_config).lstrip("/"), config("root-user"))
    args = ["check", "--root", str(root), "--format", "json", "--timeout", "2"]
    result = run([*args, f"http://{registry.hostport}"], env=_env(), hard_limit_s=30)
    sent = [
        base64.b64decode(r.authorization.split()[1]).decode()
        for r in registry.requests
        if r.authorization
    ]
    assert sent, result.stdout[-2000:] + result.stderr[-2000:]
    assert all(s.startswith("root-user:") for s in sent), sent
    assert "host-user" not in result.stdout + result.stderr
