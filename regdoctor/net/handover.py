"""One connection per endpoint: the socket the TCP phase connected (and the TLS phase
secured) is handed to the HTTP client, which sends ``/v2/``, the token request and the
manifest requests over it (keep-alive) instead of dialling again.

- :class:`PlainStream` and :class:`TlsStream` are httpcore network streams over an
  asyncio connection; the TLS one speaks through the pyOpenSSL session the TLS probe
  observed (so the chain that was judged is the chain the requests travel over).
- :class:`Handover` holds, per target, the streams ready for the client's pool, by
  ``host:port``; the pinned backend takes one instead of connecting.
- Spare connections (:meth:`Handover.add_spare`): sockets the TCP phase connects
  speculatively beside its own, so that a request that finds the target's connection
  busy or gone (an optional probe's while the manifest is fetched; plain HTTP after a
  TLS attempt the server answered in plain HTTP) does not pay a connect of its own. A
  spare the critical path does not take is closed at the end of the run: it is counted
  as a connection, never as a round trip.
- :class:`Gate` lets optional probes (Harbor) use the target's connection while the
  critical path does not need it; with a spare at hand they do not wait at all.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from regdoctor.net import roundtrips
from regdoctor.net.lean_httpcore import httpcore


@asynccontextmanager
async def _network_io(
    timeout: float | None,
    on_timeout: type[httpcore.TimeoutException],
    on_error: type[httpcore.NetworkError],
    what: str,
) -> AsyncIterator[None]:
    """One read or write under ``timeout``, its failures as httpcore's exceptions."""
    try:
        async with asyncio.timeout(timeout):
            yield
    except TimeoutError as exc:
        raise on_timeout(str(exc) or f"{what} timed out") from exc
    except OSError as exc:
        raise on_error(str(exc)) from exc


def endpoint_key(host: str, port: int) -> str:
    return f"{host.strip('[]').lower()}:{port}"


