"""Where the image's blobs come from. A registry that keeps its blobs elsewhere (S3, a
CDN, distribution's ``redirect`` storage middleware) answers a blob request with a
redirect to that host: ``/v2/`` and the manifest work, and every runtime then fails on
the first blob at the storage host. The image probe asks for the config blob of the
image this machine would pull (the first blob every runtime fetches) and, when it is
redirected to another host, checks that host's DNS, TCP and TLS (role ``storage``).

The runtimes follow the redirect with the registry's own HTTP client (moby v20.10.24
distribution/registry.go: one ``http.Client`` over the endpoint's TLS configuration;
containerd v1.6.20 remotes/docker: the host's ``Client`` from its hosts.toml entry;
containers/image v5.23.1 docker/docker_client.go: the registry's certs.d
``tlsClientConfig``), so the storage host's certificate is checked against the
registry's trust, and the registry's credentials are never sent there (Go drops the
``Authorization`` header on a redirect to another host).

It costs one round trip on a healthy check of a single-platform image (the blob's
``GET``): where it runs, the image probe sends ``GET`` for the manifest where it would
send ``HEAD`` (:func:`looks_at_storage`) and hands its body over, so the manifest is
asked for once. An index costs one more: its entry for this machine (a manifest
``GET``). It is skipped for Docker Hub and its mirrors, where every manifest ``GET``
counts as a pull against the rate limit (check spends none there: it sends ``HEAD``,
which does not count).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

from regdoctor.model import Observation, Target
from regdoctor.probes.base import ProbeContext
from regdoctor.probes.exchange import fetch
from regdoctor.probes.peer_host import check_realm_host
from regdoctor.redact.secrets import redact
from regdoctor.reference.dockerhub import DOMAIN as DOCKER_HUB

#: The most of a manifest or config blob read (the answer's status is what counts).
_LIMIT = 256 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)


def looks_at_storage(target: Target) -> bool:
    """Whether the blob look runs for ``target`` (then the image probe asks for the
    manifest with ``GET``, its body being the look's first step): everywhere but Docker
    Hub and its mirrors, where a manifest ``GET`` counts against the pull rate limit."""
    return DOCKER_HUB not in (target.registry, target.mirror_of)


def _config_digest(document: Any) -> str | None:
    config = document.get("config") if isinstance(document, dict) else None
    digest = config.get("digest") if isinstance(config, dict) else None
    return digest if isinstance(digest, str) and digest.startswith("sha256:") else None


async def _child(ctx: ProbeContext, url: str, headers: dict[str, str]) -> Any:
    """The manifest of an index's entry (the index's body names no config blob)."""
    exchange = await fetch(
        ctx,
        "GET",
        url,
        headers=headers,
        authorization=ctx.state.authorization,
        body_limit=_LIMIT,
        label="GET manifest (the index's entry for this machine)",
    )
    if exchange.status != 200 or exchange.truncated:
        return None
    try:
        return json.loads(exchange.body)
    except (ValueError, RecursionError):
        return None


async def storage_look(
    ctx: ProbeContext,
    base: str,
    headers: dict[str, str],
    document: Any,
    child_digest: Callable[[dict[str, Any]], str | None],
) -> AsyncIterator[Observation]:
    """The config blob's request and, when it is redirected to another host, that
    host's DNS, TCP and TLS, then an ``image.blob`` observation (``ok`` false: the
    storage host cannot be used). Nothing when the image has no blob to ask for.
    ``document``: the manifest's body as the image probe's ``GET`` read it (None when
    it was no JSON, or cut at the read limit: then there is no blob to name);
    ``child_digest``: the entry of an index this machine pulls."""
    target = ctx.target
    if not looks_at_storage(target):
        return  # every manifest GET there counts as a pull against its rate limit
    if isinstance(document, dict) and isinstance(document.get("manifests"), list):
        child = child_digest(document)
        document = (
            await _child(ctx, f"{base}/v2/{target.repository}/manifests/{child}", headers)
            if child
            else None
        )
    digest = _config_digest(document)
    if digest is None:
        return
    blob_url = f"{base}/v2/{target.repository}/blobs/{digest}"
    exchange = await fetch(
        ctx, "GET", blob_url, authorization=ctx.state.authorization, body_limit=_LIMIT
    )
    location = exchange.header("location")
    if exchange.status not in _REDIRECTS or not location:
        return  # served by the registry itself (its own errors are the manifest's)
    try:
        storage_url = urljoin(blob_url, location)
        parts = urlsplit(storage_url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return  # a hostile Location (a port that is no number): no host to look at
    if parts.scheme not in ("http", "https") or not host:
        return
    proxy = ctx.network.proxy_for(storage_url)
    observations, problem = await check_realm_host(ctx, storage_url, set(), role="storage")
    for observation in observations:
        yield observation
    facts = {
        "digest": digest,
        "status": exchange.status,
        "location": redact(storage_url[:2048]),
        "storage_host": host,
        "storage_port": port,
        "storage_scheme": parts.scheme,
        "storage_hostport": f"{host}:{port}",
        "via_proxy": redact(proxy) if proxy else None,
        "outcome": "unreachable" if problem else "reached",
    }
    yield ctx.observe(
        "image.blob",
        ok=problem is None,
        phase="image",
        facts=facts,
        error=f"blob storage {host}:{port}: {problem}" if problem else None,
    )
