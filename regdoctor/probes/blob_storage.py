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
``tlsClientConfig``), so the storage host's certificate is judged per runtime with
that runtime's trust for the registry (``peer_host.judged_per_runtime``). Go's
``http.Client`` drops the ``Authorization`` header on a redirect to another domain but
keeps it for the same host or a subdomain (net/http shouldCopyHeaderOnRedirect):
containerd and containers/image set it on the request before ``Do``, so they send the
registry's token to ``storage.registry.example``; dockerd's transport adds it only for
hosts it holds a challenge for (fact ``same_domain``). This look never follows the
redirect and sends no credentials to the storage host: the TLS look there sends one
``GET /v2/`` without credentials (``confirm``, to surface a TLS 1.3 alert).

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

from regdoctor.model import Observation
from regdoctor.probes.base import ProbeContext
from regdoctor.probes.exchange import fetch
from regdoctor.probes.manifest_request import looks_at_storage
from regdoctor.probes.peer_host import check_realm_host
from regdoctor.redact.secrets import redact

#: The most of a manifest or config blob read (the answer's status is what counts).
_LIMIT = 256 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)


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
        # ":0" is port 0 as Go dials it (refused), not the scheme's default
        port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
    except ValueError:
        return  # a hostile Location (a port that is no number): no host to look at
    if parts.scheme not in ("http", "https") or not host:
        return
    proxy = ctx.network.proxy_for(storage_url)
    env = ctx.network.proxy_env
    variable = env.choose(storage_url).variable if env is not None else None
    invalid = _invalid_host(host)
    if invalid:
        # Go's resolver refuses such a name before any query (net/dnsclient.go
        # isDomainName): "no such host" for every runtime
        observations: list[Observation] = []
        problem: str | None = f"not a valid host name ({invalid}): no such host"
    elif proxy:
        observations, problem = [], None  # the proxy reaches it, not this machine
    else:
        observations, problem = await check_realm_host(ctx, storage_url, set(), role="storage")
    for observation in observations:
        yield observation
    shown = host if len(host) <= 255 else host[:255] + "..."
    facts = {
        "digest": digest,
        "status": exchange.status,
        "location": redact(storage_url[:2048]),
        "storage_host": shown,
        "storage_port": port,
        "storage_scheme": parts.scheme,
        "storage_hostport": f"{shown}:{port}",
        "via_proxy": redact(proxy) if proxy else None,
        "via_proxy_env": (variable or f"{parts.scheme.upper()}_PROXY") if proxy else None,
        "outcome": "unreachable" if problem else ("via_proxy" if proxy else "reached"),
        "same_domain": _same_domain(host, ctx.target.host),
    }
    verify = next(
        (o for o in observations if o.kind == "tls.verify" and o.facts.get("role") == "storage"),
        None,
    )
    if problem and verify is not None and not verify.ok and verify.error == problem:
        # a certificate only some runtimes refuse (the others trust it with the registry's
        # CA files, or skip verification for the registry): the problem is theirs
        runtimes = verify.facts.get("runtimes")
        if isinstance(runtimes, list):
            facts["runtimes"] = runtimes
    yield ctx.observe(
        "image.blob",
        ok=problem is None,
        phase="image",
        facts=facts,
        error=f"blob storage {shown}:{port}: {problem}" if problem else None,
    )


def _same_domain(host: str, registry: str) -> bool:
    """The storage host is the registry's host or a subdomain of it: there Go's
    ``http.Client`` keeps the ``Authorization`` header set on the request before ``Do``
    (net/http client.go shouldCopyHeaderOnRedirect, isDomainOrSubdomain), so containerd
    (remotes/docker/resolver.go sets it on the request) and containers/image
    (docker_client.go setupRequestAuth) send the registry's token there too; dockerd's
    token is added by its transport only for hosts it holds a challenge for, so not."""
    host, registry = host.lower().rstrip("."), registry.lower().rstrip(".")
    if host == registry:
        return True
    from regdoctor.reference.targets import is_ip_literal

    return not is_ip_literal(host) and host.endswith("." + registry)


def _invalid_host(host: str) -> str | None:
    """Why ``host`` is no host name a runtime can look up (None: it is one): an empty
    label, a label over 63 bytes, a name over 253, or one IDNA cannot encode."""
    from regdoctor.reference.targets import is_ip_literal

    if is_ip_literal(host):
        return None
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253:
        return "longer than 253 characters"
    labels = name.split(".")
    if any(not label for label in labels):
        return "an empty label"
    if any(len(label) > 63 for label in labels):
        return "a label longer than 63 characters"
    try:
        name.encode("idna")
    except UnicodeError:
        return "not encodable as IDNA"
    return None
