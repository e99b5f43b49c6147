"""Helpers for the report tests: real checks against the testbed, in process and through
the CLI."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from regdoctor.model import Report


def check_parser() -> argparse.ArgumentParser:
    from regdoctor.cli.options import add_check_arguments

    parser = argparse.ArgumentParser()
    add_check_arguments(parser)
    return parser


def check_args_actions() -> list[argparse.Action]:
    return list(check_parser()._actions)


def format_choices() -> tuple[str, ...]:
    """``check --format``'s choices."""
    action = next(a for a in check_args_actions() if a.dest == "format")
    return tuple(action.choices or ())


def run_report(targets: Sequence[str], *, ca_file: Path | None = None, **options: object) -> Report:
    """A real check, in process (the same runner the CLI uses)."""
    from regdoctor.check.pipeline import check
    from regdoctor.options import CheckOptions
    from regdoctor.reference.targets import parse_target

    opts = CheckOptions(
        timeout=float(options.pop("timeout", 3.0)),  # type: ignore[arg-type]
        deadline=float(options.pop("deadline", 15.0)),  # type: ignore[arg-type]
        ca_files=(ca_file,) if ca_file else (),
        **options,  # type: ignore[arg-type]
    )
    return check([parse_target(t) for t in targets], opts, command=["regdoctor", "check", *targets])


def cli(*args: str, stdin: str = "", timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regdoctor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
