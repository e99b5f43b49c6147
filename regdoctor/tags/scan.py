"""List a repository's tags (paginated, capped, loop-safe) and resolve every tag's
digest with bounded concurrency: ``HEAD`` with the four manifest ``Accept`` types, and
``GET`` (hashing the body) only where a ``HEAD`` answer carries no digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin

from regdoctor.net.keepalive import HeadPool, LeanResponse
from regdoctor.probes.manifest_request import ACCEPT, MANIFEST_LIMIT
from regdoctor.tags.session import RepoSession

DEFAULT_PAGE_SIZE = 1000
MAX_PAGES = 100
MAX_TAGS = 100_000
TAGS_BODY_LIMIT = 32 * 1024 * 1024
DEFAULT_CONCURRENCY = 8

_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


@dataclass
class Listing:
    repository: str
    tags: list[str] = field(default_factory=list)
    pages: int = 0
    truncated: bool = False  # stopped at the cap
    loop: bool = False  # a next link or page repeated
    outcome: str = "ok"  # ok, name_unknown, unauthorized, denied, ratelimited,
    # server_error, invalid (not a tag list), not_found, error (no answer, other status)
    status: int | None = None
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def facts(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "outcome": self.outcome,
            "status": self.status,
            "count": len(self.tags),
            "pages": self.pages,
            "truncated": self.truncated,
            "loop": self.loop,
        }


def next_link(header: str | None, current: str) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header, absolute."""
    if not header:
        return None
    match = _LINK_NEXT.search(header)
    if not match:
        return None
    return urljoin(current, match.group(1).strip())


async def list_tags(
    session: RepoSession,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_pages: int = MAX_PAGES,
    max_tags: int = MAX_TAGS,
) -> Listing:
    """Follow ``Link: <...>; rel="next"``; without a Link, a full page (exactly ``n``
    tags) asks again with ``last=``. Stops at ``max_pages``/``max_tags`` (truncated), on a
    repeated URL or a page with nothing new (loop)."""
    start = time.monotonic()
    listing = Listing(session.repository)
    seen_tags: set[str] = set()
    seen_urls: set[str] = set()
    first = f"{session.base}/v2/{session.repository}/tags/list?" + urlencode({"n": page_size})
    url: str | None = first
    while url is not None:
        if url in seen_urls:
            listing.loop = True
            break
        if listing.pages >= max_pages:
            listing.truncated = True
            break
        seen_urls.add(url)
        exchange = await session.fetch("GET", url, body_limit=TAGS_BODY_LIMIT)
        listing.pages += 1
        listing.status = exchange.status
        if exchange.outcome != "response" or exchange.status != 200:
            listing.outcome = _failure(exchange.status, exchange.error_codes)
            listing.error = exchange.error_message or exchange.error or f"HTTP {exchange.status}"
            break
        data = exchange.json()
        page = data.get("tags") if isinstance(data, dict) else None
        if page is None and isinstance(data, dict) and "tags" in data:
            page = []  # a repository without tags answers "tags": null
        if not isinstance(page, list) or exchange.truncated:
            listing.outcome = "invalid"
            listing.error = "tags/list answer is not JSON with a tags list"
            break
        new = [t for t in page if isinstance(t, str) and t not in seen_tags]
        if page and not new:
            listing.loop = True  # the server sent the same page again
            break
        for tag in new:
            if len(listing.tags) >= max_tags:
                listing.truncated = True
                break
            seen_tags.add(tag)
            listing.tags.append(tag)
        if listing.truncated:
            break
        url = next_link(exchange.header("link"), url)
        if url is None and len(page) == page_size and page:
            # No Link, but a full page: registries that honour ``last`` without sending
            # Link. One that ignores ``last`` sends the same page again: a loop, above.
            url = f"{session.base}/v2/{session.repository}/tags/list?" + urlencode(
                {"n": page_size, "last": page[-1]}
            )
    listing.duration_ms = round((time.monotonic() - start) * 1000, 2)
    return listing


def _failure(status: int | None, codes: list[str]) -> str:
    if status == 404:
        return "name_unknown" if "NAME_UNKNOWN" in codes or not codes else "not_found"
    return {401: "unauthorized", 403: "denied", 429: "ratelimited"}.get(
        status or 0, "server_error" if (status or 0) >= 500 else "error"
    )


