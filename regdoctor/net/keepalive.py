"""A lean HTTP/1.1 keep-alive client for the one request a tag scan makes thousands of
times: ``HEAD /v2/NAME/manifests/TAG``.

Why not a general client: httpx spent about 1 ms of CPU per request, which caps a scan at ~1,000
HEADs/s on the same 2 cores the registry needs. Why not coroutines either: a worker task
per connection awaiting each answer costs a future, a task wake-up and a timeout per
request. Here each connection is an :class:`asyncio.BufferedProtocol` that parses the
answer as it is read and writes the next request from there: one ``recv`` into the
connection's own buffer and one ``send`` per HEAD, no task switch
(benchmarks/bench_tags.py).

It reuses what the run's :class:`~regdoctor.net.network.Network` decided: the pinned
addresses (``--dns-server``), the SSL context (``--ca-file``, certs.d, client
certificate, ``--insecure``). A proxied registry is not scanned with it: the caller
falls back to the check's HTTP client (``net/http_client.py``), which tunnels.

The pool never opens more than ``size`` connections at a time; a connection is
re-opened only when the server closed it (``Connection: close``, HTTP/1.0, or the usual
keep-alive race: a request on a kept-alive connection that the server closed is retried
once on a fresh one). ``opened`` counts every TCP connection made.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlsplit

from regdoctor.net.network import Network

#: What an HTTP/1.1 header value may hold (RFC 9110 field-value; latin-1 on the wire): a
#: token from a realm server with a line break must not add a header or a request.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")

MAX_HEADER_BYTES = 64 * 1024
READ_SIZE = 16 * 1024
#: what a request path may hold as it is; anything else is percent-encoded, so that a
#: tag a server listed cannot add a header or a request of its own
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"

T = TypeVar("T")


class LeanError(Exception):
    """The request got no HTTP answer (connect, TLS or protocol failure)."""


@dataclass
class LeanResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_head(head: bytes) -> tuple[LeanResponse, bool]:
    """A response head (status line and headers, without the blank line) -> the
    response, and whether the server closes the connection after it."""
    text = head.decode("latin-1")
    status_line, _, rest = text.partition("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise LeanError(f"not an HTTP answer: {status_line[:60]!r}")
    headers: dict[str, str] = {}
    for line in rest.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    closes = parts[0] == "HTTP/1.0" or headers.get("connection", "").lower() == "close"
    return LeanResponse(int(parts[1]), headers), closes


@dataclass(frozen=True)
class _Ended:
    """Why a connection stopped serving: ``error`` for ``item`` (None when the server
    closed it cleanly between answers), ``reused`` if it had answered before."""

    item: Any
    error: str | None
    reused: bool
    timeout: bool = False


class _Connection(asyncio.BufferedProtocol, Generic[T]):
    """One keep-alive connection driven from its callbacks: an answer is parsed and
    handed on, and the next request written, without waking a task. Reads go into one
    buffer of its own (``BufferedProtocol``): a plain ``Protocol`` gets a new 256 KiB
    bytes object per read, which cost more system time than the reads themselves."""

    def __init__(self, pool: HeadPool[T], first: T) -> None:
        self.pool = pool
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self._read = memoryview(bytearray(READ_SIZE))
        self.item: T | None = first
        self.answered = 0
        self.deadline = 0.0
        self.budget = 0.0
        self.timer: asyncio.TimerHandle | None = None
        #: resolved when this connection serves no more: None (every item taken), or
        #: an :class:`_Ended`
        self.ended: asyncio.Future[_Ended | None] = self.loop.create_future()

    # --- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read

    def buffer_updated(self, nbytes: int) -> None:
        buffer = self.buffer
        buffer += self._read[:nbytes]
        while self.item is not None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0 or end > MAX_HEADER_BYTES:
                if len(buffer) > MAX_HEADER_BYTES:
                    self._end(LeanError("response headers too large"))
                return
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            item = self.item
            try:
                response, closes = parse_head(head)
            except LeanError as exc:
                self._end(exc)
                return
            self.answered += 1
            self.item = None
            try:
                self.pool.on_answer(item, response)
            except BaseException as exc:  # the caller's bug: not a network outcome
                self._fail(exc)
                return
            if closes:
                self._end(None)
                return
            if not self._send_next():
                return
        if len(buffer) > MAX_HEADER_BYTES:  # unasked-for data
            self._end(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        error = LeanError(
            str(exc) or type(exc).__name__
            if exc is not None
            else "the server closed the connection without an answer"
        )
        self._end(error if self.item is not None else None)

    # --- requests -----------------------------------------------------------------

    def start(self) -> None:
        if self.transport is not None and not self.ended.done():
            self._write()

    def _send_next(self) -> bool:
        item = self.pool.take()
        if item is None:
            self._end(None)
            return False
        self.item = item
        self._write()
        return True

    def _write(self) -> None:
        assert self.transport is not None and self.item is not None
        pool = self.pool
        now = self.loop.time()
        self.budget = max(0.001, min(pool.timeout, pool.deadline - now))
        self.deadline = now + self.budget
        self.transport.write(pool.request(self.item))
        if self.timer is None:
            self.timer = self.loop.call_at(self.deadline, self._check_timeout)

    def _check_timeout(self) -> None:
        # One timer per connection, moved on lazily: a request that was answered in
        # time leaves it to fire early, and it is set again for the current request.
        self.timer = None
        if self.item is None or self.ended.done():
            return
        if self.loop.time() >= self.deadline:
            self._end(LeanError(f"no answer within {self.budget:g}s"), timeout=True)
        else:
            self.timer = self.loop.call_at(self.deadline, self._check_timeout)

    def _close(self, *, clean: bool) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            # a stream left mid-answer, or one the server ends: never reused
            transport, self.transport = self.transport, None
            if clean:
                transport.close()
            else:
                transport.abort()

    def _fail(self, exc: BaseException) -> None:
        self._close(clean=False)
        if not self.ended.done():
            self.ended.set_exception(exc)

    def _end(self, error: LeanError | None, *, timeout: bool = False) -> None:
        self._close(clean=error is None and self.item is None)
        if self.ended.done():
            return
        if error is None and self.item is None:
            self.ended.set_result(None if self.pool.exhausted else _Ended(None, None, True))
        else:
            item, self.item = self.item, None
            message = str(error) if error is not None else "connection closed"
            self.ended.set_result(_Ended(item, message, self.answered > 0, timeout))


class HeadPool(Generic[T]):
    """At most ``size`` keep-alive connections to one ``scheme://host:port`` base URL,
    sending ``HEAD`` for each item until every item has an answer or an error."""

    def __init__(
        self,
        network: Network,
        base: str,
        *,
        ssl_context: ssl.SSLContext | None,
        size: int,
        timeout: float,
        deadline: float | None = None,
    ) -> None:
        parts = urlsplit(base)
        self.network = network
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        default = 443 if parts.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if self.port == default else f"{host}:{self.port}"
        self.ssl_context = ssl_context if parts.scheme == "https" else None
        self.size = max(1, size)
        self.timeout = timeout
        #: the run's deadline on the event loop's clock (``time.monotonic``)
        self.deadline = deadline if deadline is not None else float("inf")
        self.opened = 0
        self.exhausted = False
        self._items: Iterator[T] = iter(())
        self._path: Callable[[T], str] = str
        self._tail = b""
        self.on_answer: Callable[[T, LeanResponse], None] = lambda item, response: None
        self.on_error: Callable[[T, str], None] = lambda item, error: None

    def take(self) -> T | None:
        """The next item to ask for, or None when every item was taken."""
        for item in self._items:
            return item
        self.exhausted = True
        return None

    def request(self, item: T) -> bytes:
        path = self._path(item)
        if not path.isascii() or not path.isprintable() or " " in path:
            path = quote(path, safe=_PATH_SAFE)
        return b"HEAD " + path.encode("ascii") + self._tail

    async def run(
        self,
        items: Iterable[T],
        *,
        path: Callable[[T], str],
        headers: dict[str, str],
        on_answer: Callable[[T, LeanResponse], None],
        on_error: Callable[[T, str], None],
    ) -> None:
        """``HEAD path(item)`` for every item, ``size`` at a time; each item gets
        exactly one ``on_answer`` or ``on_error`` (called from the event loop)."""
        bad = [k for k, v in headers.items() if not _FIELD_VALUE.fullmatch(v)]
        if bad:  # nothing sent: each item fails as httpx would refuse the request
            for item in items:
                on_error(item, f"the {bad[0]} header holds characters HTTP does not allow")
            return
        lines = [" HTTP/1.1", f"Host: {self.host_header}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._tail = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._items, self._path = iter(items), path
        self.on_answer, self.on_error = on_answer, on_error
        self.exhausted = False
        await asyncio.gather(*(self._worker() for _ in range(self.size)))

    async def _worker(self) -> None:
        item = self.take()
        while item is not None:
            connection: _Connection[T] = _Connection(self, item)
            budget = max(0.001, min(self.timeout, self.deadline - connection.loop.time()))
            try:
                async with asyncio.timeout(budget):
                    await self._open(connection)
            except TimeoutError:
                self.on_error(item, f"no answer within {budget:g}s")
                item = self.take()
                continue
            except LeanError as exc:
                self.on_error(item, str(exc))
                item = self.take()
                continue
            try:
                connection.start()
                ended = await connection.ended
            except BaseException:
                connection._close(clean=False)
                raise
            if ended is None:
                return
            if ended.item is None:  # closed cleanly after an answer: open another
                item = self.take()
            elif ended.reused and not ended.timeout:
                # sent on a kept-alive connection the server had closed (the usual
                # keep-alive race): once more on a fresh one, where a failure counts
                item = ended.item
            else:
                self.on_error(ended.item, ended.error or "connection closed")
                item = self.take()

    async def _open(self, connection: _Connection[T]) -> None:
        from regdoctor.net.lean_httpcore import httpcore

        try:
            addresses = await self.network.addresses_for(self.host, self.timeout)
        except httpcore.ConnectError as exc:  # no address: this request's failure
            raise LeanError(str(exc)) from exc
        last: Exception | None = None
        for address in addresses:
            try:
                await connection.loop.create_connection(
                    lambda: connection,
                    address,
                    self.port,
                    ssl=self.ssl_context,
                    server_hostname=self.host if self.ssl_context else None,
                )
                self.opened += 1
                return
            except (OSError, ssl.SSLError) as exc:
                last = exc
        raise LeanError(f"connect {self.host}:{self.port}: {last}")
