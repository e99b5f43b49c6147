"""``regdoctor bench``: pull speed per endpoint (the upstream and each ``--via`` mirror):
TCP connect and ``/v2/`` time to first byte, manifest time, and the throughput of
downloading the image's largest layer (or ``--bytes N`` of it, with ``Range``),
streamed and discarded into one reused buffer (memory stays flat whatever the size).

A redirect to blob storage (S3, a CDN) is followed without the registry's credentials.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from regdoctor.model import Observation, Target
from regdoctor.net.network import Network
from regdoctor.options import CheckOptions, SystemClock
from regdoctor.probes.manifest_request import ACCEPT, INDEX_TYPES, MANIFEST_LIMIT
from regdoctor.reference.targets import parse_target
from regdoctor.tags.session import RepoSession, open_session

CHUNK = 1024 * 1024
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class BenchOptions:
    image: str
    via: tuple[str, ...] = ()
    have: str | None = None
    bytes: int | None = None
    min_throughput_mbps: float | None = None
    platform: str = "linux/amd64"


@dataclass
class EndpointResult:
    endpoint: str
    role: str
    target: Target
    session: RepoSession | None = None
    outcome: str = "ok"
    error: str | None = None
    connect_ms: float | None = None
    ttfb_ms: float | None = None
    manifest_ms: float | None = None
    layer: str | None = None
    bytes: int = 0
    seconds: float = 0.0
    range: bool = False
    image_bytes: int | None = None
    unshared_bytes: int | None = None
    layers: list[tuple[str, int]] = field(default_factory=list)

    @property
    def throughput_mbps(self) -> float | None:
        if not self.bytes or self.seconds <= 0:
            return None
        return round(self.bytes / self.seconds / 1e6, 1)


async def _connect_ms(session: RepoSession) -> float | None:
    target = session.target
    addresses = await session.network.addresses_for(target.host, session.ctx.options.timeout)
    start = time.perf_counter()
    try:
        async with asyncio.timeout(session.ctx.budget()):
            _reader, writer = await asyncio.open_connection(addresses[0], target.port)
    except (OSError, TimeoutError):
        return None
    elapsed = (time.perf_counter() - start) * 1000
    writer.close()
    return round(elapsed, 2)


async def _manifest(session: RepoSession, reference: str, platform: str) -> tuple[Any, float]:
    start = time.perf_counter()
    exchange = await session.fetch(
        "GET",
        session.manifest_url(reference),
        headers={"Accept": ACCEPT},
        body_limit=MANIFEST_LIMIT,
    )
    document = exchange.json() if exchange.status == 200 else None
    media = (exchange.header("content-type") or "").split(";")[0]
    if isinstance(document, dict) and (media in INDEX_TYPES or "manifests" in document):
        from regdoctor.probes.image import platform_matches, platform_string

        entries = [e for e in document.get("manifests") or [] if isinstance(e, dict)]
        chosen = next(
            (
                e
                for e in entries
                if isinstance(e.get("platform"), dict)
                and platform_matches(platform, platform_string(e["platform"]))
            ),
            entries[0] if entries else None,
        )
        if chosen is not None:
            exchange = await session.fetch(
                "GET",
                session.manifest_url(str(chosen.get("digest"))),
                headers={"Accept": ACCEPT},
                body_limit=MANIFEST_LIMIT,
            )
            document = exchange.json() if exchange.status == 200 else None
    if exchange.status != 200:
        raise RuntimeError(exchange.error_message or exchange.error or f"HTTP {exchange.status}")
    return document, round((time.perf_counter() - start) * 1000, 2)


def _layers(document: Any) -> list[tuple[str, int]]:
    layers = document.get("layers") if isinstance(document, dict) else None
    out = []
    for layer in layers or []:
        if isinstance(layer, dict) and isinstance(layer.get("digest"), str):
            size = layer.get("size")
            out.append((layer["digest"], size if isinstance(size, int) else 0))
    return out


class _NotSimple(Exception):
    """The answer needs the general client (redirect, chunked encoding...)."""


def _socket_download(
    host: str,
    address: str,
    port: int,
    path: str,
    headers: dict[str, str],
    ssl_context: Any,
    timeout: float,
    limit: int | None,
    progress: Callable[[int], None] | None,
) -> tuple[int, bool]:
    """GET over one blocking socket, read with ``recv_into`` into one reused 1 MiB
    buffer: the fast path (no per-chunk objects), memory stays flat."""
    sock = socket.create_connection((address, port), timeout=timeout)
    try:
        if ssl_context is not None:
            sock = ssl_context.wrap_socket(sock, server_hostname=host)
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        head = b""
        while b"\r\n\r\n" not in head:
            n = sock.recv_into(view)
            if not n:
                raise OSError("connection closed before the answer")
            head += bytes(view[:n])
            if b"\r\n\r\n" not in head and len(head) > 64 * 1024:
                raise OSError("response headers too large")
        raw, _, rest = head.partition(b"\r\n\r\n")
        text = raw.decode("latin-1").split("\r\n")
        status = int(text[0].split(" ", 2)[1])
        fields = {}
        for line in text[1:]:
            name, _sep, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if status not in (200, 206) or "content-length" not in fields:
            raise _NotSimple(status)
        total = int(fields["content-length"])
        if limit is not None:
            total = min(total, limit)
        received = min(len(rest), total)
        if progress is not None and received:
            progress(received)
        while received < total:
            n = sock.recv_into(view, min(CHUNK, total - received))
            if not n:
                raise OSError(f"connection closed after {received} of {total} bytes")
            received += n
            if progress is not None:
                progress(n)
        return received, status == 206
    finally:
        sock.close()


async def download(
    session: RepoSession,
    digest: str,
    *,
    limit: int | None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, float, bool]:
    """Stream one blob; the socket fast path unless a proxy or a redirect is involved."""
    url = f"{session.base}/v2/{session.repository}/blobs/{digest}"
    if session.network.proxy_for(url) is None:
        from regdoctor.tags.scan import _ssl_context

        target = session.target
        headers = {"User-Agent": "regdoctor"}
        if session.authorization is not None:
            headers["Authorization"] = session.authorization.reveal()
        if limit is not None:
            headers["Range"] = f"bytes=0-{limit - 1}"
        timeout = session.ctx.options.timeout
        addresses = await session.network.addresses_for(target.host, timeout)
        start = time.perf_counter()
        try:
            received, ranged = await asyncio.to_thread(
                _socket_download,
                target.host,
                addresses[0],
                target.port,
                urlsplit(url).path,
                headers,
                _ssl_context(session),
                timeout,
                limit,
                progress,
            )
            return received, time.perf_counter() - start, ranged
        except _NotSimple:
            pass  # a redirect to blob storage, chunked encoding: the general client
    return await _client_download(session, digest, limit=limit, progress=progress)


async def _client_download(
    session: RepoSession,
    digest: str,
    *,
    limit: int | None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, float, bool]:
    """Stream one blob into a reused buffer; returns (bytes, seconds, range honoured)."""
    client = session.ctx.http_client()
    url = f"{session.base}/v2/{session.repository}/blobs/{digest}"
    headers: dict[str, str] = {}
    if session.authorization is not None:
        headers["Authorization"] = session.authorization.reveal()
    if limit is not None:
        headers["Range"] = f"bytes=0-{limit - 1}"
    origin = urlsplit(url).netloc
    timeout = session.ctx.options.timeout
    start = time.perf_counter()
    received = 0
    for _ in range(MAX_REDIRECTS + 1):
        async with client.stream("GET", url, headers=headers, timeout=timeout) as response:
            if response.status_code in (301, 302, 303, 307, 308):
                url = urljoin(url, response.headers.get("location", ""))
                if urlsplit(url).netloc != origin:
                    headers.pop("Authorization", None)  # never forward credentials
                continue
            if response.status_code not in (200, 206):
                raise RuntimeError(f"blob {digest}: HTTP {response.status_code}")
            ranged = response.status_code == 206
            async for chunk in response.aiter_raw(CHUNK):
                received += len(chunk)
                if progress is not None:
                    progress(len(chunk))
                if limit is not None and received >= limit:
                    break
            return received, time.perf_counter() - start, ranged
    raise RuntimeError(f"blob {digest}: more than {MAX_REDIRECTS} redirects")


def _observation(result: EndpointResult, facts: dict[str, Any]) -> Observation:
    return Observation(
        kind="bench.endpoint",
        target=result.target.raw,
        ok=result.outcome == "ok",
        phase="image",
        facts=facts,
        error=result.error,
    )


async def run_bench(
    options: BenchOptions,
    check: CheckOptions,
    *,
    insecure: bool = False,
    progress_factory: Callable[[str, int], Callable[[int], None]] | None = None,
) -> list[EndpointResult]:
    clock = SystemClock()
    deadline_at = clock.monotonic() + check.deadline
    image = parse_target(options.image, insecure=insecure)
    if image.repository is None:
        raise ValueError(f"{options.image!r} is not an image reference")
    reference = image.reference or "latest"
    network = Network(check)
    endpoints = [(image, "upstream")]
    for mirror in options.via:
        t = parse_target(f"{mirror.rstrip('/')}/{image.repository}:{reference}", insecure=insecure)
        if image.digest:
            t = parse_target(
                f"{mirror.rstrip('/')}/{image.repository}@{image.digest}", insecure=insecure
            )
        endpoints.append((t, "mirror"))
    results: list[EndpointResult] = []
    try:
        have_layers: set[str] = set()
        for target, role in endpoints:
            result = EndpointResult(endpoint=target.registry, role=role, target=target)
            results.append(result)
            repo = Target(**{**target.to_dict(), "tag": None, "digest": None})
            session = await open_session(repo, check, network, clock=clock, deadline_at=deadline_at)
            result.session = session
            if not session.ok:
                result.outcome, result.error = "unreachable", session.error
                continue
            v2 = session.ctx.state.extra.get("v2")
            result.ttfb_ms = round(v2.ttfb_ms, 2) if v2 is not None and v2.ttfb_ms else None
            result.connect_ms = await _connect_ms(session)
            try:
                document, result.manifest_ms = await _manifest(session, reference, options.platform)
                result.layers = _layers(document)
                if options.have and role == "upstream":
                    have = parse_target(options.have, insecure=insecure)
                    have_session = session
                    if (have.registry, have.repository) != (target.registry, target.repository):
                        have_repo = Target(**{**have.to_dict(), "tag": None, "digest": None})
                        have_session = await open_session(
                            have_repo, check, network, clock=clock, deadline_at=deadline_at
                        )
                    have_doc, _ = await _manifest(
                        have_session, have.reference or "latest", options.platform
                    )
                    have_layers = {d for d, _s in _layers(have_doc)}
                result.image_bytes = sum(s for _d, s in result.layers)
                result.unshared_bytes = sum(s for d, s in result.layers if d not in have_layers)
                if not result.layers:
                    raise RuntimeError("the manifest lists no layers")
                digest, size = max(result.layers, key=lambda pair: pair[1])
                result.layer = digest
                want = min(options.bytes, size) if options.bytes else None
                progress = (
                    progress_factory(f"{role} {target.registry}", want or size)
                    if progress_factory
                    else None
                )
                result.bytes, result.seconds, result.range = await download(
                    session, digest, limit=want, progress=progress
                )
            except (RuntimeError, OSError) as exc:
                result.outcome, result.error = "error", str(exc)
            except Exception as exc:  # HTTP errors: the endpoint's result, not a crash
                result.outcome, result.error = "error", f"{type(exc).__name__}: {exc}"
    finally:
        await network.aclose()
    return results


def observations(results: list[EndpointResult], options: BenchOptions) -> list[Observation]:
    upstream = next((r for r in results if r.role == "upstream"), None)
    up_rate = upstream.throughput_mbps if upstream else None
    out = []
    for result in results:
        rate = result.throughput_mbps
        below = (
            options.min_throughput_mbps is not None
            and rate is not None
            and rate < options.min_throughput_mbps
        )
        slower = bool(
            result.role == "mirror" and rate is not None and up_rate is not None and rate < up_rate
        )
        facts = {
            "endpoint": result.endpoint,
            "role": result.role,
            "mirror_of": upstream.endpoint if upstream and result.role == "mirror" else None,
            "outcome": result.outcome,
            "connect_ms": result.connect_ms,
            "ttfb_ms": result.ttfb_ms,
            "manifest_ms": result.manifest_ms,
            "bytes": result.bytes,
            "seconds": round(result.seconds, 3),
            "throughput_mbps": rate,
            "range": result.range,
            "image_bytes": result.image_bytes,
            "unshared_bytes": result.unshared_bytes,
            "min_throughput_mbps": options.min_throughput_mbps,
            "below_min": below,
            "upstream_throughput_mbps": up_rate if result.role == "mirror" else None,
            "slower_than_upstream": slower,
        }
        out.append(_observation(result, facts))
    return out
