"""A lean HTTP/1.1 keep-alive client for the one request a tag scan makes thousands of
times: ``HEAD /v2/NAME/manifests/TAG``.

Why not httpx: on this machine kind httpx spends about 1 ms of CPU per request, which
caps a scan at ~1,000 HEADs/s on the same 2 cores the registry needs; this client spends
a fraction of that and the registry becomes the limit again (benchmarks/bench_tags.py).
It reuses what the run's :class:`~regdoctor.net.network.Network` decided: the pinned
addresses (``--dns-server``), the SSL context (``--ca-file``, certs.d, client
certificate, ``--insecure``). A proxied registry is not scanned with it: the caller
falls back to httpx, which tunnels.

One :class:`Connection` per worker; the pool never opens more than ``size``
connections at a time, and a connection is re-opened only when the server closed it.
``opened`` counts every TCP connection made.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from regdoctor.net.network import Network

MAX_HEADER_BYTES = 64 * 1024


class LeanError(Exception):
    """The request got no HTTP answer (connect, TLS or protocol failure)."""


@dataclass
class LeanResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Connection:
    def __init__(self, pool: LeanPool) -> None:
        self._pool = pool
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        pool = self._pool
        addresses = await pool.network.addresses_for(pool.host, pool.timeout)
        last: Exception | None = None
        for address in addresses:
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    address,
                    pool.port,
                    ssl=pool.ssl_context,
                    server_hostname=pool.host if pool.ssl_context else None,
                    limit=MAX_HEADER_BYTES,
                )
                pool.opened += 1
                return
            except (OSError, ssl.SSLError) as exc:
                last = exc
        raise LeanError(f"connect {pool.host}:{pool.port}: {last}")

    async def head(self, path: str, headers: dict[str, str]) -> LeanResponse:
        """One HEAD; retried once on a fresh connection when a kept-alive one was
        closed by the server in between (the usual keep-alive race)."""
        for attempt in (0, 1):
            fresh = self._writer is None
            if fresh:
                await self._open()
            try:
                return await self._exchange(path, headers)
            except (OSError, asyncio.IncompleteReadError, LeanError) as exc:
                self.close()
                if fresh or attempt == 1:
                    raise LeanError(str(exc) or type(exc).__name__) from None
            except BaseException:
                self.close()  # cancelled (timeout): the stream is mid-answer
                raise
        raise LeanError("unreachable")  # pragma: no cover

    async def _exchange(self, path: str, headers: dict[str, str]) -> LeanResponse:
        assert self._reader is not None and self._writer is not None
        pool = self._pool
        lines = [f"HEAD {path} HTTP/1.1", f"Host: {pool.host_header}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            raw = await self._reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise LeanError("response headers too large") from None
        text = raw.decode("latin-1")
        status_line, _, rest = text.partition("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise LeanError(f"not an HTTP answer: {status_line[:60]!r}")
        response = LeanResponse(int(parts[1]))
        for line in rest.split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                response.headers[name.strip().lower()] = value.strip()
        if (response.header("connection") or "").lower() == "close" or parts[0] == "HTTP/1.0":
            self.close()
        return response

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class LeanPool:
    """``size`` keep-alive connections to one ``scheme://host:port`` base URL."""

    def __init__(
        self,
        network: Network,
        base: str,
        *,
        ssl_context: ssl.SSLContext | None,
        size: int,
        timeout: float,
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
        self.opened = 0
        self._idle: list[Connection] = [Connection(self) for _ in range(self.size)]
        self._available = asyncio.Semaphore(self.size)
        self._all = list(self._idle)

    def connection(self) -> Connection:
        """A connection for one worker's exclusive use (at most ``size`` exist)."""
        if not self._idle:
            raise RuntimeError("all connections of the pool are taken")
        return self._idle.pop()

    async def head(self, path: str, headers: dict[str, str]) -> LeanResponse:
        async with self._available:
            connection = self._idle.pop()
            try:
                return await connection.head(path, headers)
            except BaseException:
                connection.close()  # a cancelled request leaves the stream mid-answer
                raise
            finally:
                self._idle.append(connection)

    def close(self) -> None:
        for connection in self._all:
            connection.close()
