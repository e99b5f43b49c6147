"""regdoctor's HTTP client: httpcore's connection pools, one per proxy, behind the one
call the probes make (``stream(method, url, headers=..., extensions=...)``).

It does what ``httpx.AsyncClient`` with a dispatching transport did for regdoctor, and
no more (httpx's client, models, cookie jar, ``urllib.request`` and ``email`` cost
about 35 ms of start-up):

- per request, the proxy the environment names for the URL (``Network.proxy_for``),
  and one pool per proxy (``AsyncConnectionPool``, or ``AsyncHTTPProxy`` which forwards
  plain HTTP and tunnels HTTPS), each with the run's pinned network backend;
- the request line and headers httpx wrote: ``Host`` first (the port only when it is
  not the scheme's), then httpx's defaults (``Accept: */*``, ``Accept-Encoding: gzip,
  deflate``, ``Connection: keep-alive``, the ``User-Agent``) less those the request
  sets, then the request's own headers in their order; user information in the URL
  becomes ``Authorization: Basic`` as httpx made it;
- the URL's target percent-encoded as httpx (the WHATWG percent-encode sets) did:
  a realm or redirect from a hostile server with a space, a quote or a non-ASCII
  character still makes a valid request line, and nothing it says can split the
  request; dot segments of the path are removed; a non-ASCII host is IDNA-encoded;
- the timeout (one value for connect, read, write and the pool wait), no redirects
  (a 3xx is the answer), httpcore's request extensions passed through (``trace``);
- the response as the callers read it: ``status_code``, ``headers`` (names in lower
  case, repeated headers joined by ", "; decoded as ASCII, else UTF-8, else Latin-1),
  ``aread()``, ``aiter_raw()``.

Unlike httpx, cookies a server sets are not sent back: Go's clients (docker,
containerd, podman) have no cookie jar either. Failures are httpcore's exceptions
(``ConnectError``, ``ReadTimeout``, ``ProxyError``...: the names and texts httpx
gave its own), and :class:`InvalidURL` for a URL no request can be made of.
"""

from __future__ import annotations

import base64
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

from regdoctor.net.lean_httpcore import httpcore

#: What httpx sent unless the request said otherwise, in httpx's order.
DEFAULT_HEADERS = (
    ("Accept", "*/*"),
    ("Accept-Encoding", "gzip, deflate"),
    ("Connection", "keep-alive"),
)
#: Connections per pool (per proxy), as before.
MAX_CONNECTIONS = 8
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
#: Characters a path or query may carry as they are (visible ASCII less the WHATWG
#: percent-encode sets httpx applies); anything else is percent-encoded as UTF-8.
_QUERY_SAFE = frozenset(chr(i) for i in range(0x21, 0x7F)) - set('"#<>')
_PATH_SAFE = _QUERY_SAFE - set("?`{}")
_PERCENT = re.compile(r"%[A-Fa-f0-9]{2}")


class InvalidURL(ValueError):
    """A URL no request can be made of (a port that is not a number, a host with spaces
    or one IDNA cannot encode...). A URL without a host is httpx's
    ``UnsupportedProtocol``, as httpx named it."""


class Target:
    """A URL as it goes on the wire: httpcore's URL, the ``Host`` header, and the
    user information it carried (for Basic authorization)."""

    __slots__ = ("host_header", "url", "userinfo")

    def __init__(self, url: httpcore.URL, host_header: bytes, userinfo: bytes | None) -> None:
        self.url = url
        self.host_header = host_header
        self.userinfo = userinfo