class PlainStream(httpcore.AsyncNetworkStream):
    """An open TCP connection, as httpcore reads and writes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        async with _network_io(timeout, httpcore.ReadTimeout, httpcore.ReadError, "read"):
            return await self._reader.read(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        async with _network_io(timeout, httpcore.WriteTimeout, httpcore.WriteError, "write"):
            self._writer.write(buffer)
            await self._writer.drain()

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # Only a plain-HTTP origin is given a plain stream (the TLS probe hands over the
        # session it made); asking for TLS on it is a bug, not a network condition.
        raise httpcore.ConnectError("a plain connection was handed over for an https origin")

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # httpcore asks of an idle connection: readable means the server closed it,
            # or sent what no request asked for (a hostile body after a HEAD): either
            # way it is not reused. What arrived is in the reader's buffer (the
            # transport reads eagerly) or still on the socket.
            return (
                self._reader.at_eof()
                or bool(getattr(self._reader, "_buffer", b""))
                or _socket_readable(self._writer.get_extra_info("socket"))
            )
        if info in ("client_addr", "server_addr", "socket"):
            key = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
            return self._writer.get_extra_info(key)
        return None


def _socket_readable(sock: Any) -> bool:
    if sock is None:
        return False
    import select

    try:
        readable, _, _ = select.select([sock.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True  # closed under us: not reusable
    return bool(readable)


class _NegotiatedHttp11:
    """What httpcore asks of an ``ssl_object``: the protocol ALPN chose."""

    def __init__(self, alpn: str | None) -> None:
        self._alpn = alpn

    def selected_alpn_protocol(self) -> str | None:
        return self._alpn


class TlsStream(PlainStream):
    """A TLS session made by :mod:`regdoctor.net.handshake` (pyOpenSSL over memory BIOs)
    on an open connection. ``alert`` keeps the TLS alert a server sent after the
    handshake (a TLS 1.3 server that wants a client certificate says so only when the
    first request is read)."""

    def __init__(
        self,
        conn: Any,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        alpn: str | None = None,
        describe: Callable[[Exception], str] = str,
    ) -> None:
        super().__init__(reader, writer)
        self._conn = conn
        self._alpn = alpn
        self._describe = describe  # a TLS error's text, as the handshake words it
        self.alert: str | None = None

    async def _flush(self) -> None:
        from regdoctor.net.lean_openssl import SSL

        while True:
            try:
                chunk = self._conn.bio_read(65536)
            except SSL.WantReadError:
                break
            if not chunk:
                break
            self._writer.write(chunk)
        await self._writer.drain()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        from regdoctor.net.lean_openssl import SSL

        async with _network_io(timeout, httpcore.ReadTimeout, httpcore.ReadError, "read"):
            while True:
                try:
                    return bytes(self._conn.recv(max_bytes))
                except SSL.WantReadError:
                    pass
                except SSL.ZeroReturnError:
                    return b""
                except SSL.SysCallError as exc:
                    if exc.args and exc.args[0] == -1:  # unexpected EOF
                        return b""
                    raise httpcore.ReadError(str(exc)) from exc
                except SSL.Error as exc:
                    self.alert = self._describe(exc)
                    raise httpcore.ReadError(self.alert) from exc
                await self._flush()
                data = await self._reader.read(65536)
                if not data:
                    return b""
                self._conn.bio_write(data)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        from regdoctor.net.lean_openssl import SSL

        if not buffer:
            return
        async with _network_io(timeout, httpcore.WriteTimeout, httpcore.WriteError, "write"):
            try:
                self._conn.sendall(buffer)
            except SSL.WantReadError:
                pass
            except SSL.Error as exc:
                raise httpcore.WriteError(str(exc)) from exc
            await self._flush()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return self  # the TLS probe made (and judged) this session already

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return _NegotiatedHttp11(self._alpn)
        if info == "is_readable":
            # raw TLS records wait in the buffer (a TLS 1.3 session ticket, sent after
            # the handshake): only an end of file says the session is gone
            return self._reader.at_eof()
        return super().get_extra_info(info)


class SpareStream(PlainStream):
    """A spare connection (plain TCP) as httpcore uses a dialled one: for an https
    origin it is secured with the client's own SSL context, as a new connection would
    be (:meth:`Handover.warm` does it ahead, while the critical path still runs)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, endpoint: str
    ) -> None:
        super().__init__(reader, writer)
        self.endpoint = endpoint
        self.secured = False

    async def secure(
        self, ssl_context: Any, server_hostname: str | None, timeout: float | None
    ) -> None:
        async with _network_io(timeout, httpcore.ConnectTimeout, httpcore.ConnectError, "tls"):
            await self._writer.start_tls(
                ssl_context, server_hostname=server_hostname, ssl_handshake_timeout=timeout
            )
        self.secured = True

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.secured:
            return self  # warmed: the handshake happened beside the critical path
        start = time.monotonic()
        await self.secure(ssl_context, server_hostname, timeout)
        ssl_object = self._writer.get_extra_info("ssl_object")
        version = ssl_object.version() if ssl_object is not None else None
        roundtrips.record(
            "tls handshake (spare connection)",
            (time.monotonic() - start) * 1000,
            round_trips=1 if version == "TLSv1.3" else 2,
            host=self.endpoint,
        )
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        return super().get_extra_info(info)


