"""``regdoctor check``: plan the run, probe, judge, render, and exit with a trustworthy
code."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, cast

from regdoctor.cli.errors import say_error
from regdoctor.cli.options import add_check_arguments
from regdoctor.model import ExitCode

#: As its own process, end without the interpreter's teardown once the report is written
#: (cli/main.py): the report is all a check leaves; freeing the ~400 modules and the
#: run's objects one by one cost 20-35 ms of CPU and wall time after the last line.
EXIT_AT_ONCE = True

if TYPE_CHECKING:
    from rich.console import Console

    from regdoctor.model import Report
    from regdoctor.redact.secrets import Redactor
    from regdoctor.render.plain_console import TextConsole


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_check_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from regdoctor.cli import startup

    startup.pause()  # resumed when the run starts (cli/stream.py), or below
    try:
        return _run(args)
    finally:
        startup.resume()


def _run(args: argparse.Namespace) -> int:
    from regdoctor.check.plan import plan
    from regdoctor.check.request import UsageError
    from regdoctor.cli.request import request_from_args
    from regdoctor.reference.targets import InvalidReference

    try:
        if args.summary and args.format != "plain":
            raise UsageError("--summary prints verdict lines: it goes with --format plain")
        run_plan = plan(request_from_args(args))
    except (UsageError, InvalidReference) as exc:
        say_error("check", exc, args=args)
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.cli.stream import run_streamed

    # Verdicts are printed as targets finish (plain, --summary); the rest comes now.
    report, redactor = run_streamed(run_plan, args, ["regdoctor", *sys.argv[1:]])
    from regdoctor.check.exit import exit_code

    if args.format == "json" and not args.summary:  # verbatim text: no Rich to import
        from regdoctor.render.json_out import render_json

        sys.stdout.write(render_json(report, redactor=redactor) + "\n")
        return exit_code(report, args.fail_on)
    if args.summary:
        pass  # the verdict lines are all there is
    elif args.format == "plain":
        from regdoctor.render.plain_console import stdout_console

        write_plain(report, stdout_console(), args, redactor)
    else:
        from rich.console import Console

        from regdoctor.render import RENDERERS

        context = run_plan.context() if args.format == "markdown" else None
        RENDERERS[args.format](
            report,
            Console(highlight=False, soft_wrap=True),
            verbose=args.verbose,
            redactor=redactor,
            context=context,
        )
    return exit_code(report, args.fail_on)


def write_plain(
    report: Report, console: TextConsole, args: argparse.Namespace, redactor: Redactor
) -> None:
    """The plain report after the streamed part: on a terminal the configuration files
    and the summary below the targets' blocks; piped, the details below the verdict
    lines. ``console``: Rich's, or a PlainConsole where Rich would write no style
    (``stdout_console``): the same bytes."""
    from regdoctor.cli.stream import interactive
    from regdoctor.render.plain import PlainStream, render_plain

    # a PlainConsole offers what the plain renderer calls of a Console (plain_console)
    as_rich = cast("Console", console)
    if interactive(console):
        if report.probed:
            console.print()  # below the last target's block
        PlainStream(
            as_rich, verbose=args.verbose, redactor=redactor, runtimes=report.runtimes
        ).tail(report)
    else:  # piped: the details, below the verdict lines
        console.print()
        render_plain(report, as_rich, verbose=args.verbose, redactor=redactor, verdicts_shown=True)
