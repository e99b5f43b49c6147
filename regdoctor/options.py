"""The options of a run and the clock it reads: plain data at the bottom of the package,
shared by the network layer, the probes, the planner and every command."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from regdoctor.model import Credentials


@dataclass(frozen=True)
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


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def now(self) -> datetime: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)
