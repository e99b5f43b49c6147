"""What every probe shares: the options of a run, the context a probe runs in, and the
per-target state that lets a later probe read what an earlier one found.

A probe never creates its own clients: the resolver, the HTTP transport, the clock and
the file-system root come in through :class:`ProbeContext`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from regdoctor.model import Observation, PhaseStatus, Secret, Target
from regdoctor.options import CheckOptions, Clock

if TYPE_CHECKING:
    import ssl

    from regdoctor.net.http_client import HttpClient
    from regdoctor.net.network import Network
    from regdoctor.net.proxy import ProxyRoute

T = TypeVar("T")


#: ``TargetState.extra`` key: the registry's name did not resolve here, and the check
#: goes on to http:// through ``HTTP_PROXY`` (the error of the lookup; probes/dns.py).
UNRESOLVED = "https_unresolved"
#: ``TargetState.extra`` key: port 443 of a registry named without a port did not
#: connect, and its http:// port 80 did (the error at 443; probes/tcp.py).
HTTPS_PORT_FAILED = "https_port_failed"


@dataclass(frozen=True, slots=True)
class Wait:
    """One network wait in progress: what (``"tcp 127.0.0.1:5000"``), since when
    (monotonic), and how long it may take (seconds)."""

    what: str
    since: float
    budget: float


@dataclass
class TargetState:
    """Mutable scratch space of one target's run. Holds what later probes need but
    must not appear in a report (a token, an SSL context), and the verdict per phase."""

    target: Target
    observations: list[Observation] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    address: str | None = None  # the address that connected
    scheme: str | None = None  # https / http, once decided
    fallback_allowed: bool = False
    verify_enforced: bool = True
    ssl_context: ssl.SSLContext | None = None
    client_cert_source: str | None = None
    authorization: Secret | None = None  # header value for authenticated requests
    token_scope: str | None = None
    proxy: ProxyRoute | None = None  # the proxy a pull of this target goes through
    verdicts: dict[str, tuple[PhaseStatus, str | None]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    #: What the target waits on now, for a live status line; None when not waiting.
    wait: Wait | None = None
    #: One event per phase, set once the pipeline has the phase's result (:meth:`decided`).
    _decided: dict[str, asyncio.Event] = field(default_factory=dict, repr=False)

    def decided(self, phase: str) -> asyncio.Event:
        """Set once ``phase`` has its result (passed, failed, skipped or not applicable):
        for work beside the probes that needs a phase's verdict (probes/realm_early.py)."""
        return self._decided.setdefault(phase, asyncio.Event())

    def find(self, kind: str, *, step: str | None = None, **facts: Any) -> list[Observation]:
        return [
            o
            for o in self.observations
            if o.kind == kind
            and (step is None or o.step == step)
            and all(o.facts.get(k) == v for k, v in facts.items())
        ]

    def verdict(self, phase: str, status: PhaseStatus, error: str | None = None) -> None:
        self.verdicts[phase] = (status, error)


#: How long a runtime waits for one registry request when regdoctor's ``--timeout`` is
#: not given (docs/runtime-model.md: dockerd's ping, 15 s).
RUNTIME_HTTP_S = 15.0


@dataclass
class ProbeContext:
    """What a probe may use. One per target; ``network`` and ``clock`` are shared."""

    options: CheckOptions
    state: TargetState
    network: Network
    clock: Clock
    deadline_at: float  # monotonic time at which the whole run must end
    #: An optional probe running beside the critical path (Harbor): its requests wait
    #: while the critical path uses the connection (net/handover.py ``Gate``).
    optional: bool = False

    @property
    def target(self) -> Target:
        return self.state.target

    def remaining(self) -> float:
        return max(0.0, self.deadline_at - self.clock.monotonic())

    def budget(self) -> float:
        """The time one network wait may take: the phase timeout, capped by the deadline.

        Probes ask for it right before each wait, so it also marks the wait as begun
        (:attr:`TargetState.wait`, shown by a live status line)."""
        return self._waiting(max(0.001, min(self.options.timeout, self.remaining())))

    def _waiting(self, budget: float) -> float:
        wait = self.state.wait
        if wait is not None:
            self.state.wait = Wait(wait.what, self.clock.monotonic(), budget)
        return budget

    def http_budget(self) -> float:
        """One HTTP exchange: the phase timeout; without ``--timeout``, the runtimes' own
        patience (dockerd gives its ``/v2/`` ping 15 s; containerd and containers/image
        set no response timeout), so that a slow registry is measured, not cut."""
        if self.options.timeout_given:
            return self.budget()
        patience = max(self.options.timeout, RUNTIME_HTTP_S)
        return self._waiting(max(0.001, min(patience, self.remaining())))

    async def bounded(self, awaitable: Awaitable[T], budget: float | None = None) -> T:
        """Await with the phase timeout and the global deadline. Raises TimeoutError."""
        async with asyncio.timeout(budget if budget is not None else self.budget()):
            return await awaitable

    def observe(
        self,
        kind: str,
        *,
        ok: bool,
        phase: str,
        step: str | None = None,
        facts: dict[str, Any] | None = None,
        error: str | None = None,
        evidence: str | None = None,
        source: str | None = None,
        duration_ms: float | None = None,
    ) -> Observation:
        """Build an observation for this target (the runner records what is yielded)."""
        from regdoctor.redact.secrets import redact as _redact

        redact = self.options.redactor.redact if self.options.redactor is not None else _redact
        return Observation(
            kind=kind,
            target=self.target.id,
            ok=ok,
            phase=phase,
            step=step,
            facts=facts or {},
            error=redact(error) if error else None,
            evidence=redact(evidence) if evidence else None,
            source=source,
            duration_ms=round(duration_ms, 2) if duration_ms is not None else None,
        )

    def trace(self, message: str) -> None:
        if self.options.trace is not None:
            self.options.trace(f"[{self.target.id}] {message}")

    def http_client(self) -> HttpClient:
        return self.network.client_for(self.target.hostport, self.state)


class Probe(Protocol):
    """A probe: an id (also its phase), the probes it needs first, and ``run``."""

    id: str
    needs: tuple[str, ...]

    def applies(self, target: Target) -> bool: ...

    def run(self, ctx: ProbeContext) -> AsyncIterator[Observation]: ...

    def summary(self, observations: Sequence[Observation]) -> str:
        """A few words on what this phase found (its own observations only)."""
        ...


def first(observations: Iterable[Observation], kind: str, **facts: Any) -> Observation | None:
    """The first observation of ``kind`` whose facts have these values."""
    for obs in observations:
        if obs.kind == kind and all(obs.facts.get(k) == v for k, v in facts.items()):
            return obs
    return None


def failure_summary(observations: Iterable[Observation]) -> str:
    """The error of the first failed observation (the default summary)."""
    failing = next((o for o in observations if not o.ok and o.error), None)
    return (failing.error or "") if failing is not None else ""


def short_digest(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}:{value[:12]}…" if value and len(value) > 12 else digest


def elapsed_ms(start: float) -> float:
    return (time.monotonic() - start) * 1000.0