def parse_url(url: str) -> Target:
    """``url`` made into a request target, with httpx's normalisation (lower-case
    scheme and host, IDNA host, default port dropped, dot segments removed, what a
    request line may not carry percent-encoded). A control character anywhere is
    refused, as httpx and Go (``net/url: invalid control character in URL``) refuse it:
    ``urlsplit`` would silently drop a tab or a line break a server put in a realm."""
    for index, char in enumerate(url):
        if char < " " or char == "\x7f":
            raise InvalidURL(
                f"Invalid non-printable ASCII character in URL, {char!r} at position {index}."
            )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"Invalid URL {url[:200]!r}: {exc}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme in _DEFAULT_PORTS and not host:  # httpx's words for it
        raise httpcore.UnsupportedProtocol(
            "Request URL is missing an 'http://' or 'https://' protocol."
        )
    ascii_host = _ascii_host(host)
    if port == _DEFAULT_PORTS.get(scheme):
        port = None
    shown_host = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    host_header = shown_host if port is None else f"{shown_host}:{port}"
    path = _quote(_normalize_path(parts.path), _PATH_SAFE) or "/"
    target = path + ("?" + _quote(parts.query, _QUERY_SAFE) if parts.query else "")
    userinfo = None
    if parts.username or parts.password:  # an empty "@" sends no login (as httpx)
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        userinfo = f"{user}:{password}".encode()
    return Target(
        httpcore.URL(
            scheme=scheme.encode("ascii", "replace"),
            host=ascii_host.encode("ascii"),
            port=port,
            target=target.encode("ascii"),
        ),
        host_header.encode("ascii"),
        userinfo,
    )


def _ascii_host(host: str) -> str:
    if host.isascii():
        if any(c.isspace() or not c.isprintable() for c in host):
            raise InvalidURL(f"Invalid host {host[:200]!r}")
        return host
    import idna  # IDNA 2008 with UTS 46, as httpx and Go (faß.de is xn--fa-hia.de)

    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise InvalidURL(f"Invalid IDNA hostname: {host[:200]!r}") from exc


def _normalize_path(path: str) -> str:
    """RFC 3986 dot-segment removal, as httpx does it."""
    if "." not in path:
        return path
    components = path.split("/")
    if "." not in components and ".." not in components:
        return path
    output: list[str] = []
    for component in components:
        if component == ".":
            continue
        if component == "..":
            if output and output != [""]:
                output.pop()
        else:
            output.append(component)
    return "/".join(output)


def _quote(text: str, safe: frozenset[str]) -> str:
    """Percent-encode what ``safe`` does not allow; ``%xx`` escapes stay as they are."""
    if all(c in safe for c in text):
        return text
    out: list[str] = []
    position = 0
    for match in _PERCENT.finditer(text):
        out.append(_encode(text[position : match.start()], safe))
        out.append(match.group(0))
        position = match.end()
    out.append(_encode(text[position:], safe))
    return "".join(out)


def _encode(text: str, safe: frozenset[str]) -> str:
    return "".join(
        c if c in safe else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        for c in text
    )


def request_headers(
    target: Target, defaults: tuple[tuple[str, str], ...], headers: dict[str, str] | None
) -> list[tuple[bytes, bytes]]:
    """The header lines of one request, in the order httpx wrote them."""
    given = list((headers or {}).items())
    names = {name.lower() for name, _ in given}
    if target.userinfo is not None:  # httpx's BasicAuth from the URL: replaces any
        basic = "Basic " + base64.b64encode(target.userinfo).decode("ascii")
        if "authorization" in names:
            given = [(n, basic if n.lower() == "authorization" else v) for n, v in given]
        else:
            given.append(("Authorization", basic))
            names.add("authorization")
    lines = [(name, value) for name, value in defaults if name.lower() not in names]
    lines.extend(given)
    out = [] if "host" in names else [(b"Host", target.host_header)]
    for name, value in lines:
        try:
            out.append((name.encode("ascii"), value.encode("ascii")))
        except UnicodeEncodeError:  # httpx refused these too (before anything was sent)
            raise httpcore.LocalProtocolError(f"header {name[:100]!r}: not ASCII") from None
    return out