@dataclass
class TagInfo:
    tag: str
    digest: str | None = None
    media_type: str | None = None
    size: int | None = None
    outcome: str = (
        "found"  # found, manifest_unknown, unauthorized, denied, ratelimited, server_error, error
    )
    status: int | None = None
    error: str | None = None
    method: str = "HEAD"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "tag": self.tag,
            "digest": self.digest,
            "media_type": self.media_type,
        }
        if self.size is not None:
            data["size"] = self.size
        if self.outcome != "found":
            data.update({"outcome": self.outcome, "status": self.status, "error": self.error})
        return data


@dataclass
class Resolution:
    tags: dict[str, TagInfo] = field(default_factory=dict)
    head_requests: int = 0
    get_requests: int = 0
    connections: int | None = None  # TCP connections opened (lean path)
    concurrency: int = DEFAULT_CONCURRENCY
    client: str = "lean"  # lean, httpx (through a proxy: the name is kept)
    duration_ms: float = 0.0
    ratelimit: dict[str, str] = field(default_factory=dict)  # RateLimit-* of a HEAD

    def groups(self) -> dict[str, list[str]]:
        """digest -> its tags (sorted), for tags that resolved."""
        groups: dict[str, list[str]] = defaultdict(list)
        for info in self.tags.values():
            if info.digest:
                groups[info.digest].append(info.tag)
        return {d: sorted(t) for d, t in sorted(groups.items(), key=lambda kv: sorted(kv[1])[0])}

    def facts(self, repository: str) -> dict[str, Any]:
        found = [i for i in self.tags.values() if i.outcome == "found"]
        return {
            "repository": repository,
            "tags": len(self.tags),
            "resolved": len(found),
            "failed": len(self.tags) - len(found),
            "digests": len({i.digest for i in found if i.digest}),
            "head_requests": self.head_requests,
            "get_requests": self.get_requests,
            "connections": self.connections,
            "concurrency": self.concurrency,
            "client": self.client,
        }


def classify_status(status: int | None) -> str:
    if status is None:
        return "error"
    if status == 200:
        return "found"
    return {
        401: "unauthorized",
        403: "denied",
        404: "manifest_unknown",
        429: "ratelimited",
    }.get(status, "server_error" if status >= 500 else "error")


_RATELIMIT_HEADERS = (
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-source",
)


async def resolve_tags(
    session: RepoSession, tags: list[str], *, concurrency: int = DEFAULT_CONCURRENCY
) -> Resolution:
    """Resolve every tag to a digest; at most ``concurrency`` requests in flight and at
    most ``concurrency`` connections open."""
    start = time.monotonic()
    result = Resolution(concurrency=concurrency)
    ctx = session.ctx
    if ctx.network.proxy_for(session.base) is None:
        await _resolve_lean(session, tags, result)
    else:
        result.client = "httpx"
        await _resolve_httpx(session, tags, result)
    result.tags = {t: result.tags[t] for t in tags}
    result.duration_ms = round((time.monotonic() - start) * 1000, 2)
    return result


async def _resolve_lean(session: RepoSession, tags: list[str], result: Resolution) -> None:
    """HEADs over the lean keep-alive pool; the answers without a digest are fetched
    with GET afterwards."""
    ctx = session.ctx
    pool: HeadPool[str] = HeadPool(
        ctx.network,
        session.base,
        ssl_context=_ssl_context(session),
        size=min(result.concurrency, max(1, len(tags))),
        timeout=ctx.options.timeout,
        deadline=ctx.deadline_at,
    )
    headers = {"Accept": ACCEPT, "User-Agent": _user_agent()}
    if session.authorization is not None:
        headers["Authorization"] = session.authorization.reveal()
    prefix = f"/v2/{session.repository}/manifests/"
    found = result.tags
    without_digest: list[TagInfo] = []

    def on_answer(tag: str, response: LeanResponse) -> None:
        info = found[tag] = _answered(tag, response.status, response.headers, result)
        if info.outcome == "found" and not info.digest:
            without_digest.append(info)

    def on_error(tag: str, error: str) -> None:
        found[tag] = TagInfo(tag, outcome="error", error=error)

    result.head_requests += len(tags)
    try:
        await pool.run(
            tags, path=prefix.__add__, headers=headers, on_answer=on_answer, on_error=on_error
        )
    finally:
        result.connections = pool.opened
    if without_digest:
        semaphore = asyncio.Semaphore(result.concurrency)

        async def get(info: TagInfo) -> None:
            async with semaphore:
                await _get_manifest(session, info, result)

        await asyncio.gather(*(get(info) for info in without_digest))