async def connect_spare(address: str, port: int, timeout: float) -> socket.socket | None:
    """A speculative connection to ``address:port``; None when it did not connect (a
    spare never becomes an observation: the TCP phase observed the endpoint)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout):
            await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except (OSError, TimeoutError):
        sock.close()
        return None
    except asyncio.CancelledError:
        sock.close()
        raise
    return sock


def _still_open(stream: PlainStream) -> bool:
    """Whether the peer has not closed (or reset) a connection that sat idle (its
    transport reads as soon as anything arrives, an end of file too)."""
    return not stream._reader.at_eof() and stream._reader.exception() is None


_Spare = asyncio.Task["SpareStream | None"]


class Handover:
    """The streams one target's HTTP client takes before it dials, by ``host:port``,
    and the spare connections it takes when it would dial."""

    def __init__(self) -> None:
        self._streams: dict[str, PlainStream] = {}
        self._spares: dict[str, list[_Spare]] = {}

    def put(self, host: str, port: int, stream: PlainStream) -> None:
        key = endpoint_key(host, port)
        old = self._streams.pop(key, None)
        if old is not None:
            old._writer.close()
        self._streams[key] = stream

    def take(self, host: str, port: int) -> PlainStream | None:
        return self._streams.pop(endpoint_key(host, port), None)

    def add_spare(self, host: str, port: int, address: str, timeout: float) -> None:
        """Connect a spare to ``address:port`` now, in the background (off the critical
        path: nothing it waits for is recorded)."""
        key = endpoint_key(host, port)

        async def connect() -> SpareStream | None:
            roundtrips.off_path()
            sock = await connect_spare(address, port, timeout)
            if sock is None:
                return None
            reader, writer = await asyncio.open_connection(sock=sock)
            return SpareStream(reader, writer, key)

        self._spares.setdefault(key, []).append(asyncio.create_task(connect()))

    def has_spare(self, host: str, port: int) -> bool:
        return bool(self._spares.get(endpoint_key(host, port)))

    def warm(
        self, host: str, port: int, ssl_context: Any, server_hostname: str, timeout: float
    ) -> None:
        """Secure the first spare for ``host:port`` now, beside the critical path, so
        that the request that takes it does not wait for a handshake."""
        spares = self._spares.get(endpoint_key(host, port))
        if not spares:
            return
        plain = spares[0]

        async def secure() -> SpareStream | None:
            roundtrips.off_path()
            stream = await plain
            if stream is None:
                return None
            try:
                await stream.secure(ssl_context, server_hostname, timeout)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                stream._writer.close()
                return None
            return stream

        spares[0] = asyncio.create_task(secure())

    async def take_spare(self, host: str, port: int) -> SpareStream | None:
        """A spare for ``host:port`` that is still open, or None. The wait for one still
        connecting is on the critical path of whoever takes it."""
        key = endpoint_key(host, port)
        spares = self._spares.get(key)
        while spares:
            task = spares.pop(0)
            start = time.monotonic()
            waited = not task.done()
            try:
                stream = await task
            except OSError:  # a spare that failed is no spare; dial instead
                continue
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if task.cancelled() and not (current and current.cancelling()):
                    continue
                raise
            if waited:
                roundtrips.record(
                    "tcp connect (spare, still connecting)",
                    (time.monotonic() - start) * 1000,
                    host=key,
                )
            if stream is None:
                continue
            if _still_open(stream):
                return stream
            stream._writer.close()
        return None

    def close(self) -> None:
        for stream in self._streams.values():
            stream._writer.close()
        self._streams.clear()
        for spares in self._spares.values():
            for task in spares:
                if not task.done():
                    task.cancel()
                else:
                    _close_spare(task)

    async def aclose(self) -> None:
        """:meth:`close`, and wait for the spares still connecting to be cancelled (no
        task is left pending when the loop closes)."""
        pending = [t for spares in self._spares.values() for t in spares if not t.done()]
        self.close()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            for task in pending:
                _close_spare(task)
        self._spares.clear()


def _close_spare(task: _Spare) -> None:
    """Close the connection a finished spare task made, if it made one."""
    if task.cancelled() or task.exception() is not None:
        return
    spare = task.result()
    if spare is not None:
        spare._writer.close()


class Gate:
    """Per target and endpoint: how many requests of the critical path are in flight.
    An optional probe's request waits until there are none, then goes (on the same
    keep-alive connection, which is idle then); a critical request never waits."""

    def __init__(self) -> None:
        self._busy: dict[str, int] = {}
        self._own: set[str] = set()
        self._optional: dict[str, int] = {}
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def critical(self, key: str) -> AsyncIterator[None]:
        self._busy[key] = self._busy.get(key, 0) + 1
        try:
            yield
        finally:
            self._busy[key] -= 1
            async with self._changed:
                self._changed.notify_all()

    @asynccontextmanager
    async def optional(self, key: str, *, spare: bool = False) -> AsyncIterator[None]:
        """With ``spare`` (a spare connection is at hand) the request goes at once: on
        the idle connection when there is one, else on the spare; so do the optional
        requests after it (the connection the spare became is theirs then)."""
        if spare:
            self._own.add(key)
        if key not in self._own:
            async with self._changed:
                await self._changed.wait_for(lambda: self._busy.get(key, 0) == 0)
        self._optional[key] = self._optional.get(key, 0) + 1
        try:
            yield
        finally:
            self._optional[key] -= 1

    def optional_in_flight(self, key: str) -> bool:
        """Whether an optional request holds a connection to ``key`` now."""
        return self._optional.get(key, 0) > 0
