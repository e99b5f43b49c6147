"""Fix commands take what a file or server says as data, never as code, and write a
file of root's as root: config-credential-helper-failed's podman command run for real
(bash, python3) on auth files whose names a shell or Python would misread, as root and
as an unprivileged user (``setpriv``) with a ``sudo`` that records it was asked."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.command_template import render_command

RULES = {rule.id: rule for rule in load_catalog().rules}
NOBODY = 65534


def _podman_fix(machine_file: Path, server: str = "secure.test") -> str:
    template = RULES["config-credential-helper-failed"].remediation[1].commands["podman"]
    return render_command(template, {"machine_file": str(machine_file), "server": server})


def _auth_file(path: Path) -> None:
    config = {
        "auths": {"other.test": {"auth": "dTpw"}},
        "credHelpers": {"secure.test": "locked", "other.test": "pass"},
    }
    path.write_text(json.dumps(config))


def _run(command: str, cwd: Path, *, user: int | None = None, path: str = "") -> None:
    argv = ["bash", "-e", "-c", command]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    env = {**os.environ, "PATH": f"{path}:{os.environ['PATH']}" if path else os.environ["PATH"]}
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "name",
    [
        """ci's "auth".json""",
        "a$(touch pwned)`touch pwned2`.json",
        'x") ; open("pwned3", "w") ; ("',
        "line\\nbreak.json",
    ],
)
def test_the_podman_helper_fix_takes_the_path_as_data(tmp_path, name):
    file = tmp_path / name
    _auth_file(file)
    _run(_podman_fix(file), tmp_path)
    config = json.loads(file.read_text())
    assert config["credHelpers"] == {"other.test": "pass"}  # exactly that entry removed
    assert config["auths"] == {"other.test": {"auth": "dTpw"}}
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing else ran


def test_a_registry_name_is_data_too(tmp_path):
    file = tmp_path / "auth.json"
    _auth_file(file)
    _run(_podman_fix(file, server='secure.test", "x'), tmp_path)
    assert json.loads(file.read_text())["credHelpers"] == {
        "secure.test": "locked",
        "other.test": "pass",
    }


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own a file and drop to nobody")
def test_root_s_auth_file_is_written_as_root_and_the_user_s_without_sudo():
    # pytest's tmp_path is below a 0700 directory nobody cannot enter
    with tempfile.TemporaryDirectory() as directory:
        _as_nobody(Path(directory))


def _as_nobody(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    asked = tmp_path / "sudo-asked"
    asked.touch()
    os.chown(asked, NOBODY, NOBODY)
    # a sudo that records it was asked (the user cannot become root here)
    (bindir / "sudo").write_text(f'#!/bin/sh\necho "$1" >> {asked}\n')
    (bindir / "sudo").chmod(0o755)
    tmp_path.chmod(0o755)
    # root's file, as /run/containers/0/auth.json: a 0700 directory, a 0600 file
    root_dir = tmp_path / "run-containers-0"
    root_dir.mkdir(mode=0o700)
    root_file = root_dir / "auth.json"
    _auth_file(root_file)
    root_file.chmod(0o600)
    _run(_podman_fix(root_file), tmp_path, user=NOBODY, path=str(bindir))
    assert asked.read_text() == "python3\n"
    # the user's own file: written without sudo
    home = tmp_path / "home"
    home.mkdir()
    user_file = home / "config.json"
    _auth_file(user_file)
    os.chown(home, NOBODY, NOBODY)
    os.chown(user_file, NOBODY, NOBODY)
    asked.write_text("")
    _run(_podman_fix(user_file), tmp_path, user=NOBODY, path=str(bindir))
    assert asked.read_text() == ""
    assert json.loads(user_file.read_text())["credHelpers"] == {"other.test": "pass"}
