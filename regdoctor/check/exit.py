"""The one mapping from a judgement to an exit code (0 healthy, 1 warnings only, 2 errors,
3 could not run), with ``--fail-on error`` turning warnings into 0. ``check``, ``serve``,
``bundle``, ``tui``, ``tags``, ``bench`` and ``explain`` all exit through it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from regdoctor.model import Severity, exit_code_for

if TYPE_CHECKING:
    from regdoctor.engine.explain import TextMatch
    from regdoctor.model import Report

__all__ = ["FAIL_ON", "exit_code", "exit_code_of", "explain_exit_code"]

#: The values of ``--fail-on``.
FAIL_ON: tuple[str, ...] = ("error", "warning")


def exit_code_of(severities: Iterable[Severity], fail_on: str | None = "warning") -> int:
    """The exit code for findings of these severities."""
    return int(exit_code_for(severities, fail_on=fail_on or "warning"))


_SEVERITY = {"ok": Severity.INFO, "warning": Severity.WARNING, "error": Severity.ERROR}


def exit_code(report: Report, fail_on: str | None = "warning") -> int:
    """The exit code for ``report``: the worst target status (a target's status is the
    worst verdict of the runtimes in scope); with ``--fail-on error`` warnings exit 0."""
    return exit_code_of((_SEVERITY[t.status] for t in report.targets), fail_on)


def explain_exit_code(matches: Iterable[TextMatch]) -> int:
    """``explain``'s code: 0 no registry error recognised, 1 warnings only, 2 errors."""
    return exit_code_of(m.severity for m in matches if m.recognised)
