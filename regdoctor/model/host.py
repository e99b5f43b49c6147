"""What a report may show beside the judgement: this host, its configuration files
(see ``regdoctor.model``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
