"""HTTP: the anonymous ``GET /v2/`` every client starts with.

It tells whether the endpoint is a registry at all, which auth scheme it wants, its
clock (``Date``) and how fast it answers. It also catches the two scheme mix-ups:
plain HTTP spoken to a TLS port, and TLS on a port spoken to as HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from regdoctor.model import Observation, PhaseStatus, Target
from regdoctor.probes.base import ProbeContext, failure_summary, first
from regdoctor.probes.exchange import Exchange, fetch, observe_exchange
from regdoctor.probes.manifest_request import send_manifest_beside_ping
from regdoctor.probes.urls import base_url, names_port

__all__ = ["HttpPingProbe", "base_url", "looks_like_registry", "names_port", "speaks_tls"]


def looks_like_registry(exchange: Exchange) -> bool:
    if exchange.header("docker-distribution-api-version"):
        return True
    challenge = (exchange.header("www-authenticate") or "").lower()
    if exchange.status == 401 and ("bearer" in challenge or "basic" in challenge):
        return True
    return exchange.status == 200 and exchange.body.strip() in (b"{}", b"")


async def speaks_tls(ctx: ProbeContext, address: str, port: int) -> bool:
    """Send a plain request and see whether a TLS record comes back."""
    try:
        async with asyncio.timeout(ctx.budget()):
            reader, writer = await asyncio.open_connection(address, port)
            try:
                writer.write(b"GET /v2/ HTTP/1.0\r\n\r\n")
                await writer.drain()
                ctx.network.idle.start()  # the loop only waits now (net/idle.py)
                head = await reader.read(8)
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return False
    return len(head) >= 2 and head[0] in (0x15, 0x16) and head[1] == 0x03


async def _hand_over_plain(ctx: ProbeContext, url: str) -> None:
    """A plain-HTTP endpoint: the TCP phase's connection carries the requests."""
    sock = ctx.state.extra.pop("tcp_socket", None)
    if sock is None:
        return
    if not url.startswith("http://") or ctx.state.proxy is not None or url != _same_port(ctx):
        sock.close()
        return
    from regdoctor.net.streams import PlainStream

    reader, writer = await asyncio.open_connection(sock=sock)
    stream = PlainStream(reader, writer)
    ctx.network.handover(ctx.state).put(ctx.target.host, ctx.target.port, stream)


def _same_port(ctx: ProbeContext) -> str:
    """The http:// /v2/ URL on the port the TCP phase dialled (its connection can carry
    the request only there)."""
    target = ctx.target
    host = f"[{target.host}]" if ":" in target.host else target.host
    port = "" if target.port == 80 else f":{target.port}"
    return f"http://{host}{port}/v2/"


class HttpPingProbe:
    id = "http"
    needs: tuple[str, ...] = ("tls",)

    def applies(self, target: Target) -> bool:
        return True

    def summary(self, observations: Sequence[Observation]) -> str:
        resp = next(
            (o for o in observations if o.kind == "http.response" and o.step == "v2"),
            first(observations, "http.response"),
        )
        if resp and resp.facts.get("status") is not None:
            text = f"HTTP {resp.facts['status']}"
            if resp.facts.get("auth_scheme"):
                text += f", {resp.facts['auth_scheme']} auth"
            return text
        return failure_summary(observations)

    async def run(self, ctx: ProbeContext) -> AsyncIterator[Observation]:
        url = f"{base_url(ctx)}/v2/"
        prefetched = ctx.state.extra.pop("v2_prefetched", None)
        if isinstance(prefetched, Exchange) and prefetched.url == url:
            # sent by the TLS phase over the session it made (net/handover.py)
            exchange = prefetched
            ctx.state.extra.setdefault("phase_ms", {})["http"] = exchange.duration_ms
        else:
            await _hand_over_plain(ctx, url)
            if url.startswith("http://"):
                send_manifest_beside_ping(ctx)  # on the spare, while /v2/ takes the kept one
            exchange = await fetch(ctx, "GET", url)
        if (
            exchange.outcome in ("protocol_error", "error")
            and url.startswith("http://")
            and ctx.state.address is not None
            and ctx.state.proxy is None
            and await speaks_tls(ctx, ctx.state.address, ctx.target.port)
        ):
            exchange.outcome = "tls_on_http"
            exchange.error = f"the server speaks TLS on port {ctx.target.port}: use https://"
        if exchange.outcome == "response" and exchange.truncated:
            # A registry answers /v2/ with "{}": megabytes (or an endless stream) mean
            # something else answers. Reading stopped at the cap.
            exchange.outcome = "too_large"
            exchange.error = (
                f"HTTP {exchange.status} with a body larger than "
                f"{ctx.options.body_limit // 1024} KiB: stopped reading"
            )
        is_registry = exchange.outcome == "response" and looks_like_registry(exchange)
        status = exchange.status or 0
        ok = is_registry and status in (200, 401)
        observation = observe_exchange(
            ctx, exchange, phase="http", step="v2", ok=ok, extra={"is_registry": is_registry}
        )
        ctx.state.extra["v2"] = exchange
        yield observation
        if ok:
            ctx.state.verdict("http", PhaseStatus.OK)
        elif exchange.outcome == "response" and not is_registry:
            ctx.state.verdict(
                "http",
                PhaseStatus.FAILED,
                f"HTTP {status}: this endpoint does not answer like a registry",
            )
        else:
            ctx.state.verdict("http", PhaseStatus.FAILED, observation.error)
