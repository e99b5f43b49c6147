"""The token realm a registry named last time, reached beside the registry's own TCP,
TLS and ``GET /v2/`` instead of after its 401 (``net/realm_hints.py``).

Every runtime meets a Bearer realm on another host only once the registry's 401 names it
(moby v20.10.24 registry/auth.go and the challenge manager; containerd v1.6.20
remotes/docker/authorizer.go; containers/image v5.23.1 docker/docker_client.go
``detectProperties``), so a check that does the same waits for the realm's DNS, TCP
and TLS on the critical path: two or three round trips. Once the DNS phase has passed,
this task resolves and connects to the realm the hint names, shakes hands with it once
the registry's own TCP connect is up (beside the registry's handshake), and judges the
realm's certificate once the registry's TLS phase has passed (its verdict decides
whether the realm's ``tls.verify`` is enforced: ``probes/peer_host.py``). It does exactly what
:func:`~regdoctor.probes.peer_host.check_realm_host` does, with the same context, only
sooner; the auth probe then takes its observations and connection (:func:`take`) if, and
only if, the registry named the same realm (scheme, host and port). A realm that
differs, or a registry that asks for no token, leaves it unused: closed at the target's
end, its observations dropped, as if it had never run (:func:`drop`).

Its waits are on the critical path only as far as the auth probe waits for them.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from regdoctor.model import Observation, PhaseStatus, RoundTrip
from regdoctor.net import roundtrips
from regdoctor.net.realm_hints import origin
from regdoctor.probes.peer_host import NOT_NEEDED, peer_key, peer_session

if TYPE_CHECKING:
    from regdoctor.probes.base import ProbeContext, TargetState

#: ``TargetState.extra`` key of the target's :class:`Early`.
EARLY = "realm_early"
_PASSING = (PhaseStatus.OK, PhaseStatus.WARN, PhaseStatus.NOT_APPLICABLE)

Reached = tuple[list[Observation], str | None]


@dataclass
class Early:
    """The realm being reached: its origin (None: no hint, nothing done), the task, and
    the waits it made (recorded here, not on the critical path)."""

    realm: str | None = None
    path: list[RoundTrip] = field(default_factory=list)
    task: asyncio.Task[Reached | None] | None = None


def _passed(state: TargetState, phase: str) -> bool:
    verdict = state.verdicts.get(phase)
    return verdict is not None and verdict[0] in _PASSING


async def _reach(ctx: ProbeContext, early: Early) -> Reached | None:
    state = ctx.state
    await state.decided("dns").wait()
    if not _passed(state, "dns"):
        return None
    realm = ctx.network.realm_hints.recall(ctx.target.hostport)
    if realm is None or peer_key(ctx, realm) is None:
        return None  # no hint, or a realm the check would not reach itself (a proxy)
    early.realm = realm
    ctx.trace(f"token realm {realm} (named last time): reached beside the registry")

    def passed(phase: str) -> Callable[[], Awaitable[bool]]:
        async def wait() -> bool:
            await state.decided(phase).wait()
            return _passed(state, phase)

        return wait

    # the realm's handshake beside the registry's: its ClientHello once the registry's
    # TCP connect is up, its certificate judged once the registry's TLS phase passed
    return await peer_session(ctx, realm, "realm", before_tls=passed("tcp"), settle=passed("tls"))


def start(ctx: ProbeContext) -> None:
    """Begin, in a task of its own, what :func:`take` may use (the hint is read once the
    DNS phase has passed, while the registry's TCP connect is on the link)."""
    context = contextvars.copy_context()
    early = Early()
    context.run(roundtrips.record_into, early.path)
    early.task = asyncio.create_task(_reach(ctx, early), context=context)
    ctx.state.extra[EARLY] = early


async def take(ctx: ProbeContext, url: str, seen: set[str]) -> Reached | None:
    """The realm's DNS, TCP and TLS observations (and its session, in the handover) when
    the early task reached the realm ``url`` names; None (and the early work dropped)
    otherwise: the caller then reaches the realm itself. The wait that remains joins the
    critical path: the early task's steps that ended while the auth probe waited."""
    early = ctx.state.extra.pop(EARLY, None)
    if not isinstance(early, Early) or early.task is None:
        return None
    key = peer_key(ctx, url)
    if early.realm is None or key is None or key in seen or origin(url) != early.realm:
        await _cancel(early)
        return None
    done = len(early.path)
    start = time.monotonic()
    try:
        reached = await early.task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        return None
    except Exception as exc:  # never a verdict from the early work: the caller redoes it
        ctx.trace(f"token realm reached early: {exc!r}; reached again")
        return None
    waited = (time.monotonic() - start) * 1000
    if reached is None or reached[1] == NOT_NEEDED:
        return None
    seen.add(key)
    _join_path(early.path[done:], waited, key)
    return reached


def _join_path(steps: list[RoundTrip], waited_ms: float, key: str) -> None:
    """Put the early steps the auth probe waited for on the critical path: those that
    began after it asked in full, the one under way then by how much of it was left
    (a round trip if more than half of it)."""
    if not steps:
        roundtrips.record(
            "token realm (dns, tcp connect, tls handshake: reached early)",
            waited_ms,
            round_trips=0,
            host=key,
        )
        return
    first, later = steps[0], steps[1:]
    left = waited_ms - sum(step.ms for step in later)
    trips = first.round_trips if left > first.ms / 2 else 0
    roundtrips.record(f"{first.what} (realm, begun early)", left, round_trips=trips, host=key)
    for step in later:
        roundtrips.record(
            f"{step.what} (realm, early)", step.ms, round_trips=step.round_trips, host=key
        )


async def _cancel(early: Early) -> None:
    if early.task is not None:
        early.task.cancel()
        await asyncio.gather(early.task, return_exceptions=True)


async def drop(state: TargetState) -> None:
    """Cancel the early work no token request used (its connection, if it made one, is
    closed with the target's handover)."""
    early = state.extra.pop(EARLY, None)
    if isinstance(early, Early):
        await _cancel(early)
