"""One exchange's failures, as ``probes/exchange.fetch`` reports them: the outcome and
the error text the rules and the report read, for what httpcore raises (the names and
texts httpx gave the same failures), against loopback servers that misbehave."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from regdoctor.net.network import Network
from regdoctor.options import CheckOptions
from regdoctor.probes.exchange import Exchange, fetch
from regdoctor.reference.targets import parse_target
from regdoctor.tags.session import make_context

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _exchange(url_of: Callable[[int], str], handler: Handler | None = None) -> Exchange:
    async def run() -> Exchange:
        server = None
        port = 1
        if handler is not None:
            server = await asyncio.start_server(handler, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
        options = CheckOptions(timeout=0.5, timeout_given=True)
        network = Network(options)
        ctx = make_context(parse_target(f"127.0.0.1:{port}/app:1"), options, network)
        try:
            return await fetch(ctx, "GET", url_of(port))
        finally:
            await network.aclose()
            if server is not None:
                server.close()

    return asyncio.run(run())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _huge_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 200_000 + b"\r\n\r\n")
    await writer.drain()
    await reader.read()


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    await writer.drain()
    writer.close()


def test_refused_connection_is_a_connect_error():
    port = _free_port()
    exchange = _exchange(lambda _: f"http://127.0.0.1:{port}/v2/")
    assert exchange.outcome == "connect_error"
    assert "[Errno 111] Connect call failed" in (exchange.error or "")  # asyncio's ECONNREFUSED


def test_headers_over_h11_s_limit_are_named():
    exchange = _exchange(lambda port: f"http://127.0.0.1:{port}/v2/", _huge_head)
    assert exchange.outcome == "protocol_error"
    assert exchange.error == (
        "the response headers are too large (over 100 KiB): Receive buffer too long"
    )


def test_a_server_that_hangs_up_or_speaks_no_http_is_a_protocol_error():
    for handler, text in (
        (_hang_up, "Server disconnected without sending a response."),
        (_garbage, "illegal status line"),
    ):
        exchange = _exchange(lambda port: f"http://127.0.0.1:{port}/v2/", handler)
        assert exchange.outcome == "protocol_error", exchange
        assert text in (exchange.error or ""), exchange.error


def test_an_unsupported_or_invalid_url_is_an_error_not_a_crash():
    """A realm a hostile server names (ftp://, no host) fails its request only."""
    exchange = _exchange(lambda _: "ftp://realm.test/token")
    assert (exchange.outcome, exchange.error) == (
        "error",
        "UnsupportedProtocol: Request URL has an unsupported protocol 'ftp://'.",
    )
    exchange = _exchange(lambda _: "http:///token")
    assert (exchange.outcome, exchange.error) == (
        "error",
        "UnsupportedProtocol: Request URL is missing an 'http://' or 'https://' protocol.",
    )
    exchange = _exchange(lambda _: "http://realm.test:99999/token")
    assert exchange.outcome == "error"
    assert (exchange.error or "").startswith("InvalidURL: Invalid URL 'http://realm.test:99999")


def test_a_url_python_cannot_split_is_an_error_not_a_crash():
    """``urlsplit`` raises on an unclosed IPv6 bracket (a hostile realm): the proxy choice
    and the endpoint key read the URL before the client does."""
    for url in ("http://[::1/token", "http://::1]/token", "http://[zz]/token"):
        exchange = _exchange(lambda _, url=url: url)
        assert exchange.outcome == "error", exchange
        assert (exchange.error or "").startswith("InvalidURL: "), exchange.error
