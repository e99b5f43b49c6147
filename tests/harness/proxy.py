"""A small HTTP CONNECT proxy on loopback, for tests of proxied pulls.

It resolves nothing through DNS: names are mapped by a static table to loopback
addresses (the tests' names, e.g. ``registry.test``), and it refuses to tunnel
anywhere but 127.0.0.0/8. Modes: ``ok`` (tunnel), ``deny`` (403 to CONNECT),
``auth`` (407 unless the right Proxy-Authorization is sent).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import socket
import threading
from collections.abc import Mapping


class ConnectProxy:
    def __init__(
        self,
        hosts: Mapping[str, str],
        mode: str = "ok",
        credentials: tuple[str, str] | None = None,
        port: int = 0,
    ) -> None:
        self.hosts = dict(hosts)
        self.mode = mode
        self.credentials = credentials
        self.requests: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = int(sock.getsockname()[1])
        self._sock = sock
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ConnectProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        future.result(timeout=5)
        return self

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, sock=self._sock)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        authority = rest.split(" ", 1)[0]
        self.requests.append(lines[0])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if method != "CONNECT":
            await self._answer(writer, "405 Method Not Allowed")
            return
        if self.mode == "deny":
            await self._answer(writer, "403 Forbidden")
            return
        if self.mode == "auth" and not self._authorized(headers.get("proxy-authorization")):
            await self._answer(
                writer,
                "407 Proxy Authentication Required",
                'Proxy-Authenticate: Basic realm="proxy"\r\n',
            )
            return
        host, _, port = authority.rpartition(":")
        address = self.hosts.get(host.strip("[]").lower(), host.strip("[]"))
        try:
            if not ipaddress.ip_address(address).is_loopback:
                raise ValueError(address)
            upstream_reader, upstream_writer = await asyncio.open_connection(address, int(port))
        except (OSError, ValueError):
            await self._answer(writer, "502 Bad Gateway")
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )

    def _authorized(self, header: str | None) -> bool:
        if self.credentials is None or not header or not header.lower().startswith("basic "):
            return False
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return header.split(" ", 1)[1].strip() == expected

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: str, extra: str = "") -> None:
        writer.write(f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        # a tunnel still open when the proxy's loop stops is closed by the garbage
        # collector, after the loop: nothing is left to close then
        with contextlib.suppress(RuntimeError):
            writer.close()
