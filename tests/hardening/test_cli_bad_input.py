"""Every command with invalid arguments, missing files, unreadable files and a
directory where a file is expected: a one-line error, exit 3, no traceback.

The commands and their file options are read from the real parser (``regdoctor
--help``'s table), so a command added later is covered without editing this file.
Unreadable files are ones even root cannot read (tests run as root): a FIFO with no
writer (opening it would block forever) and ``/proc/self/mem`` (reading offset 0 fails
with EIO); ``chmod 000`` is also tried when not running as root.
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from regdoctor.cli.main import build_parser
from tests.hardening.runner import Run, run

FILE_METAVARS = {"PEM", "PATH", "FILE", "FILE.tar.gz", "LOG"}
#: Commands that would start something long-lived if their arguments were valid.
LONG_LIVED = {"serve", "tui"}
#: A hang guard, not a speed target: a command that blocks (on a FIFO, a prompt) is
#: killed and fails. Generous, because four start at once on a loaded CI machine.
HARD_LIMIT_S = 10
#: The options of ``check`` that ``cli/check.py`` itself validates (issue 2/5 scope);
#: the configuration-file flags belong to the effective-configuration work (issue 4).
CHECK_OWN = {"--ca-file", "--cert", "--key"}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


COMMANDS = _subparsers()


def _file_options(sub: argparse.ArgumentParser) -> list[str]:
    found = []
    for action in sub._actions:
        if action.option_strings and str(action.metavar) in FILE_METAVARS:
            found.append(max(action.option_strings, key=len))
    return found


def _positional(command: str) -> list[str]:
    """A target on loopback for every command that takes one (never the default
    docker.io: tests must not use the system resolver)."""
    sub = COMMANDS[command]
    takes = [a for a in sub._actions if not a.option_strings and a.dest != "help"]
    return ["127.0.0.1:1/team/app:1"] if takes else []


@pytest.fixture(scope="module")
def bad_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("bad-paths")
    fifo = directory / "fifo"
    os.mkfifo(fifo)
    paths = {
        "missing": str(directory / "no" / "such-file"),
        "directory": str(directory),
        "fifo": str(fifo),
        "proc-mem": "/proc/self/mem",
    }
    if os.geteuid() != 0:  # pragma: no cover - CI runs as root
        locked = directory / "locked"
        locked.write_text("x")
        locked.chmod(0)
        paths["chmod-000"] = str(locked)
    return paths


def assert_one_line_error(result: Run) -> None:
    where = (
        f"{result.argv[3:]}\n--- stdout\n{result.stdout[-1500:]}"
        f"\n--- stderr\n{result.stderr[-1500:]}"
    )
    assert result.code != -9, ("did not end", where)
    assert result.code == 3, where
    assert "Traceback" not in result.stderr + result.stdout, where
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, where


def _matrix(bad_paths: dict[str, str], *, own: bool) -> list[list[str]]:
    """``own``: check's own file options, every kind of bad path; otherwise every other
    file option of every command, one kind each (rotating)."""
    cases = []
    kinds = list(bad_paths)
    for command in sorted(COMMANDS):
        target = _positional(command)
        options = [
            o
            for o in _file_options(COMMANDS[command])
            if (command == "check" and o in CHECK_OWN) == own
        ]
        if not own:
            options = options[:3]  # keep the suite fast: the first few of each command
        for i, option in enumerate(options):
            chosen = kinds if own else [kinds[i % len(kinds)]]
            for kind in chosen:
                if option.endswith(("dir", "root", "manifests")) and kind == "directory":
                    continue
                argv = [command, option, bad_paths[kind]]
                if option == "--cert":
                    argv += ["--key", bad_paths[kind]]
                elif option == "--key":
                    argv += ["--cert", bad_paths[kind]]
                cases.append([*argv, *target])
    return cases


def _run_all(cases: list[list[str]], limit_s: float = HARD_LIMIT_S) -> list[str]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda argv: run(argv, hard_limit_s=limit_s), cases))
    failures = []
    for result in results:
        try:
            assert_one_line_error(result)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0][:300])
    return failures


def test_check_with_unusable_files(bad_paths: dict[str, str]) -> None:
    cases = [c for c in _matrix(bad_paths, own=True) if bad_paths["fifo"] not in c]
    assert len(cases) >= 6
    failures = _run_all(cases)
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)


def test_check_with_a_fifo_as_a_file(bad_paths: dict[str, str]) -> None:
    cases = [c for c in _matrix(bad_paths, own=True) if bad_paths["fifo"] in c]
    failures = _run_all(cases)
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)


def test_every_other_file_option_of_every_command(bad_paths: dict[str, str]) -> None:
    cases = _matrix(bad_paths, own=False)
    assert cases, "no command with a file option found"
    failures = _run_all(cases)
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)


INVALID_ARGUMENTS = [
    ["--no-such-option"],
    ["--timeout", "abc"],
    ["--timeout", "-1"],
    ["--deadline", "nan"],
    ["--platform", "linux"],
    ["--format", "xml"],
    ["--dns-server", "not-an-ip"],
    ["--username", "u"],  # a user name without --password-stdin
]


def _accepts(command: str, option: str) -> bool:
    return option == "--no-such-option" or any(
        option in a.option_strings for a in COMMANDS[command]._actions
    )


def _invalid(commands: list[str]) -> list[list[str]]:
    return [
        [command, *args, *_positional(command)]
        for command in commands
        for args in INVALID_ARGUMENTS
        if _accepts(command, args[0])
    ]


def test_check_with_invalid_arguments() -> None:
    cases = _invalid(["check"])
    cases += [["no-such-command"], ["check", "Not A Target"], ["check", "x" * 5000]]
    failures = _run_all(cases)
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)


def test_every_other_command_with_invalid_arguments() -> None:
    cases = _invalid(sorted(c for c in COMMANDS if c != "check"))
    failures = _run_all(cases)
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)


def test_debug_shows_the_traceback_only_then(tmp_path: Path) -> None:
    """An unexpected exception: one line without --debug, a traceback with it."""
    # A config root that is a file makes every reader fail in the same unexpected way.
    root = tmp_path / "root-is-a-file"
    root.write_text("x")
    env = {**os.environ, "REGDOCTOR_CONFIG_ROOT": str(root)}
    plain = run(["check", "--timeout", "1", "127.0.0.1:1"], env=env, hard_limit_s=HARD_LIMIT_S)
    assert "Traceback" not in plain.stderr