async def _resolve_httpx(session: RepoSession, tags: list[str], result: Resolution) -> None:
    """Through a proxy: the check's HTTP client, which tunnels; ``concurrency`` workers."""
    queue = iter(tags)

    async def worker() -> None:
        for tag in queue:
            result.tags[tag] = await _resolve_one(session, tag, result)

    await asyncio.gather(*(worker() for _ in range(max(1, min(result.concurrency, len(tags))))))


async def _resolve_one(session: RepoSession, tag: str, result: Resolution) -> TagInfo:
    result.head_requests += 1
    exchange = await session.fetch("HEAD", session.manifest_url(tag), headers={"Accept": ACCEPT})
    if exchange.outcome != "response":
        return TagInfo(tag, outcome="error", error=exchange.error)
    info = _answered(tag, exchange.status, exchange.headers, result)
    if info.outcome == "found" and not info.digest:
        await _get_manifest(session, info, result)
    return info


def _answered(tag: str, status: int | None, headers: dict[str, str], result: Resolution) -> TagInfo:
    """What one HEAD answer says of a tag (``headers``: lower-case names)."""
    if not result.ratelimit and not headers.keys().isdisjoint(_RATELIMIT_HEADERS):
        ratelimit = {h: headers.get(h) for h in _RATELIMIT_HEADERS}
        result.ratelimit = {k: v for k, v in ratelimit.items() if v}
    info = TagInfo(tag, status=status, outcome=classify_status(status))
    if info.outcome != "found":
        info.error = f"HTTP {status}"
        return info
    info.media_type = _media_type(headers.get("content-type"))
    info.digest = headers.get("docker-content-digest")
    length = headers.get("content-length")
    info.size = int(length) if length and length.isdigit() else None
    return info


async def _get_manifest(session: RepoSession, info: TagInfo, result: Resolution) -> None:
    """A HEAD answer without a digest: GET the manifest and hash it."""
    result.get_requests += 1
    info.method = "GET"
    exchange = await session.fetch(
        "GET",
        session.manifest_url(info.tag),
        headers={"Accept": ACCEPT},
        body_limit=MANIFEST_LIMIT,
    )
    if exchange.status != 200 or exchange.truncated:
        info.outcome = classify_status(exchange.status) if exchange.status != 200 else "error"
        info.error = exchange.error or f"HTTP {exchange.status}"
        return
    info.digest = exchange.header("docker-content-digest") or (
        "sha256:" + hashlib.sha256(exchange.body).hexdigest()
    )
    info.media_type = _media_type(exchange.header("content-type")) or info.media_type
    info.size = len(exchange.body)


def _media_type(value: str | None) -> str | None:
    return (value or "").split(";")[0].strip() or None


def _ssl_context(session: RepoSession) -> Any:
    if not session.base.startswith("https://"):
        return None
    ctx, state = session.ctx, session.ctx.state
    if state.ssl_context is not None:
        return state.ssl_context
    pair, _ = ctx.network.client_pair(ctx.target.hostport)
    return ctx.network.ssl_context(
        ctx.target.hostport, enforced=state.verify_enforced, client_cert=pair
    )


def _user_agent() -> str:
    from regdoctor import __version__

    return f"regdoctor/{__version__}"


def ratelimit_facts(headers: dict[str, str]) -> dict[str, Any] | None:
    """``RateLimit-Limit: 100;w=21600`` etc. -> ``ratelimit.status`` facts."""
    if not headers:
        return None

    def number(name: str) -> int | None:
        value = (headers.get(name) or "").split(";", 1)[0].strip()
        return int(value) if value.isdigit() else None

    limit_header = headers.get("ratelimit-limit") or ""
    window = None
    if "w=" in limit_header:
        raw = limit_header.split("w=", 1)[1].split(";")[0].strip()
        window = int(raw) if raw.isdigit() else None
    return {
        "limit": number("ratelimit-limit"),
        "remaining": number("ratelimit-remaining"),
        "reset_s": number("ratelimit-reset"),
        "window_s": window,
        "source": headers.get("ratelimit-source"),
    }
