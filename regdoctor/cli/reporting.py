"""What every reporting command shares: the exit threshold (``--fail-on``), the output
redactor (``--redact-hosts``), and copying ``check``'s options into other commands.

Kept import-light: argparse and the model only.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from regdoctor.model import ExitCode, Report

if TYPE_CHECKING:
    from regdoctor.redact import Redactor

__all__ = ["FAIL_ON", "add_check_options", "exit_code", "output_redactor"]

FAIL_ON: tuple[str, ...] = ("error", "warning")


def exit_code(report: Report, fail_on: str | None = "warning") -> int:
    """The exit code for ``report``: with ``--fail-on error`` warnings exit 0."""
    code = report.exit_code
    if fail_on == "error" and code is ExitCode.WARNINGS:
        return int(ExitCode.HEALTHY)
    return int(code)


def output_redactor(
    report: Report,
    base: Redactor | None,
    *,
    redact_hosts: bool,
    usernames: Iterable[str] = (),
) -> Redactor:
    """``base`` (the run's secrets), plus host and user names with ``--redact-hosts``."""
    from regdoctor.redact import Redactor

    if not redact_hosts:
        return base if base is not None else Redactor()
    from regdoctor.redact_hosts import report_redactor

    return report_redactor(report, base, usernames=usernames)


def add_redact_hosts(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redact-hosts",
        action="store_true",
        help="also mask internal host names, addresses and user names (public "
        "registries such as docker.io stay readable)",
    )


def add_check_options(
    parser: argparse.ArgumentParser, *, exclude: Iterable[str] = ()
) -> argparse.ArgumentParser:
    """Add ``check``'s arguments to ``parser``, except the destinations in ``exclude``.

    The options are copied from ``regdoctor.cli.check_args`` so that ``serve`` and
    ``bundle`` accept exactly what ``check`` accepts (and keep doing so when ``check``
    gains an option). Argument groups are kept.
    """
    from regdoctor.cli import check_args

    skip = set(exclude) | {"help"}
    donor = argparse.ArgumentParser(add_help=False)
    check_args.add_arguments(donor)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for group in donor._action_groups:
        for action in group._group_actions:
            if action.dest in skip:
                continue
            if group.title in ("positional arguments", "options", "optional arguments", None):
                target: argparse.ArgumentParser | argparse._ArgumentGroup = parser
            else:
                title = str(group.title)
                if title not in groups:
                    groups[title] = parser.add_argument_group(title, group.description)
                target = groups[title]
            target._add_action(action)
    if "redact_hosts" not in skip and not any(a.dest == "redact_hosts" for a in parser._actions):
        add_redact_hosts(parser)
    return parser


class RunPlan:
    """What ``check`` would run for these arguments: targets, options, preset
    observations (from the effective configuration, when discovery is there)."""

    def __init__(self, targets: list[Any], options: Any, preset: dict[str, Any]) -> None:
        self.targets = targets
        self.options = options
        self.preset = preset

    @property
    def base_redactor(self) -> Redactor:
        """The run's redactor (it learns secrets fetched during the run)."""
        from regdoctor.redact import Redactor

        redactor = getattr(self.options, "redactor", None)
        if redactor is None:
            redactor = Redactor()
            credentials = self.options.credentials
            if credentials is not None:
                redactor.add_credentials(credentials.username, credentials.password)
        return redactor

    @property
    def usernames(self) -> list[str]:
        credentials = self.options.credentials
        return [credentials.username] if credentials is not None else []

    async def run(self, command: Sequence[str]) -> Report:
        from regdoctor.runner import run_check

        if self.preset:
            return await run_check(self.targets, self.options, command=command, preset=self.preset)
        return await run_check(self.targets, self.options, command=command)


def plan_run(args: argparse.Namespace) -> RunPlan:
    """Targets and options exactly as ``regdoctor check`` builds them.

    Raises ``regdoctor.cli.check.UsageError`` or ``regdoctor.reference.ReferenceError``.
    """
    from regdoctor.cli import check as check_cli

    options = check_cli.build_options(args)
    planner = getattr(check_cli, "plan_targets", None)
    if planner is not None:
        targets, preset = planner(args)
        return RunPlan(list(targets), options, dict(preset))
    from regdoctor.reference import parse_target

    raw = args.targets or [check_cli.DEFAULT_TARGET]
    return RunPlan([parse_target(t, insecure=args.insecure) for t in raw], options, {})


def effective_for(args: argparse.Namespace | None) -> Any:
    """The effective configuration (``regdoctor.discovery``) for ``args``, or for the
    default locations; ``None`` when discovery is not available or fails."""
    try:
        if args is not None:
            from regdoctor.cli import check as check_cli

            discover_args = getattr(check_cli, "discover", None)
            if discover_args is not None:
                return discover_args(args)
        import os

        from regdoctor.discovery.effective import discover, paths_from

        root = os.environ.get("REGDOCTOR_CONFIG_ROOT") or "/"
        return discover(paths_from(root, os.environ))
    except Exception:  # a summary is a courtesy: the report must still be produced
        return None
