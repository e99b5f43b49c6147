"""An httpcore network backend on asyncio streams, in place of httpcore's anyio one.

regdoctor runs on asyncio only. httpcore's default backend goes through anyio, whose
asyncio backend (streams, sockets, TLS wrappers) costs some 15 ms of start-up; this
one is what httpcore needs of a backend (``httpcore.AsyncNetworkBackend``): connect
with a timeout, read, write, close, upgrade to TLS, and the extra information the pool
asks for. Failures are httpcore's exceptions, as anyio's backend raises them: connect
failures ``ConnectError``/``ConnectTimeout`` (a TLS failure is a ``ConnectError`` with
the ``ssl`` module's text), read and write failures ``ReadError``/``WriteError`` and
their timeouts.
"""

from __future__ import annotations

import asyncio
import select
import ssl
from collections.abc import Iterable
from typing import Any

from regdoctor.net.lean_httpcore import httpcore

#: anyio's happy-eyeballs delay between address families (RFC 8305's recommendation)
HAPPY_EYEBALLS_DELAY = 0.25


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One TCP connection (TLS once :meth:`start_tls` upgraded it), as httpcore uses it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "read timed out") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "write timed out") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except OSError as exc:  # ssl.SSLError included
            await self.aclose()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self  # the same reader and writer, now over TLS

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            return self._has_unread()
        return None

    def _has_unread(self) -> bool:
        """Whether an idle keep-alive connection has something to read: the server
        closed it, or spoke out of turn (a body after a HEAD answer). The pool must not
        reuse it (anyio's backend asks the socket; asyncio's transport has usually
        moved the bytes into the reader already, so both are asked)."""
        if self._reader.at_eof() or self._writer.transport.is_closing():
            return True
        if getattr(self._reader, "_buffer", None):  # read by the transport, not by us
            return True
        if self._writer.get_extra_info("ssl_object") is not None:
            return False  # TLS records on the socket are not necessarily data
        sock = self._writer.get_extra_info("socket")
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections through asyncio's own ``open_connection``."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "connect timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - not used
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "connect timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - not used
        await asyncio.sleep(seconds)
