"""Which credential entry each runtime uses, per file, as the real clients do (the
runtime table's ``creds-*`` scenarios are the live proof; these pin each rule).

podman: containers/image v5.23.1 pkg/docker/config/config.go (getAuthFilePaths,
getPathToAuthWithOS, findCredentialsInFile, normalizeAuthFileKey); ctr: containerd
v1.6.20 cmd/ctr/commands/resolver.go (only ``--user``).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from regdoctor.discovery import registries_conf
from regdoctor.discovery.base import Paths
from regdoctor.discovery.docker_config import normalize_containers_key
from regdoctor.discovery.effective import discover

HOME = "/home/node"


def _auth(password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"tester:{password}".encode()).decode()}


def _write(root: Path, path: str, content: object) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(content))


def _paths(root: Path, **env: str) -> Paths:
    return Paths(root=root, env={"HOME": HOME, **env})


def test_root_login_file_is_read_without_xdg_runtime_dir(tmp_path: Path) -> None:
    files = registries_conf.auth_file_paths(_paths(tmp_path), uid=0)
    assert files == [
        tmp_path / "run/containers/0/auth.json",
        tmp_path / "home/node/.config/containers/auth.json",
    ]


def test_registry_auth_file_replaces_only_the_first(tmp_path: Path) -> None:
    env = {"REGISTRY_AUTH_FILE": "/ci/auth.json", "XDG_RUNTIME_DIR": "/run/user/0"}
    files = registries_conf.auth_file_paths(_paths(tmp_path, **env), uid=0)
    assert files == [tmp_path / "ci/auth.json", tmp_path / "home/node/.config/containers/auth.json"]


def test_docker_config_env_is_podmans_default_authfile(tmp_path: Path) -> None:
    """``creds-podman-docker-config-env``: with DOCKER_CONFIG set, podman 4.3 reads
    $DOCKER_CONFIG/config.json first and never /run/containers/0/auth.json."""
    files = registries_conf.auth_file_paths(_paths(tmp_path, DOCKER_CONFIG="/cfg"), uid=0)
    assert files == [
        tmp_path / "cfg/config.json",
        tmp_path / "home/node/.config/containers/auth.json",
    ]


def test_podman_stops_at_the_first_file_with_an_entry(tmp_path: Path) -> None:
    """``creds-podman-authfile-first-wins``: the old login in /run/containers/0 wins
    over the right password in ~/.docker/config.json; docker reads only the latter."""
    _write(
        tmp_path, f"/run/containers/{os.getuid()}/auth.json", {"auths": {"r.test": _auth("old")}}
    )
    _write(tmp_path, f"{HOME}/.docker/config.json", {"auths": {"r.test": _auth("right")}})
    eff = discover(_paths(tmp_path), runtimes=("docker", "podman"))
    podman = eff.credential_for("podman", "r.test", "team/app")
    docker = eff.credential_for("docker", "r.test", "team/app")
    assert podman is not None and podman.file.endswith(f"/run/containers/{os.getuid()}/auth.json")
    assert docker is not None and docker.file.endswith("/.docker/config.json")


def test_podman_reads_docker_config_by_its_own_rules(tmp_path: Path) -> None:
    """``creds-auths-key-other-namespace`` and ``creds-store-empty-beside-auths``: a key
    with another repository path is docker's (by host) but not podman's; credsStore is
    docker's only, podman takes auths."""
    config = {
        "credsStore": "keychain",
        "auths": {"r.test": _auth("pw"), "o.test/other": _auth("pw")},
    }
    _write(tmp_path, f"{HOME}/.docker/config.json", config)
    eff = discover(_paths(tmp_path), runtimes=("docker", "podman", "containerd"))
    assert eff.credential_for("docker", "o.test", "team/app") is not None
    assert eff.credential_for("podman", "o.test", "team/app") is None
    assert eff.credential_for("podman", "o.test", "other/app") is not None
    docker = eff.credential_for("docker", "r.test", "team/app")
    podman = eff.credential_for("podman", "r.test", "team/app")
    assert docker is not None and docker.origin == "store"
    assert podman is not None and podman.origin == "file" and podman.key == 'auths["r.test"]'
    # ctr reads no credential file at all
    assert eff.credential_for("containerd", "r.test", "team/app") is None


def test_a_url_key_loses_its_path_for_podman() -> None:
    assert normalize_containers_key("https://secure.test/v1/") == "secure.test"
    assert normalize_containers_key("http://secure.test:5000/team") == "secure.test:5000"
    assert normalize_containers_key("secure.test/team") == "secure.test/team"
    assert normalize_containers_key("https://index.docker.io/v1/") == "docker.io"


