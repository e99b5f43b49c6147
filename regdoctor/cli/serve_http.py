"""The exporter's HTTP server (``regdoctor serve``): one asyncio event loop in one thread,
bounded per connection (head size and time, keep-alive idle time and request count,
write time) and in all (a connection cap with eviction of the longest-idle connection).
It answers from bytes the :class:`~regdoctor.cli.serve.Exporter` prepared once per
completed check, so a scrape costs no rendering."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from regdoctor.cli.serve import Exporter

#: What one connection may take: the request head must arrive within
#: HEADER_TIMEOUT_S of the connection (or of the previous answer, on a kept-alive
#: connection: KEEPALIVE_IDLE_S), be at most MAX_HEAD_BYTES, and a connection serves
#: at most MAX_REQUESTS_PER_CONNECTION requests. An answer that cannot be written within
#: WRITE_TIMEOUT_S (a reader that does not read) closes the connection.
HEADER_TIMEOUT_S = 10.0
KEEPALIVE_IDLE_S = 15.0
WRITE_TIMEOUT_S = 10.0
MAX_HEAD_BYTES = 16 * 1024
MAX_REQUESTS_PER_CONNECTION = 1000
#: Open connections at most (lowered to what the file-descriptor limit allows). When
#: full, the connection idle for longest is closed for the new one: idle connections
#: never lock a scraper out.
MAX_CONNECTIONS = 10_000

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft limit of open files towards ``wanted`` (up to the hard limit);
    the connection cap this allows."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    except (ImportError, ValueError, OSError):
        return 512
    limit = wanted if soft == resource.RLIM_INFINITY else int(soft)
    # a quarter of the descriptors stays for the checks themselves
    return max(16, min(MAX_CONNECTIONS, (limit - 64) * 3 // 4))


class HttpServer:
    """The exporter's HTTP server: one event loop in one thread, one coroutine per
    connection (no thread per connection), per-connection read and write timeouts, a
    connection cap with eviction of the longest-idle connection, keep-alive limits.
    Answers come from bytes prepared once per completed check (see
    :meth:`Exporter.answer`), so a scrape costs no rendering."""

    def __init__(self, exporter: Exporter, host: str, port: int, *, max_connections: int) -> None:
        self.exporter = exporter
        self.host, self.port = host, port
        self.max_connections = max_connections
        self.loop = asyncio.new_event_loop()
        self.listener: Any = None
        self.accepted = 0
        self.starting = 0  # accepted, stream not yet set up
        self.thread = threading.Thread(target=self._run, name="regdoctor-http", daemon=True)
        # writer -> (idle since (monotonic) or None while answering)
        self.connections: dict[asyncio.StreamWriter, float | None] = {}
        self.evicted = 0

    # -- life cycle --------------------------------------------------------------------

    def bind(self) -> tuple[str, int]:
        """Listen (raises OSError); the bound address. Connections are accepted by
        :meth:`_accept_ready`, one at a time, room being made *before* each accept: the
        process never runs out of descriptors, so a scraper is never left in the
        backlog behind idle connections."""
        import socket

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.create_server((self.host, self.port), family=family, backlog=1024)
        listener.setblocking(False)
        self.listener = listener
        self.loop.add_reader(listener.fileno(), self._accept_ready)
        address = listener.getsockname()
        return str(address[0]), int(address[1])

    def _accept_ready(self) -> None:
        for _ in range(64):
            if not self._make_room():
                return  # every connection is busy answering: accept when one ends
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return
            except OSError:  # EMFILE, ENFILE...: make room in bulk, retry on next event
                self._evict(max(1, len(self.connections) // 10))
                return
            conn.setblocking(False)
            self.accepted += 1
            self.starting += 1
            self.loop.create_task(self._start_connection(conn))

    async def _start_connection(self, conn: Any) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=conn, limit=MAX_HEAD_BYTES)
        except OSError:
            self.starting -= 1
            conn.close()
            return
        self.starting -= 1
        await self._connection(reader, writer)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def stop(self) -> None:
        async def close() -> None:
            if self.listener is not None:
                self.loop.remove_reader(self.listener.fileno())
                self.listener.close()
            for writer in list(self.connections):
                writer.close()
            await asyncio.sleep(0)

        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        else:
            self.loop.run_until_complete(close())
        self.loop.close()

    # -- connections -------------------------------------------------------------------

    def _evict(self, count: int) -> int:
        """Close the ``count`` connections idle for longest; how many were closed."""
        idle = sorted(
            ((since, w) for w, since in self.connections.items() if since is not None),
            key=lambda pair: pair[0],
        )[:count]
        for _, writer in idle:
            self.connections.pop(writer, None)
            writer.transport.abort()
        self.evicted += len(idle)
        return len(idle)

    def _make_room(self) -> bool:
        if len(self.connections) + self.starting < self.max_connections:
            return True
        return self._evict(max(1, self.max_connections // 20)) > 0

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        self.connections[writer] = loop.time()
        try:
            for served in range(MAX_REQUESTS_PER_CONNECTION):
                self.connections[writer] = loop.time()
                wait = HEADER_TIMEOUT_S if served == 0 else KEEPALIVE_IDLE_S
                try:
                    async with asyncio.timeout(wait):
                        head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.LimitOverrunError:
                    await self._write(writer, 431, b"request head too large\n", keep=False)
                    return
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                if writer not in self.connections:  # evicted while reading
                    return
                self.connections[writer] = None
                status, body, ctype, keep, method = self._answer(head)
                last = served == MAX_REQUESTS_PER_CONNECTION - 1 or self.exporter.stop.is_set()
                keep = keep and not last
                if not await self._write(
                    writer, status, body, ctype=ctype, keep=keep, head_only=method == "HEAD"
                ):
                    return
                if not keep:
                    return
        except Exception:  # one broken connection must never stop the server
            return
        finally:
            self.connections.pop(writer, None)
            writer.close()

    def _answer(self, head: bytes) -> tuple[int, bytes, str, bool, str]:
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
        except ValueError:
            return 400, b"bad request\n", "text/plain", False, "GET"
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        keep = (version == "HTTP/1.1" and "close" not in connection) or (
            version == "HTTP/1.0" and "keep-alive" in connection
        )
        if headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers:
            return 413, b"no request body expected\n", "text/plain", False, method
        if method not in ("GET", "HEAD"):
            return 405, b"method not allowed\n", "text/plain", False, method
        status, body, ctype = self.exporter.answer(target.split("?", 1)[0])
        return status, body, ctype, keep, method

    async def _write(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        *,
        ctype: str = "text/plain",
        keep: bool,
        head_only: bool = False,
    ) -> bool:
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
            f"Server: regdoctor\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n"
            + (
                f"Keep-Alive: timeout={KEEPALIVE_IDLE_S:g}, max={MAX_REQUESTS_PER_CONNECTION}\r\n"
                if keep
                else ""
            )
            + "\r\n"
        ).encode("ascii")
        try:
            writer.write(head if head_only else head + body)
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await writer.drain()
        except (TimeoutError, ConnectionError, OSError):
            return False
        return True
