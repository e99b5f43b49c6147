"""The token realm a registry named last time (or is known to name: Docker Hub's
``auth.docker.io``, ``net/realm_hints.py`` ``KNOWN``), reached beside the registry's own TCP,
TLS and ``GET /v2/`` instead of after its 401 (``net/realm_hints.py``).

Every runtime meets a Bearer realm on another host only once the registry's 401 names it
(moby v20.10.24 registry/auth.go and the challenge manager; containerd v1.6.20
remotes/docker/authorizer.go; containers/image v5.23.1 docker/docker_client.go
``detectProperties``), so a check that does the same waits for the realm's DNS, TCP
and TLS on the critical path: two or three round trips. Once the DNS phase has passed,
this task resolves and connects to the realm the hint names, shakes hands with it once
the registry's own TCP connect is up (beside the registry's handshake; with a client
certificate for the registry, once its TLS phase has passed), and judges the realm's
certificate once the registry's TLS phase has passed (its verdict decides whether the
realm's ``tls.verify`` is enforced: ``probes/peer_host.py``). It does exactly what
:func:`~regdoctor.probes.peer_host.check_realm_host` does, with the same context, only
sooner; the auth probe then takes its observations and connection (:func:`take`) if, and
only if, the registry named the same realm (scheme, host and port) and the session is
still open. A realm that differs, or a registry that asks for no token, leaves it
unused: cancelled, its session closed and its observations dropped when the auth probe
sees the 401 or at the target's end (:func:`drop`). A session the realm's server closed
while it sat idle (before the registry's 401 came) is not used either: the realm is
then reached after the 401, as a first check reaches it.

Its waits are on the critical path only as far as the auth probe waits for them.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

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

    ctx: ProbeContext
    realm: str | None = None
    path: list[RoundTrip] = field(default_factory=list)
    task: asyncio.Task[Reached | None] | None = None

    def host_port(self) -> tuple[str, int] | None:
        if self.realm is None:
            return None
        parts = urlsplit(self.realm)
        return parts.hostname or "", parts.port or 0

    def discard(self) -> None:
        """Close the session the early work left in the target's handover (unused)."""
        where = self.host_port()
        if where is None:
            return
        host, port = where
        self.ctx.network.handover(self.ctx.state).discard(host, port)
        sessions = self.ctx.state.extra.get("realm_sessions")
        if isinstance(sessions, dict):
            sessions.pop(f"{host}:{port}", None)


def _passed(state: TargetState, phase: str) -> bool:
    verdict = state.verdicts.get(phase)
    return verdict is not None and verdict[0] in _PASSING


async def _reach(ctx: ProbeContext, early: Early) -> Reached | None:
    state = ctx.state
    await state.decided("dns").wait()
    if not _passed(state, "dns"):
        return None
    hints = ctx.network.realm_hints
    realm = hints.recall(ctx.target.hostport)
    if realm is None or peer_key(ctx, realm) is None:
        return None  # no hint, or a realm the check would not reach itself (a proxy)
    early.realm = realm
    why = "named last time" if hints.learned(ctx.target.hostport) else "this registry's known realm"
    ctx.trace(f"token realm {realm} ({why}): reached beside the registry")

    def passed(phase: str) -> Callable[[], Awaitable[bool]]:
        async def wait() -> bool:
            await state.decided(phase).wait()
            return _passed(state, phase)

        return wait

    # The realm's handshake beside the registry's: its ClientHello once the registry's
    # TCP connect is up, its certificate judged once the registry's TLS phase passed.
    # With a client certificate for the registry (which the realm may ask for, as it
    # would after the 401), the ClientHello waits for the registry's TLS phase itself:
    # a registry that fails its TLS sends no client certificate anywhere.
    client, _source = ctx.network.client_pair(ctx.target.hostport)
    hello_after = "tls" if client is not None else "tcp"
    return await peer_session(
        ctx, realm, "realm", before_tls=passed(hello_after), settle=passed("tls")
    )


def start(ctx: ProbeContext) -> None:
    """Begin, in a task of its own, what :func:`take` may use (the hint is read once the
    DNS phase has passed, while the registry's TCP connect is on the link)."""
    context = contextvars.copy_context()
    early = Early(ctx)
    context.run(roundtrips.record_into, early.path)
    early.task = asyncio.create_task(_reach(ctx, early), context=context)
    ctx.state.extra[EARLY] = early


async def take(ctx: ProbeContext, url: str, seen: set[str]) -> Reached | None:
    """The realm's DNS, TCP and TLS observations (and its session, in the handover) when
    the early task reached the realm ``url`` names and its session is still open; None
    (and the early work dropped, its session closed) otherwise: the caller then reaches
    the realm itself, as a first check does. The wait that remains joins the critical
    path: the early task's steps that ended while the auth probe waited."""
    early = ctx.state.extra.pop(EARLY, None)
    if not isinstance(early, Early) or early.task is None:
        return None
    key = peer_key(ctx, url)
    if early.realm is None or key is None or key in seen or origin(url) != early.realm:
        await _drop(early)
        return None
    done = len(early.path)
    start = time.monotonic()
    reached: Reached | None = None
    try:
        reached = await early.task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
    except Exception as exc:  # never a verdict from the early work: the caller redoes it
        ctx.trace(f"token realm reached early: {exc!r}; reached again")
    waited = (time.monotonic() - start) * 1000
    if reached is not None and reached[1] is None and _closed_since(early):
        # the realm closed the session while it sat idle (the registry's GET /v2/, a
        # credential helper): a first check would not have met that, so neither does this
        ctx.trace("token realm reached early: its server closed the session; reached again")
        reached = None
    used = reached is not None and reached[1] != NOT_NEEDED
    _join_path(early.path[done:], waited, key, used=used)
    if not used:
        early.discard()
        return None
    seen.add(key)
    return reached


def _closed_since(early: Early) -> bool:
    where = early.host_port()
    if where is None:
        return False
    return early.ctx.network.handover(early.ctx.state).still_open(*where) is False


def _join_path(steps: list[RoundTrip], waited_ms: float, key: str, *, used: bool = True) -> None:
    """Put the early steps the auth probe waited for on the critical path: those that
    began after it asked in full, the one under way then by how much of it was left
    (a round trip if more than half of it). Early work not ``used`` adds only the steps
    waited for (the realm is then reached again, its own steps after them)."""
    if not steps:
        if used:
            roundtrips.record(
                "token realm (dns, tcp connect, tls handshake: reached early)",
                waited_ms,
                round_trips=0,
                host=key,
            )
        return
    roundtrips.join_waited(
        steps, waited_ms, host=key, begun="realm, begun early", later="realm, early"
    )


async def _drop(early: Early) -> None:
    """Cancel the early work and close what it made (a session it finished unused)."""
    if early.task is not None:
        early.task.cancel()
        await asyncio.gather(early.task, return_exceptions=True)
    early.discard()


async def drop(state: TargetState) -> None:
    """At the target's end: the early work no token request used, cancelled, and its
    session closed (not left open until the run ends)."""
    early = state.extra.pop(EARLY, None)
    if isinstance(early, Early):
        await _drop(early)
