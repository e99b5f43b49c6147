"""Fix commands take what a file or server says as data, never as code, and write a
file of root's as root: the credential-file fixes (a credHelpers entry or credsStore
removed) run for real (bash, python3) on auth files whose names a shell or Python would
misread, as root and as an unprivileged user (``setpriv``) with a ``sudo`` that records
it was asked. Scenarios fixcmd-helper-failed-quoted-path,
fixcmd-helper-missing-quoted-path and fixcmd-helper-failed-root-auth-json run them
against podman."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.command_template import render_command

RULES = {rule.id: rule for rule in load_catalog().rules}
NOBODY = 65534
ENTRY_REMOVED = {"other.test": "pass"}
#: (rule, step, the template name of the credHelpers entry or None for credsStore)
FIXES = [
    ("config-credential-helper-failed", 1, "server"),
    ("config-credential-helper-missing", 0, "entry"),
    ("auth-credential-helper-missing", 0, "server"),
    ("config-credential-store-missing", 0, None),
    ("auth-credential-store-missing", 0, None),
]
CASES = [
    (rule, step, key, runtime)
    for rule, step, key in FIXES
    for runtime in ("docker", "podman")
    if runtime in RULES[rule].remediation[step].commands
]


def _fix(rule: str, step: int, key: str | None, runtime: str, file: Path, server: str) -> str:
    template = RULES[rule].remediation[step].commands[runtime]
    # the file edit only (a login that follows it is not this test's)
    template = template.split("\n# the pull's user and password")[0]
    context = {"machine_file": str(file), "registry": "secure.test"}
    if key is not None:
        context[key] = server
    return render_command(template, context)


def _auth_file(path: Path) -> None:
    config = {
        "auths": {"other.test": {"auth": "dTpw"}},
        "credsStore": "desktop",
        "credHelpers": {"secure.test": "locked", "other.test": "pass"},
    }
    path.write_text(json.dumps(config))


def _changed(key: str | None, path: Path) -> bool:
    config = json.loads(path.read_text())
    assert config["auths"] == {"other.test": {"auth": "dTpw"}}  # nothing else changes
    if key is None:
        return "credsStore" not in config
    return config["credHelpers"] == ENTRY_REMOVED


def _run(command: str, cwd: Path, *, user: int | None = None, path: str = "") -> None:
    argv = ["bash", "-e", "-c", command]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    env = {**os.environ, "PATH": f"{path}:{os.environ['PATH']}" if path else os.environ["PATH"]}
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("rule", "step", "key", "runtime"), CASES)
@pytest.mark.parametrize(
    "name",
    [
        """ci's "auth".json""",
        "a$(touch pwned)`touch pwned2`.json",
        'x") ; open("pwned3", "w") ; ("',
        "line\\nbreak.json",
    ],
)
def test_the_path_is_data(tmp_path, rule, step, key, runtime, name):
    file = tmp_path / name
    _auth_file(file)
    _run(_fix(rule, step, key, runtime, file, "secure.test"), tmp_path)
    assert _changed(key, file)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing else ran


@pytest.mark.parametrize(("rule", "step", "key", "runtime"), [c for c in CASES if c[2]])
def test_the_entry_is_data_too(tmp_path, rule, step, key, runtime):
    file = tmp_path / "auth.json"
    _auth_file(file)
    _run(_fix(rule, step, key, runtime, file, 'secure.test", "other.test'), tmp_path)
    assert not _changed(key, file)  # no entry of that name: nothing removed


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own a file and drop to nobody")
@pytest.mark.parametrize(("rule", "step", "key", "runtime"), CASES)
def test_root_s_file_is_written_as_root_and_the_user_s_without_sudo(rule, step, key, runtime):
    # pytest's tmp_path is below a 0700 directory nobody cannot enter
    with tempfile.TemporaryDirectory() as directory:
        _as_nobody(
            Path(directory), lambda file: _fix(rule, step, key, runtime, file, "secure.test")
        )


def _as_nobody(tmp_path: Path, fix) -> None:
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
    _run(fix(root_file), tmp_path, user=NOBODY, path=str(bindir))
    assert asked.read_text() == "python3\n"
    # the user's own file: written without sudo
    home = tmp_path / "home"
    home.mkdir()
    user_file = home / "config.json"
    _auth_file(user_file)
    os.chown(home, NOBODY, NOBODY)
    os.chown(user_file, NOBODY, NOBODY)
    asked.write_text("")
    _run(fix(user_file), tmp_path, user=NOBODY, path=str(bindir))
    assert asked.read_text() == ""
    assert json.loads(user_file.read_text())["auths"]  # written in place, as the user


# -- the lint: no value pasted into a script's code ------------------------------------

#: names whose values the reference grammar limits to host[:port] characters (no quote,
#: backslash or newline): pasted into a Python string they stay that string
GRAMMAR_SAFE = frozenset({"registry", "host", "port", "hostport"})
_PROGRAM = re.compile(
    r"python3 (?:-c '(?P<c>[^']*)'|-(?P<args>[^<\n]*)<<'EOF'\n(?P<body>.*?)\n\s*EOF\n)", re.S
)


def pasted_into_code(command: str) -> list[str]:
    """The placeholders inside the program text of a ``python3 -c '...'`` or a
    ``python3 - <<'EOF'`` heredoc (a quoted heredoc and single quotes are read literally:
    the value becomes code)."""
    found = []
    for match in _PROGRAM.finditer(command):
        program = match.group("c") if match.group("c") is not None else match.group("body")
        names = re.findall(r"(?<!\{)\{([a-z_]+)\}(?!\})", program)
        found += [name for name in names if name not in GRAMMAR_SAFE]
    return found


def test_no_fix_pastes_a_value_into_a_script() -> None:
    """A value from a file or a server (a path, a table name, a daemon.json entry) goes
    to the script as an argument (``python3 - "$file" <<'EOF'`` and ``sys.argv``), never
    into its source, where a quote ends the string and the rest runs as code."""
    wrong = {
        f"{rule.id} step {index} [{runtime}]": found
        for rule in RULES.values()
        for index, step in enumerate(rule.remediation)
        for runtime, command in {**step.commands, **step.checks}.items()
        if (found := pasted_into_code(command))
    }
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("command", "found"),
    [
        ("python3 - <<'EOF'\npath = pathlib.Path(\"{file}\")\nEOF\n", ["file"]),
        ("python3 - {file} <<'EOF'\npath = pathlib.Path(sys.argv[1])\nEOF\n", []),
        ("python3 -c 'print(\"{entry}\")' x", ["entry"]),
        ("python3 -c 'import sys; print(sys.argv[1])' {entry}", []),
        ("sudo python3 - <<'EOF'\nd = pathlib.Path(\"/etc/x/{registry}\")\nEOF\n", []),
        ("python3 - <<'EOF'\nconfig = {{}}\nEOF\n", []),
    ],
)
def test_what_pastes_a_value_into_a_script(command: str, found: list[str]) -> None:
    assert pasted_into_code(command) == found