class Headers:
    """A response's headers as the callers read them (see the module's note)."""

    __slots__ = ("_items",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        encoding = _encoding(raw)
        joined: dict[str, str] = {}
        for name, value in raw:
            key = name.decode(encoding).lower()
            text = value.decode(encoding)
            joined[key] = f"{joined[key]}, {text}" if key in joined else text
        self._items = joined

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(self._items.items())

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._items.get(name.lower(), default)


def _encoding(raw: list[tuple[bytes, bytes]]) -> str:
    for encoding in ("ascii", "utf-8"):
        try:
            for name, value in raw:
                name.decode(encoding)
                value.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "iso-8859-1"


class Response:
    """One streamed response (valid inside :meth:`HttpClient.stream`)."""

    __slots__ = ("_inner", "headers", "status_code")

    def __init__(self, inner: httpcore.Response) -> None:
        self._inner = inner
        self.status_code = inner.status
        self.headers = Headers(inner.headers)

    async def aread(self) -> bytes:
        return await self._inner.aread()

    async def aiter_raw(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body as it arrives (not decoded); ``chunk_size`` is accepted for
        httpx's signature, chunks are the network's."""
        async for chunk in self._inner.aiter_stream():
            if chunk:
                yield chunk


class HttpClient:
    """The HTTP client of one target (``Network.client_for``)."""

    def __init__(
        self,
        *,
        proxy_for: Callable[[str], str | None],
        backend_for: Callable[[str | None], httpcore.AsyncNetworkBackend],
        ssl_context: ssl.SSLContext,
        timeout: float,
        user_agent: str,
    ) -> None:
        self._proxy_for = proxy_for
        self._backend_for = backend_for
        self._ssl_context = ssl_context
        self.timeout = timeout
        self._defaults = (*DEFAULT_HEADERS, ("User-Agent", user_agent))
        self._pools: dict[str | None, Any] = {}

    def pool_for(self, proxy: str | None) -> Any:
        """The pool requests through ``proxy`` (None: direct) go through."""
        pool = self._pools.get(proxy)
        if pool is not None:
            return pool
        backend = self._backend_for(proxy)
        if proxy:
            target = parse_url(proxy)
            auth = None
            if target.userinfo is not None:
                user, _, password = target.userinfo.partition(b":")
                auth = (user, password)
            pool = httpcore.AsyncHTTPProxy(
                proxy_url=target.url,
                proxy_auth=auth,
                ssl_context=self._ssl_context,
                max_connections=MAX_CONNECTIONS,
                network_backend=backend,
            )
        else:
            pool = httpcore.AsyncConnectionPool(
                ssl_context=self._ssl_context,
                max_connections=MAX_CONNECTIONS,
                network_backend=backend,
            )
        self._pools[proxy] = pool
        return pool

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[Response]:
        """Send one request; the response's body is read inside the block. Leaving it
        with the body unread closes the connection (it cannot be reused)."""
        target = parse_url(url)
        pool = self.pool_for(self._proxy_for(url))
        seconds = self.timeout if timeout is None else timeout
        request = httpcore.Request(
            method=method.encode("ascii"),
            url=target.url,
            headers=request_headers(target, self._defaults, headers),
            extensions={
                **(extensions or {}),
                "timeout": {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds},
            },
        )
        response = await _send(pool, request)
        try:
            yield Response(response)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()


#: Requests Go's Transport may send again (no body here: ``Request.isReplayable``).
_REPLAYABLE = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE"})
#: httpcore's words for an end of stream before the first byte of the answer.
_CLOSED_IDLE = "Server disconnected without sending a response."


async def _send(pool: Any, request: httpcore.Request) -> httpcore.Response:
    """Send ``request``; once more, on a new connection, when it went out on a kept-alive
    connection that failed before the first byte of the answer (the server had closed
    it, or closed it on seeing the request). Go's Transport does the same for a
    replayable request on a reused connection (net/http transport.go
    ``shouldRetryRequest``: nothing written, the server closed the idle connection, or a
    read failed before the first response byte), so docker, containerd and podman do not
    fail there, and the check must not either."""
    # an idle connection for the origin that is open (httpcore counts one that failed
    # to connect as idle and closed): the request goes out on it
    reused = request.method in _REPLAYABLE and any(
        c.is_idle() and not c.is_closed() and c.can_handle_request(request.url.origin)
        for c in pool.connections
    )
    start = time.monotonic()
    try:
        return await pool.handle_async_request(request)
    except (httpcore.ReadError, httpcore.WriteError, httpcore.RemoteProtocolError) as exc:
        before_answer = not isinstance(exc, httpcore.RemoteProtocolError) or (
            str(exc) == _CLOSED_IDLE
        )
        if not (reused and before_answer):
            raise
        # both attempts within the one timeout, as Go's context deadline covers both
        limits = request.extensions.get("timeout") or {}
        left = max(0.001, float(limits.get("read") or 0) - (time.monotonic() - start))
        if limits:
            request.extensions["timeout"] = {name: left for name in limits}
    return await pool.handle_async_request(request)
