"""The httpcore network streams the check's HTTP client reads and writes, over
connections regdoctor made itself (see :mod:`regdoctor.net.handover`):

- :class:`PlainStream`: an open TCP connection (the TCP phase's, handed over);
- :class:`TlsStream`: the pyOpenSSL session the TLS probe made and judged on it;
- :class:`SpareStream`: a spare connection, secured with the client's SSL context when
  its origin is https (ahead of time by :meth:`Handover.warm`).

Apart from :mod:`~regdoctor.net.handover` because they subclass httpcore's stream: the
handover itself (and the TCP phase that fills it) does without httpcore, which a check
imports once its first bytes are on the link (net/idle.py), not before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from regdoctor.net import roundtrips
from regdoctor.net.closing import close_now
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
        close_now(self._writer)

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
        self._context: Any = None

    async def secure(
        self, ssl_context: Any, server_hostname: str | None, timeout: float | None
    ) -> None:
        async with _network_io(timeout, httpcore.ConnectTimeout, httpcore.ConnectError, "tls"):
            await self._writer.start_tls(
                ssl_context, server_hostname=server_hostname, ssl_handshake_timeout=timeout
            )
        self.secured = True
        self._context = ssl_context

    def pinned(self, ssl_context: Any) -> None:
        """Secured early without verification, this connection presented the leaf the
        TLS phase verified for ``ssl_context`` (net/handover.py ``Handover.pin``)."""
        self._context = ssl_context

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.secured:
            if self._context is not ssl_context:
                # secured early and never pinned to this client's trust (Handover.pin
                # closes one that showed another leaf), or warmed with other trust
                close_now(self._writer)
                raise httpcore.ConnectError("a spare connection secured with other trust")
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
