"""The manifest request the image probe starts with, and sending it early: beside the
first ``GET /v2/`` (anonymous, on the spare connection the TCP phase connected with its
own) or beside the auth phase's authenticated ``GET /v2/``; the image probe takes the
answer when the auth phase ends with the authorization it was sent with. Apart from
``probes/image.py`` because the TLS and HTTP phases send it, and the image probe's
imports (the blob look, the realm's host) lead back to them.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Coroutine
from typing import Any

from regdoctor.model import Secret, Target
from regdoctor.net import roundtrips
from regdoctor.probes.base import ProbeContext
from regdoctor.probes.exchange import Exchange, fetch, origin
from regdoctor.probes.urls import base_url
from regdoctor.reference.dockerhub import DOMAIN as DOCKER_HUB

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_LIMIT = 4 * 1024 * 1024


def looks_at_storage(target: Target) -> bool:
    """Whether the blob look runs for ``target`` (then the image probe asks for the
    manifest with ``GET``, its body being the look's first step): everywhere but Docker
    Hub and its mirrors, where a manifest ``GET`` counts against the pull rate limit."""
    return DOCKER_HUB not in (target.registry, target.mirror_of)


def manifest_request(ctx: ProbeContext) -> tuple[str, dict[str, str]]:
    """The URL and headers of the manifest request this probe starts with."""
    target = ctx.target
    url = f"{base_url(ctx)}/v2/{target.repository}/manifests/{target.reference}"
    return url, {"Accept": ACCEPT}


def manifest_method(target: Target) -> str:
    """``GET`` where the blob look runs (it needs the manifest's body: one request, not
    a ``HEAD`` and then a ``GET``), else ``HEAD`` (Docker Hub and its mirrors, where a
    manifest ``GET`` counts against the pull rate limit and a ``HEAD`` does not)."""
    return "GET" if looks_at_storage(target) else "HEAD"


def send_manifest(
    ctx: ProbeContext, method: str, url: str, headers: dict[str, str], authorization: Secret | None
) -> Coroutine[Any, Any, Exchange]:
    """The manifest request; a ``GET`` reads the body up to :data:`MANIFEST_LIMIT`."""
    return fetch(
        ctx,
        method,
        url,
        headers=headers,
        authorization=authorization,
        body_limit=MANIFEST_LIMIT if method == "GET" else None,
    )


def send_head_beside(ctx: ProbeContext, authorization: Secret) -> None:
    """Send this probe's manifest request (``HEAD``, or ``GET`` where the blob look
    runs: :func:`manifest_method`) now, with ``authorization``, beside the auth
    phase's last request (its authenticated ``GET /v2/``): the two do not depend on
    each other, so the check need not wait a round trip between them. Only when a spare
    connection to the registry is at hand (it goes there, or on the idle connection);
    the probe uses the answer only if the auth phase passed with the same
    authorization (:func:`sent_beside`), else it is dropped. Not while an
    optional probe's request holds a connection to the registry: the two requests would
    need a third connection, dialled, which costs more than the round trip saved."""
    _send_beside(ctx, authorization, "the authenticated GET /v2/", spare_first=False)


def anonymous_beside(ctx: ProbeContext) -> bool:
    """Whether this check sends its manifest request, anonymous, beside the first
    ``GET /v2/`` (:func:`send_manifest_beside_ping`), on the early spare the TCP phase
    connects for it: for an image, not on Docker Hub (which answers every anonymous
    manifest request 401), not where the check has credentials for the registry (``-u``,
    or the configuration names some: the registry most likely wants them, and the
    request would be a wasted one)."""
    from regdoctor.reference.dockerhub import is_hub

    target = ctx.target
    return (
        target.is_image
        and not is_hub(target.host)
        and ctx.options.credentials is None
        and target.credential is None
    )


def send_manifest_beside_ping(ctx: ProbeContext) -> None:
    """Send this probe's manifest request, anonymous, beside the HTTP phase's first
    ``GET /v2/`` (sent now by the caller, over the connection the TCP and TLS phases
    kept), on the early spare the TCP phase connected with its own: the manifest does
    not depend on the ping, and an anonymous registry answers both in one round trip.
    Used only if the auth phase passes without authorization (a registry that wants
    credentials answers 401, and the request is sent again with them)."""
    target = ctx.target
    if not anonymous_beside(ctx):
        return
    if not ctx.network.handover(ctx.state).has_spare(target.host, target.port, early=True):
        return
    _send_beside(ctx, None, "GET /v2/", spare_first=True)


def _send_beside(
    ctx: ProbeContext, authorization: Secret | None, beside: str, *, spare_first: bool
) -> None:
    from regdoctor.net.handover import SPARE_FIRST, Gate

    target = ctx.target
    if not target.is_image or target.repository is None or target.reference is None:
        return
    url, headers = manifest_request(ctx)
    # a request sent beside the first GET /v2/ left its connection in the client's pool:
    # the registry's connections are then one more than the critical path and the
    # optional probe hold, and the request goes at once without a spare
    pooled = spare_first or ctx.state.extra.get(_POOLED) == url
    if not pooled and not ctx.network.handover(ctx.state).has_spare(target.host, target.port):
        return
    gate = ctx.state.extra.get("gate")
    if not pooled and isinstance(gate, Gate) and gate.optional_in_flight(origin(url)):
        return
    if ctx.network.proxy_for(url) is not None:
        return
    context = contextvars.copy_context()
    context.run(roundtrips.off_path)
    if spare_first:
        context.run(SPARE_FIRST.set, True)
    method = manifest_method(target)
    task = asyncio.create_task(
        send_manifest(ctx, method, url, headers, authorization), context=context
    )
    previous = ctx.state.extra.get(_BESIDE)
    if isinstance(previous, tuple):
        previous[-1].cancel()
    sent = authorization.reveal() if authorization is not None else None
    ctx.state.extra[_BESIDE] = (url, method, sent, beside, task)
    if spare_first:
        ctx.state.extra[_POOLED] = url


_BESIDE = "manifest_head_beside"
_POOLED = "manifest_beside_pooled"


async def sent_beside(ctx: ProbeContext, url: str, method: str) -> Exchange | None:
    """The request :func:`send_head_beside` (or :func:`send_manifest_beside_ping`) sent,
    when it is the one this probe would send now (same URL and method, same
    authorization or none); the wait for it that remains is put on the critical path
    (none, usually: it overlapped the ``GET /v2/`` it went beside). None, and the probe
    sends the request again the usual way, when the request got no answer (its spare
    failed, closed or reset) or is not answered within :func:`_beside_patience` (a spare
    still connecting: a lost SYN waits a second): never a verdict from the spare."""
    entry = ctx.state.extra.pop(_BESIDE, None)
    if not isinstance(entry, tuple):
        return None
    sent_url, sent_method, sent_authorization, beside, task = entry
    authorization = ctx.state.authorization
    now = authorization.reveal() if authorization is not None else None
    if sent_url != url or sent_method != method or now != sent_authorization:
        await _cancel(task)
        return None
    start = time.monotonic()
    round_trip = _round_trip_ms(ctx)
    if not task.done() and round_trip is not None:
        await asyncio.wait({task}, timeout=_beside_patience(round_trip) / 1000)
        if not task.done():
            await _cancel(task)
            return None
    exchange: Exchange = await task
    waited = (time.monotonic() - start) * 1000
    if exchange.outcome != "response" or exchange.status is None:
        return None
    roundtrips.record(
        f"{method} manifest (beside {beside})",
        waited,
        # it went out with an earlier request: a wait of its own only if it came more
        # than half a round trip (the first GET /v2/'s) after the probe asked for it
        round_trips=1 if waited > (round_trip or exchange.duration_ms) / 2 else 0,
        host=origin(url),
    )
    return exchange


def _round_trip_ms(ctx: ProbeContext) -> float | None:
    """The first ``GET /v2/``'s time: the round trip the check measures on this link."""
    v2 = ctx.state.extra.get("v2")
    return v2.duration_ms if isinstance(v2, Exchange) and v2.duration_ms > 0 else None


def _beside_patience(round_trip_ms: float) -> float:
    """How long the image probe waits for a request sent beside before sending it again
    the usual way: two round trips and 200 ms (a manifest's body may take longer than
    its headers on a slow link; a spare whose SYN was lost waits a second)."""
    return 2 * round_trip_ms + 200


async def _cancel(task: asyncio.Task[Exchange]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def drop_head_beside(state: Any) -> None:
    """Cancel a manifest request sent beside the auth phase that no probe took (the
    auth phase failed): no task is left behind."""
    entry = state.extra.pop(_BESIDE, None)
    if isinstance(entry, tuple):
        entry[-1].cancel()
        await asyncio.gather(entry[-1], return_exceptions=True)
