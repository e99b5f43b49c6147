"""A check's report: per target its phases, observations, findings and verdicts
(see ``regdoctor.model``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from regdoctor.model import (
    _SEVERITY_OF_STATUS,
    SCHEMA_VERSION,
    ExitCode,
    PhaseStatus,
    Severity,
    exit_code_for,
    worst_of,
    worst_status,
)

if TYPE_CHECKING:
    from regdoctor.model.findings import Finding, Observation
    from regdoctor.model.target import Target


@dataclass(frozen=True, slots=True)
class PhaseResult:
    """One phase of a target's check (dns, tcp, tls, http, auth, image...): its status,
    how long it took, and the error or the reason it was skipped."""

    name: str
    status: PhaseStatus
    duration_ms: float | None = None
    error: str | None = None
    reason: str | None = None  # why it was skipped
    #: A few words on what the phase found, written by its probe for human readers (the
    #: JSON carries the observations instead, so it is not serialised).
    summary: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": str(self.status),
            "duration_ms": self.duration_ms,
            "error": self.error,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One wait on the network on a target's critical path: a DNS query pair, a TCP
    connect, a TLS handshake or one HTTP request (``round_trips``: how many times the
    link was crossed and answered; a TLS 1.2 handshake takes two)."""

    what: str  # "dns A+AAAA", "tcp connect", "tls handshake", "GET /v2/", "token", ...
    ms: float
    round_trips: int = 1
    host: str | None = None  # the endpoint (host:port, or the name resolved)

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "ms": self.ms,
            "round_trips": self.round_trips,
            "host": self.host,
        }


@dataclass(frozen=True, slots=True)
class RuntimeVerdict:
    """Whether one runtime would pull a target, as that runtime behaves."""

    runtime: str
    status: str  # ok (it pulls), warning (it pulls, but see why), error (it fails)
    reason: str  # one line
    endpoint: str | None = None  # the endpoint it would pull from, or where it stops
    category: str | None = None  # the leading category for this runtime

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "endpoint": self.endpoint,
            "category": self.category,
        }


@dataclass(frozen=True, slots=True)
class TargetReport:
    """Everything one target's check produced: the endpoint, the phases, the probes'
    observations and the findings the rules made of them."""

    target: Target
    endpoint: Mapping[str, Any]
    phases: tuple[PhaseResult, ...]
    observations: tuple[Observation, ...]
    findings: tuple[Finding, ...]
    duration_ms: float
    #: Per runtime in scope, whether it would pull (empty: not judged per runtime).
    runtimes: Mapping[str, RuntimeVerdict] = field(default_factory=dict)
    #: The network waits the check made one after the other (what a slow link
    #: multiplies); optional probes that ran beside them are not on it.
    critical_path: tuple[RoundTrip, ...] = ()

    @property
    def round_trips(self) -> int:
        return sum(r.round_trips for r in self.critical_path)

    @property
    def status(self) -> str:
        """The worst verdict of the runtimes in scope; without them, the worst finding."""
        if self.runtimes:
            return worst_of(v.status for v in self.runtimes.values())
        return worst_status(self.findings)

    def _endpoint(self) -> dict[str, Any]:
        """The endpoint, with the images a mirror or search registry target serves
        (``mirror_for``: here, where schema 3 as published allows other keys; its
        ``spec`` allows none)."""
        endpoint = dict(self.endpoint)
        if self.target.mirror_for:
            endpoint["mirror_for"] = list(self.target.mirror_for)
        return endpoint

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.raw,
            "status": self.status,
            "spec": self.target.to_dict(),
            "endpoint": self._endpoint(),
            "duration_ms": self.duration_ms,
            "phases": [p.to_dict() for p in self.phases],
            "observations": [o.to_dict() for o in self.observations],
            "findings": [f.to_dict() for f in self.findings],
            "runtimes": {name: v.to_dict() for name, v in self.runtimes.items()},
            "timing": {
                "round_trips": self.round_trips,
                "critical_path": [r.to_dict() for r in self.critical_path],
            },
        }


@dataclass(frozen=True, slots=True)
class Report:
    """One run: its targets' reports, when it started, how long it took, and the
    version of regdoctor that made it."""

    targets: tuple[TargetReport, ...]
    started_at: str
    duration_ms: float
    version: str
    command: tuple[str, ...] = ()
    deadline_hit: bool = False
    #: The runtimes whose verdicts the report gives (and its exit code follows).
    runtimes: tuple[str, ...] = ()

    @property
    def findings(self) -> list[Finding]:
        return [f for t in self.targets for f in t.findings]

    @property
    def probed(self) -> tuple[TargetReport, ...]:
        """The real targets (registries and images), without the configuration files."""
        return tuple(t for t in self.targets if t.target.kind != "config")

    @property
    def configs(self) -> tuple[TargetReport, ...]:
        """The configuration files judged alone (``Target.kind == "config"``): not
        targets, though their findings count for the status and the exit code."""
        return tuple(t for t in self.targets if t.target.kind == "config")

    @property
    def status(self) -> str:
        return worst_of(t.status for t in self.targets)

    @property
    def exit_code(self) -> ExitCode:
        return exit_code_for(_SEVERITY_OF_STATUS[t.status] for t in self.targets)

    def to_dict(self) -> dict[str, Any]:
        findings = [f for t in (*self.probed, *self.configs) for f in t.findings]
        return {
            "schema_version": SCHEMA_VERSION,
            "regdoctor_version": self.version,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "deadline_hit": self.deadline_hit,
            "status": self.status,
            "exit_code": int(self.exit_code),
            "runtimes": list(self.runtimes),
            "summary": {
                "targets": len(self.probed),
                "configs": len(self.configs),
                "errors": sum(f.severity is Severity.ERROR for f in findings),
                "warnings": sum(f.severity is Severity.WARNING for f in findings),
                "infos": sum(f.severity is Severity.INFO for f in findings),
            },
            "targets": [t.to_dict() for t in self.probed],
            "configs": [t.to_dict() for t in self.configs],
            "findings": [f.to_dict() for f in findings],
        }
