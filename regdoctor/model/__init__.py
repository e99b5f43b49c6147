"""The data model shared by every stage: targets, observations, findings, reports.

Probes produce :class:`Observation` records, rules turn them into :class:`Finding`
records, renderers present a :class:`Report`. Everything here is plain data that
round-trips through JSON; nothing here talks to the network or decides a verdict.

This module holds the values every command needs (severities, statuses, exit codes,
:class:`Secret`); the records are defined in its submodules (``credentials``,
``target``, ``findings``, ``remediation``, ``report``, ``host``) and imported from here on
first use (PEP 562), so that a command pays only for the records it builds: ``regdoctor
explain`` builds a ``Target`` and ``RemediationStep`` s, not the report of a check.
Import them from here: ``from regdoctor.model import Finding, Report``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from regdoctor.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from regdoctor.model.credentials import CredentialRef, Credentials
    from regdoctor.model.findings import Finding, Observation
    from regdoctor.model.host import ConfigFileRow, HostInfo, ReportContext, Runtime
    from regdoctor.model.remediation import RemediationStep
    from regdoctor.model.report import (
        PhaseResult,
        Report,
        RoundTrip,
        RuntimeVerdict,
        TargetReport,
    )
    from regdoctor.model.target import Target

__all__ = [
    "PHASES",
    "SCHEMA_VERSION",
    "ConfigFileRow",
    "CredentialRef",
    "Credentials",
    "ExitCode",
    "Finding",
    "HostInfo",
    "Observation",
    "PhaseResult",
    "PhaseStatus",
    "RemediationStep",
    "Report",
    "ReportContext",
    "RoundTrip",
    "Runtime",
    "RuntimeVerdict",
    "Secret",
    "Severity",
    "Target",
    "TargetReport",
    "exit_code_for",
    "worst_of",
    "worst_status",
]

SCHEMA_VERSION = 3


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class PhaseStatus(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAILED = "failed"
    SKIPPED = "skipped"
    CRASHED = "crashed"
    NOT_APPLICABLE = "n/a"


class ExitCode(enum.IntEnum):
    """Exit codes a script can trust (documented in --help and the README)."""

    HEALTHY = 0
    WARNINGS = 1
    ERRORS = 2
    CANNOT_RUN = 3


def exit_code_for(severities: Iterable[Severity], *, fail_on: str = "warning") -> ExitCode:
    """The exit code for findings of these severities: any error 2, else any warning 1
    (0 with ``fail_on="error"``), else 0. The only place this mapping is written."""
    seen = set(severities)
    if Severity.ERROR in seen:
        return ExitCode.ERRORS
    if Severity.WARNING in seen and fail_on != "error":
        return ExitCode.WARNINGS
    return ExitCode.HEALTHY


#: Phases in the order a pull goes through them. A finding whose evidence comes from an
#: earlier phase is closer to the root cause than one from a later phase.
PHASES: tuple[str, ...] = ("config", "dns", "tcp", "tls", "http", "auth", "image")


class Secret:
    """A value that must never be printed: ``repr``/``str`` are masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)  # f"{secret:>20}" is masked too, not a TypeError

    def __copy__(self) -> Secret:
        return self  # immutable: copies (dataclasses.asdict deep-copies) share it

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not pickled (it would carry its value)")

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_STATUS_RANK = {"ok": 0, "warning": 1, "error": 2}
_SEVERITY_OF_STATUS = {"ok": Severity.INFO, "warning": Severity.WARNING, "error": Severity.ERROR}


def worst_of(statuses: Iterable[str]) -> str:
    """The worst of ``ok``, ``warning``, ``error`` (``ok`` for none)."""
    return max(statuses, key=lambda s: _STATUS_RANK.get(s, 0), default="ok")


def worst_status(findings: tuple[Finding, ...] | list[Finding]) -> str:
    """``"error"``, ``"warning"`` or ``"ok"``: the severity of the worst finding."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return "error"
    if Severity.WARNING in severities:
        return "warning"
    return "ok"


#: name -> the submodule that defines it (imported on first use).
_EXPORTS: dict[str, str] = {
    "Credentials": "credentials",
    "CredentialRef": "credentials",
    "Target": "target",
    "Observation": "findings",
    "RemediationStep": "remediation",
    "Finding": "findings",
    "PhaseResult": "report",
    "RoundTrip": "report",
    "RuntimeVerdict": "report",
    "TargetReport": "report",
    "Report": "report",
    "Runtime": "host",
    "HostInfo": "host",
    "ReportContext": "host",
    "ConfigFileRow": "host",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
