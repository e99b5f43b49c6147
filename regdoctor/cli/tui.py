"""``regdoctor tui``: interactive triage in the terminal (see docs/tui.md).

Targets and options are read exactly as ``check`` reads them; then the Textual App
(imported here, never by the headless core) takes over the terminal. Commands copied in
the TUI are printed when it ends, in case the terminal did not pass the clipboard on.
"""

from __future__ import annotations

import argparse
import os
import sys

from regdoctor.cli.errors import say_error
from regdoctor.cli.options import add_check_arguments
from regdoctor.model import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_check_arguments(parser, report_format=False, verbose=False)
    ui = parser.add_argument_group("terminal")
    ui.add_argument(
        "--theme",
        choices=("dark", "light"),
        default="dark",
        help="colour theme (t switches while running; NO_COLOR is respected)",
    )


def _reattach_terminal() -> bool:
    """After ``--password-stdin`` read a pipe, give the App the terminal as stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        return True
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return False
    os.dup2(fd, 0)
    os.close(fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - fd 0 lives as long as the process
    return True


def run(args: argparse.Namespace) -> int:
    from regdoctor.check.plan import plan
    from regdoctor.check.request import UsageError
    from regdoctor.cli.request import request_from_args
    from regdoctor.reference.targets import InvalidReference

    try:
        # the same targets as `check`: the TARGETs, or the registries and mirrors of the
        # effective configuration, with the observations the configuration gives them
        run_plan = plan(request_from_args(args))
    except (UsageError, InvalidReference) as exc:
        say_error("tui", exc, args=args)
        return int(ExitCode.CANNOT_RUN)
    if not sys.stdout.isatty() or not _reattach_terminal():
        print(
            "regdoctor tui: error: needs a terminal (use `regdoctor check` in scripts)",
            file=sys.stderr,
        )
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.tui.app import RegdoctorApp

    app = RegdoctorApp(
        run_plan.targets,
        run_plan.options,
        preset=run_plan.preset,
        routes=run_plan.routes,
        command=["regdoctor", *sys.argv[1:]],
        theme=args.theme,
    )
    code = app.run()
    if app.copied:
        # Flush left, one blank line between them, line breaks kept: safe to paste.
        print("Commands copied during this session:")
        for command in app.copied:
            print()
            print(command)
    return int(code) if code is not None else int(ExitCode.HEALTHY)
