"""One repository on one registry, opened the way a pull opens it: choose the scheme
(HTTPS first; plain HTTP only for an insecure or loopback registry, as Docker does),
then run the auth dance with scope ``repository:NAME:pull`` through the same driver as
``check`` (``probes/auth.py``), so every step is an observation.

The session then offers what the tags and bench code need: ``fetch`` (the HTTP client, pinned,
proxy-aware, bounded) and the authorization header to send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from regdoctor.model import Observation, Secret, Target
from regdoctor.net.network import Network
from regdoctor.options import CheckOptions, Clock, SystemClock
from regdoctor.probes.base import ProbeContext, TargetState
from regdoctor.probes.exchange import Exchange, fetch, observe_exchange
from regdoctor.probes.http_ping import base_url, looks_like_registry
from regdoctor.reference.targets import is_loopback

_NO_ANSWER = ("connect_error", "protocol_error", "error", "tls_on_http")


@dataclass
class RepoSession:
    """An opened repository. ``ok`` is False when the registry could not be used; the
    observations then say why (and the usual rules judge them)."""

    target: Target
    ctx: ProbeContext
    ok: bool = False
    error: str | None = None
    observations: list[Observation] = field(default_factory=list)
    role: str = "registry"  # registry, replica, mirror

    @property
    def base(self) -> str:
        return base_url(self.ctx)

    @property
    def repository(self) -> str:
        assert self.target.repository is not None
        return self.target.repository

    @property
    def authorization(self) -> Secret | None:
        return self.ctx.state.authorization

    @property
    def network(self) -> Network:
        return self.ctx.network

    def manifest_url(self, reference: str) -> str:
        return f"{self.base}/v2/{self.repository}/manifests/{reference}"

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body_limit: int | None = None,
        authorize: bool = True,
    ) -> Exchange:
        return await fetch(
            self.ctx,
            method,
            url,
            headers=headers,
            authorization=self.authorization if authorize else None,
            body_limit=body_limit,
        )

    def observe(self, kind: str, **kwargs: Any) -> Observation:
        observation = self.ctx.observe(kind, **kwargs)
        self.observations.append(observation)
        return observation


def make_context(
    target: Target,
    options: CheckOptions,
    network: Network,
    *,
    clock: Clock | None = None,
    deadline_at: float | None = None,
) -> ProbeContext:
    clock = clock or SystemClock()
    if deadline_at is None:
        deadline_at = clock.monotonic() + options.deadline
    state = TargetState(target=target)
    state.verify_enforced = not (target.insecure or options.insecure)
    state.fallback_allowed = target.scheme is None and (
        target.insecure or options.insecure or is_loopback(target.host)
    )
    return ProbeContext(
        options=options, state=state, network=network, clock=clock, deadline_at=deadline_at
    )


async def open_session(
    target: Target,
    options: CheckOptions,
    network: Network,
    *,
    clock: Clock | None = None,
    deadline_at: float | None = None,
    role: str = "registry",
) -> RepoSession:
    """Choose the scheme, authenticate for pull on ``target.repository``."""
    from regdoctor.model import PhaseStatus
    from regdoctor.probes.auth import AuthProbe

    ctx = make_context(target, options, network, clock=clock, deadline_at=deadline_at)
    session = RepoSession(target=target, ctx=ctx, role=role)
    state = ctx.state
    schemes = [target.scheme] if target.scheme else ["https"]
    if state.fallback_allowed:
        schemes.append("http")
    exchange: Exchange | None = None
    for scheme in schemes:
        state.scheme = scheme
        exchange = await fetch(ctx, "GET", f"{base_url(ctx)}/v2/")
        if exchange.outcome not in _NO_ANSWER:
            break
    assert exchange is not None
    is_registry = exchange.outcome == "response" and looks_like_registry(exchange)
    ok = is_registry and exchange.status in (200, 401)
    session.observations.append(
        observe_exchange(
            ctx, exchange, phase="http", step="v2", ok=ok, extra={"is_registry": is_registry}
        )
    )
    if not ok:
        session.error = exchange.error or f"HTTP {exchange.status}: not a registry answer"
        return session
    state.extra["v2"] = exchange
    state.verdict("http", PhaseStatus.OK)
    async for observation in AuthProbe().run(ctx):
        session.observations.append(observation)
        state.observations.append(observation)
    verdict = state.verdicts.get("auth")
    if verdict is None or verdict[0] is not PhaseStatus.OK:
        session.error = (verdict[1] if verdict else None) or "authentication failed"
        return session
    session.ok = True
    return session