@pytest.mark.skipif(os.geteuid() != 0, reason="gives $HOME to another uid (chown)")
def test_a_rootless_users_login_file_is_in_the_runtime_dir_podman_sets(tmp_path: Path) -> None:
    """Without ``$XDG_RUNTIME_DIR`` rootless podman sets it itself before any pull
    (podman v4 libpod SetXdgDirs, pkg/util GetRuntimeDir): ``/run/user/<uid>`` when the
    user owns it with mode 0700, else ``$TMPDIR/podman-run-<uid>``; it never reads
    ``/run/containers/<uid>`` (only root's ``/run/containers/0``). The uid is the
    examined user's (the owner of ``$HOME`` below ``--root``), and the reason says that
    this is a guess (podman uses the uid it runs as)."""
    from regdoctor.discovery.files import config_sources

    home = tmp_path / HOME.lstrip("/")
    home.mkdir(parents=True)
    os.chown(home, 1234, 1234)
    _write(tmp_path, "/run/containers/1234/auth.json", {"auths": {"r.test": _auth("pw")}})
    files = registries_conf.auth_file_paths(_paths(tmp_path))
    assert files[0] == tmp_path / "tmp/podman-run-1234/containers/auth.json"
    _, why = registries_conf.login_file_without_runtime_dir(_paths(tmp_path, TMPDIR="/var/tmp"))
    assert "podman-run-1234" in why and "/var/tmp" in why
    assert "uid 1234" in why and "a guess" in why
    run_user = tmp_path / "run/user/1234"
    run_user.mkdir(parents=True, mode=0o700)
    os.chown(run_user, 1234, 1234)
    files = registries_conf.auth_file_paths(_paths(tmp_path))
    assert files[0] == run_user / "containers/auth.json"
    sources = {s.display: s.provenance for s in config_sources(tmp_path, {"HOME": HOME})}
    assert "/run/user/1234/containers/auth.json" in sources
    assert "a guess" in sources["/run/user/1234/containers/auth.json"]
    assert not any(d.startswith("/run/containers/") for d in sources)
    # owned by another user: podman does not take it
    os.chown(run_user, 4321, 4321)
    assert registries_conf.auth_file_paths(_paths(tmp_path))[0] == (
        tmp_path / "tmp/podman-run-1234/containers/auth.json"
    )


def test_root_reads_run_containers_0_and_this_users_uid_is_no_guess(tmp_path: Path) -> None:
    path, why = registries_conf.login_file_without_runtime_dir(_paths(tmp_path), uid=0)
    assert path == tmp_path / "run/containers/0/auth.json" and "root podman" in why
    assert "guess" not in why
    # this machine, this user's own $HOME: the uid is known
    live = Paths(env={"HOME": str(Path.home())})
    assert not live.uid_guessed() or Path.home().stat().st_uid != os.getuid()
    # another tree (--root), or no $HOME there: a guess
    assert _paths(tmp_path).uid_guessed()


def test_legacy_dockercfg_docker_without_config_json_podman_always(tmp_path: Path) -> None:
    """~/.dockercfg (top-level registry keys): the docker CLI 20.10 reads it only when
    config.json does not exist (cli/config Load); podman reads it last, keyed by registry
    (containers/image v5.23.1 legacyFormat). Runtime table: creds-legacy-dockercfg-*."""
    from regdoctor.discovery.credentials import resolve

    _write(tmp_path, f"{HOME}/.dockercfg", {"https://secure.test/v1/": _auth("pw")})
    only = discover(_paths(tmp_path), runtimes=("docker", "podman"))
    for runtime in ("docker", "podman"):
        ref = only.credential_for(runtime, "secure.test", "team/app")
        assert ref is not None and ref.file.endswith("/.dockercfg"), runtime
        found = resolve(ref, root=tmp_path)
        assert found.ok and found.credentials is not None
        assert found.credentials.password.reveal() == "pw"
    _write(tmp_path, f"{HOME}/.docker/config.json", {"auths": {}})
    beside = discover(_paths(tmp_path), runtimes=("docker", "podman"))
    assert beside.credential_for("docker", "secure.test", "team/app") is None
    podman = beside.credential_for("podman", "secure.test", "team/app")
    assert podman is not None and podman.file.endswith("/.dockercfg")


def test_legacy_dockercfg_issues_name_its_own_keys(tmp_path: Path) -> None:
    """~/.dockercfg has no ``auths``: an entry that is wrong is named by its top-level key
    (``["r.test"]``), not as ``auths["r.test"]``, a key that file does not have."""
    from regdoctor.discovery.docker_config import load_legacy

    path = tmp_path / "dockercfg"
    path.write_text(json.dumps({"bad.test": "x", "r.test": {"auth": 5}}))
    config = load_legacy(path)
    keys = sorted(str(issue.key) for issue in config.file.issues)
    assert keys == ['["bad.test"]', '["r.test"].auth'], keys
