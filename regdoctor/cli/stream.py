"""A streamed ``regdoctor check``: what a reader sees while the run goes on.

- plain on a terminal: a live status line naming what is awaited ("tcp 127.0.0.1:5000,
  3 s of 5"), and each target's verdict block as soon as that target (and the mirrors
  its verdict depends on) is done; the configuration files and the summary at the end.
- plain piped: one verdict line per target as it completes, then the whole report.
- ``--summary``: only the verdict lines, as they complete.
- json, markdown, prometheus, junit: whole documents at the end; the live status line
  goes to stderr when that is a terminal, and vanishes when the run is done.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from regdoctor.check.plan import RunPlan
    from regdoctor.model import Report, TargetReport
    from regdoctor.probes.base import TargetState
    from regdoctor.redact.secrets import Redactor
    from regdoctor.render.plain_console import TextConsole

__all__ = ["interactive", "run_streamed", "status_text"]

#: How often the live status line is redrawn (seconds).
_REFRESH_S = 0.25
#: Waits named on the status line; the others are counted.
_SHOWN_WAITS = 2


def interactive(console: Console | TextConsole) -> bool:
    """A terminal a person watches: Rich's own test, and a real tty behind it, so that
    ``FORCE_COLOR`` in a CI log gets colour but no live status line (no ``\\r``, no
    cursor movement). A PlainConsole is never one."""
    try:
        return bool(console.is_terminal and console.file.isatty())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return False


def status_text(
    states: dict[str, TargetState], done: int, total: int, now: float, clean: Callable[[str], str]
) -> Text:
    """The live status line: targets done, and what the others wait on now."""
    from rich.text import Text

    waits = [s.wait for s in states.values() if s.wait is not None]
    line = Text(f"{done} of {total} done", style="bold")
    if waits:
        line.append(" · waiting for ")
        shown = []
        for wait in sorted(waits, key=lambda w: w.since)[:_SHOWN_WAITS]:
            waited = max(0.0, now - wait.since)
            shown.append(f"{clean(wait.what)}, {waited:.0f} s of {wait.budget:g}")
        line.append("; ".join(shown))
        if len(waits) > _SHOWN_WAITS:
            line.append(f" (+{len(waits) - _SHOWN_WAITS} more)")
    return line


def run_streamed(
    run_plan: RunPlan, args: argparse.Namespace, command: Sequence[str]
) -> tuple[Report, Redactor]:
    """Run ``run_plan``, showing progress and verdicts as they come; return the report
    and the redactor its remaining output must go through (it knows every host)."""
    import os

    redactor = _redactor(run_plan, args)
    streamed = args.format == "plain" or args.summary
    status_console: Console | None = None
    on_target = None
    if streamed:  # --summary goes with --format plain only
        from regdoctor.render.plain_console import stdout_console

        console = stdout_console()  # piped: a PlainConsole, no rich.console
        status_console = cast("Console", console) if interactive(console) else None
        runtimes = run_plan.routes.runtimes if run_plan.routes is not None else ()
        on_target = _printer(console, args, redactor, runtimes, tty=interactive(console))
    elif os.isatty(2):  # a machine format: the status line goes to a terminal's stderr
        from rich.console import Console

        err = Console(stderr=True, highlight=False)
        status_console = err if interactive(err) else None
    import regdoctor.check.pipeline  # noqa: F401  # the run's modules, imported still paused
    from regdoctor.cli import startup
    from regdoctor.engine.cache import catalog_cache_present

    # The rule catalog is read by the idle worker once the first request is on the link
    # (check/pipeline.py): a few ms from its cache. Without a cache file (a first run, a
    # read-only home, REGDOCTOR_NO_CACHE) the rules are parsed (~90 ms of CPU): that is
    # done now, still paused, not beside the first phases, whose timings it would stretch.
    if not catalog_cache_present(run_plan.options.rule_dirs):
        from regdoctor.check.catalog import catalog

        catalog(run_plan.options.rule_dirs)
    startup.resume()  # the run's own garbage is collected as usual
    report = asyncio.run(_drive(run_plan, command, on_target, status_console, redactor))
    return report, redactor


def _redactor(run_plan: RunPlan, args: argparse.Namespace) -> Redactor:
    base = run_plan.redactor
    if not args.redact_hosts:
        return base
    from regdoctor.model import Report
    from regdoctor.redact.hosts import report_redactor

    hosts = [h for t in run_plan.targets for h in (t.host, t.registry.rsplit(":", 1)[0])]
    empty = Report(targets=(), started_at="", duration_ms=0.0, version="")
    return report_redactor(empty, base, usernames=run_plan.usernames, hosts=hosts)


def _printer(
    console: Console | TextConsole,
    args: argparse.Namespace,
    redactor: Redactor,
    runtimes: Sequence[str],
    *,
    tty: bool,
) -> Callable[[TargetReport], None]:
    """What is printed when a target is done."""
    from regdoctor.render.plain import PlainStream

    # a PlainConsole offers what the plain renderer calls of a Console (plain_console)
    stream = PlainStream(
        cast("Console", console), verbose=args.verbose, redactor=redactor, runtimes=runtimes
    )
    lines_only = args.summary or not tty

    def print_done(report: TargetReport) -> None:
        if report.target.kind == "config":
            # not a target: its section comes at the end; --summary names a bad one
            if args.summary and report.status != "ok":
                stream.verdict(report, wrap=False)
        elif lines_only:
            stream.verdict(report, wrap=not args.summary)
        else:
            stream.target(report)

    return print_done


async def _drive(
    run_plan: RunPlan,
    command: Sequence[str],
    on_target: Callable[[TargetReport], None] | None,
    status_console: Console | None,
    redactor: Redactor,
) -> Report:
    from regdoctor.redact.hosts import HostRedactor, learn_hosts

    states: dict[str, TargetState] = {}
    done = 0

    def on_done(report: TargetReport) -> None:
        nonlocal done
        done += 1
        if isinstance(redactor, HostRedactor):
            learn_hosts(redactor, [report])
        if on_target is not None:
            on_target(report)

    task = asyncio.ensure_future(run_plan.run(command, on_done=on_done, states=states))
    if status_console is None:
        return await task
    from rich.live import Live

    from regdoctor.escape import safe_text

    total = len(run_plan.targets)

    def clean(text: str) -> str:
        return safe_text(redactor.redact(text), keep_newlines=False)

    def line() -> Text:
        return status_text(states, done, total, time.monotonic(), clean)

    with Live(line(), console=status_console, transient=True, auto_refresh=False) as live:
        while not task.done():
            await asyncio.wait({task}, timeout=_REFRESH_S)
            live.update(line(), refresh=True)
    return task.result()
