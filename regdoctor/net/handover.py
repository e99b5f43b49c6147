"""One connection per endpoint: the socket the TCP phase connected (and the TLS phase
secured) is handed to the HTTP client, which sends ``/v2/``, the token request and the
manifest requests over it (keep-alive) instead of dialling again.

- :class:`PlainStream` and :class:`TlsStream` are httpcore network streams over an
  asyncio connection; the TLS one speaks through the pyOpenSSL session the TLS probe
  observed (so the chain that was judged is the chain the requests travel over).
- :class:`Handover` holds, per target, the streams ready for the client's pool, by
  ``host:port``; the pinned backend takes one instead of connecting.
- :class:`Gate` lets optional probes (Harbor) use the target's connection while the
  critical path does not need it, so that they neither delay it nor open a second
  connection in the usual case.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from regdoctor.net.lean_httpx import httpcore


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
            return self._reader.at_eof()
        if info in ("client_addr", "server_addr", "socket"):
            key = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
            return self._writer.get_extra_info(key)
        return None


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
        from OpenSSL import SSL

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
        from OpenSSL import SSL

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
        from OpenSSL import SSL

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
        return super().get_extra_info(info)


class Handover:
    """The streams one target's HTTP client takes before it dials, by ``host:port``."""

    def __init__(self) -> None:
        self._streams: dict[str, PlainStream] = {}

    def put(self, host: str, port: int, stream: PlainStream) -> None:
        key = endpoint_key(host, port)
        old = self._streams.pop(key, None)
        if old is not None:
            old._writer.close()
        self._streams[key] = stream

    def take(self, host: str, port: int) -> PlainStream | None:
        return self._streams.pop(endpoint_key(host, port), None)

    def close(self) -> None:
        for stream in self._streams.values():
            stream._writer.close()
        self._streams.clear()


class Gate:
    """Per target and endpoint: how many requests of the critical path are in flight.
    An optional probe's request waits until there are none, then goes (on the same
    keep-alive connection, which is idle then); a critical request never waits."""

    def __init__(self) -> None:
        self._busy: dict[str, int] = {}
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
    async def optional(self, key: str) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: self._busy.get(key, 0) == 0)
        yield
