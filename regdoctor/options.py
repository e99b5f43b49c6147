"""The options of a run and the clock it reads: plain data at the bottom of the package,
shared by the network layer, the probes, the planner and every command."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from regdoctor.model import Credentials


@dataclass(frozen=True, eq=False)
class CheckOptions:
    """Everything the user chose for a run. Immutable; shared by all targets."""

    timeout: float = 5.0
    deadline: float = 30.0
    dns_server: tuple[str, int] | None = None
    ca_files: tuple[Path, ...] = ()
    client_cert: Path | None = None
    client_key: Path | None = None
    credentials: Credentials | None = None
    platforms: tuple[str, ...] = ()
    insecure: bool = False
    config_root: Path = Path("/")
    body_limit: int = 256 * 1024
    skew_tolerance_s: float = 60.0
    trace: Callable[[str], None] | None = None
    #: The run's redactor (``regdoctor.redact.secrets.Redactor``): secrets fetched during the run
    #: (from a credential helper) are added to it, and every output goes through it.
    redactor: Any = None
    helper_timeout: float = 10.0
    #: The caller's rule folders (``--rules-dir``), judged with the bundled rules.
    rule_dirs: tuple[Path, ...] = ()
    #: How the runtimes in scope reach each registry (None: as Docker does, the
    #: behaviour before per-runtime verdicts; tests of single probes use it).
    schemes: SchemePolicy | None = None
    #: Whether ``timeout`` was chosen by the user (``--timeout``): without it, a phase a
    #: runtime waits longer for (the TLS handshake: 10 s) gets the runtime's own limit.
    timeout_given: bool = True


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def now(self) -> datetime: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, eq=False)
class SchemeChoice:
    """Which runtimes in scope skip TLS verification for a host, and which go on to plain
    HTTP after an HTTPS failure of one of the ``plain_http_after`` kinds: what the TLS
    probe needs to observe what those runtimes would see."""

    skip_verify: tuple[str, ...] = ()
    #: Runtimes that verify the certificate (their failure is an error for them).
    verify: tuple[str, ...] = ()
    plain_http: tuple[str, ...] = ()
    plain_http_after: tuple[str, ...] = ()
    #: The runtimes in scope (empty: not known, as Docker does without a scope).
    scope: tuple[str, ...] = ()


class SchemePolicy(Protocol):
    """Answers :class:`SchemeChoice` for a target and the addresses its name resolved to
    (``regdoctor.check.routes.Routes`` reads the runtime model)."""

    def schemes(self, target: Any, addresses: Any) -> SchemeChoice: ...

    def trust(self, target: Any) -> dict[str, list[str]]:
        """Per runtime, the CA files it trusts for ``target`` besides the system store."""
        ...

    def trust_elsewhere(self, target: Any) -> list[str]:
        """The CA files the runtimes out of scope trust for ``target``."""
        ...

    def trust_dirs(self, target: Any) -> dict[str, list[str]]:
        """Per runtime, the directories it looks in for the CA of ``target``."""
        ...

    def endpoint_trust(self, target: Any) -> dict[str, list[list[str] | None]]:
        """Per runtime whose endpoints each have their own CA files (containerd's
        hosts.toml entries): those files per endpoint, None where TLS is not at stake."""
        ...
