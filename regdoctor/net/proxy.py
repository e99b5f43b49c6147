"""The HTTP proxy in the path, when the environment names one for the registry.

With a proxy, a runtime never dials the registry: it resolves and connects to the proxy
and asks it to ``CONNECT host:port``. The DNS and TCP phases then look at the proxy, and
the TLS handshake runs through the tunnel, so that what is probed is what a pull does.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

MAX_PROXY_HEAD = 16 * 1024


@dataclass(frozen=True)
class ProxyRoute:
    """The proxy a connection goes through, and the variable that named it."""

    url: str  # as configured (may carry credentials: never shown unredacted)
    host: str
    port: int
    scheme: str
    env: str  # the variable it came from

    @property
    def hostport(self) -> str:
        """``proxy.test:3128``, ``[2001:db8::1]:3128``: the proxy a runtime dials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class ProxyRefused(Exception):
    """The proxy did not open the tunnel."""

    def __init__(self, status: int | None, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def route(url: str | None, target_scheme: str) -> ProxyRoute | None:
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    env = "HTTPS_PROXY" if target_scheme == "https" else "HTTP_PROXY"
    return ProxyRoute(url, parts.hostname, parts.port or default, parts.scheme, env)


async def open_tunnel(
    proxy: ProxyRoute, address: str, host: str, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the proxy at ``address`` and ``CONNECT host:port`` through it."""
    reader, writer = await asyncio.open_connection(address, proxy.port)
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    parts = urlsplit(proxy.url if "://" in proxy.url else f"http://{proxy.url}")
    if parts.username:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        lines.append("Proxy-Authorization: Basic " + base64.b64encode(pair).decode())
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await reader.read(1024)
        if not chunk:
            writer.close()
            raise ProxyRefused(None, "the proxy closed the connection after CONNECT")
        head += chunk
        if len(head) > MAX_PROXY_HEAD:
            writer.close()
            raise ProxyRefused(None, "the proxy's answer to CONNECT is too long")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    fields = status_line.split(" ", 2)
    status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
    if status is None or not 200 <= status < 300:
        writer.close()
        raise ProxyRefused(status, f"proxyconnect: the proxy answered {status_line[:200]!r}")
    return reader, writer
