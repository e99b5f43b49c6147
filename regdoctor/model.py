"""The data model shared by every stage: targets, observations, findings, reports.

Probes produce :class:`Observation` records, rules turn them into :class:`Finding`
records, renderers present a :class:`Report`. Everything here is plain data that
round-trips through JSON; nothing here talks to the network or decides a verdict.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and a secret, with where they came from (never the value)."""

    username: str
    password: Secret
    source: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=****, source={self.source!r})"


@dataclass(frozen=True, slots=True)
class CredentialRef:
    """Where a credential would come from, never the credential itself.

    ``origin`` is ``helper`` (``credHelpers``), ``store`` (``credsStore``), ``file`` (an
    ``auth`` entry of a config/auth file), ``identitytoken``, ``k8s-secret`` or
    ``cri-config`` (containerd's ``registry.configs."<host>".auth``). The value
    is fetched only when a registry asks for it (see ``regdoctor.discovery.credentials``).
    """

    origin: str
    file: str
    key: str
    helper: str | None = None
    server: str | None = None  # what the helper is asked for (its stdin)

    @property
    def source(self) -> str:
        """``/root/.docker/config.json#credHelpers["host:5000"] (docker-credential-x)``."""
        where = f"{self.file}#{self.key}"
        return f"{where} (docker-credential-{self.helper})" if self.helper else where

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "file": self.file,
            "key": self.key,
            "helper": self.helper,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Target:
    """One registry endpoint as the runtime will use it, with where it came from.

    ``scheme`` is ``None`` when regdoctor may choose (HTTPS first, HTTP as fallback for
    insecure registries, as Docker does); ``"https"``/``"http"`` when the user pinned it.
    """

    raw: str
    registry: str  # the name users write: docker.io, host:5000
    host: str  # the host dialled: registry-1.docker.io, host
    port: int
    scheme: str | None = None
    insecure: bool = False
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    source: str = "command line"
    # -- settings from the effective configuration (regdoctor.discovery) ----------------
    kind: str = "registry"  # "registry", or "config": a configuration file judged alone
    runtime: str | None = None  # docker, podman, containerd, kubernetes
    mirror_of: str | None = None  # the registry this endpoint mirrors
    ca_files: tuple[str, ...] = ()
    client_cert: str | None = None
    client_key: str | None = None
    credential: CredentialRef | None = None
    provenance: tuple[tuple[str, str], ...] = ()  # (setting, "file#key")

    @property
    def id(self) -> str:
        return self.raw

    @property
    def is_image(self) -> bool:
        return self.repository is not None

    @property
    def reference(self) -> str | None:
        return self.digest or self.tag

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "raw": self.raw,
            "registry": self.registry,
            "host": self.host,
            "port": self.port,
            "scheme": self.scheme,
            "insecure": self.insecure,
            "repository": self.repository,
            "tag": self.tag,
            "digest": self.digest,
            "source": self.source,
            "kind": self.kind,
            "runtime": self.runtime,
            "mirror_of": self.mirror_of,
            "ca_files": list(self.ca_files),
            "client_cert": self.client_cert,
            "credential": self.credential.to_dict() if self.credential else None,
            "provenance": dict(self.provenance),
        }


@dataclass(frozen=True, slots=True)
class Observation:
    """One observed fact. ``kind`` and the names in ``facts`` are the contract between
    probes and rules; they are listed in docs/observations.md."""

    kind: str
    target: str
    ok: bool
    phase: str
    step: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    evidence: str | None = None
    source: str | None = None
    duration_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["facts"] = dict(self.facts)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Observation:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True, slots=True)
class RemediationStep:
    """One step: ``text`` says what to do; ``checks`` look (diagnostics, safe to run),
    ``commands`` change something (the fix); both per runtime."""

    text: str
    commands: Mapping[str, str] = field(default_factory=dict)
    checks: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "checks": dict(self.checks), "commands": dict(self.commands)}


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    category: str
    severity: Severity
    confidence: str
    target: str
    phase: str
    title: str
    explanation: str
    remediation: tuple[RemediationStep, ...] = ()
    references: tuple[str, ...] = ()
    observations: tuple[int, ...] = ()  # indices into the target's observations
    leading: bool = False
    #: The runtimes in scope this finding applies to (``regdoctor.check.verdicts``);
    #: empty: none of them (a runtime out of scope, or one that is not affected).
    runtimes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "category": self.category,
            "severity": str(self.severity),
            "confidence": self.confidence,
            "target": self.target,
            "phase": self.phase,
            "title": self.title,
            "explanation": self.explanation,
            "remediation": [step.to_dict() for step in self.remediation],
            "references": list(self.references),
            "observations": list(self.observations),
            "leading": self.leading,
            "runtimes": list(self.runtimes),
        }


@dataclass(frozen=True, slots=True)
class PhaseResult:
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


_STATUS_RANK = {"ok": 0, "warning": 1, "error": 2}
_SEVERITY_OF_STATUS = {"ok": Severity.INFO, "warning": Severity.WARNING, "error": Severity.ERROR}


def worst_of(statuses: Iterable[str]) -> str:
    """The worst of ``ok``, ``warning``, ``error`` (``ok`` for none)."""
    return max(statuses, key=lambda s: _STATUS_RANK.get(s, 0), default="ok")


@dataclass(frozen=True, slots=True)
class TargetReport:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.raw,
            "status": self.status,
            "spec": self.target.to_dict(),
            "endpoint": dict(self.endpoint),
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


def worst_status(findings: tuple[Finding, ...] | list[Finding]) -> str:
    """``"error"``, ``"warning"`` or ``"ok"``: the severity of the worst finding."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return "error"
    if Severity.WARNING in severities:
        return "warning"
    return "ok"


@dataclass(frozen=True, slots=True)
class Report:
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


@dataclass(frozen=True)
class Runtime:
    """A container runtime found on this host (``regdoctor.discovery.host.collect``)."""

    name: str
    binary: str | None  # the path found, or None
    version: str | None
    daemon: str | None  # the daemon process name looked for, or None (no daemon)
    daemon_running: bool | None  # None: not determinable

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HostInfo:
    """What a support engineer asks first: versions, OS, runtimes."""

    regdoctor: str
    python: str
    os: str
    kernel: str
    machine: str
    runtimes: tuple[Runtime, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "regdoctor": self.regdoctor,
            "python": self.python,
            "os": self.os,
            "kernel": self.kernel,
            "machine": self.machine,
            "runtimes": [r.to_dict() for r in self.runtimes],
        }


#: A configuration file as a report lists it: (path shown, kind, state, provenance).
ConfigFileRow = tuple[str, str, str, str]


@dataclass(frozen=True)
class ReportContext:
    """What a report may show beside the judgement, collected by the command (never by a
    renderer): this host, the configuration files of the run's root, the environment."""

    host: HostInfo | None = None
    config_files: tuple[ConfigFileRow, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
