"""``regdoctor check``: plan the run, probe, judge, render, and exit with a trustworthy
code."""

from __future__ import annotations

import argparse
import sys

from regdoctor.cli.errors import say_error
from regdoctor.cli.options import add_check_arguments
from regdoctor.model import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_check_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from regdoctor.check.plan import plan
    from regdoctor.check.request import UsageError
    from regdoctor.cli.request import request_from_args
    from regdoctor.reference.targets import InvalidReference

    try:
        run_plan = plan(request_from_args(args))
    except (UsageError, InvalidReference) as exc:
        say_error("check", exc, args=args)
        return int(ExitCode.CANNOT_RUN)
    report = run_plan.run_sync(["regdoctor", *sys.argv[1:]])
    from regdoctor.check.exit import exit_code
    from regdoctor.check.output import output_redactor

    redactor = output_redactor(
        report, run_plan.redactor, redact_hosts=args.redact_hosts, usernames=run_plan.usernames
    )
    if args.format == "json":  # verbatim text: no terminal renderer (Rich) to import
        from regdoctor.render.json_out import render_json

        sys.stdout.write(render_json(report, redactor=redactor) + "\n")
        return exit_code(report, args.fail_on)
    from rich.console import Console

    from regdoctor.render import RENDERERS

    context = run_plan.context() if args.format == "markdown" else None
    console = Console(highlight=False, soft_wrap=args.format != "plain")
    RENDERERS[args.format](
        report, console, verbose=args.verbose, redactor=redactor, context=context
    )
    return exit_code(report, args.fail_on)
