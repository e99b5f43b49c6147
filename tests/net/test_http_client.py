"""regdoctor's HTTP client on httpcore (``net/http_client.py``) against what httpx wrote:
the same request bytes on the wire for the requests the probes make, hostile URLs kept
valid and unable to split a request, the response headers as httpx gave them, and
httpcore's failures under the names and texts httpx gave them.

The server is a small loopback one that records each request head as it arrives."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from regdoctor.net.asyncio_backend import AsyncioBackend
from regdoctor.net.http_client import HttpClient, InvalidURL, parse_url
from regdoctor.net.lean_httpcore import httpcore

UA = "regdoctor/test"
Answer = bytes
DEFAULT_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def _serve(
    answer: bytes = DEFAULT_ANSWER,
) -> tuple[asyncio.Server, int, list[bytes]]:
    """A keep-alive loopback server answering every request with ``answer``."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                heads.append(head)
                # a HEAD's answer has no body
                writer.write(
                    answer.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
                    if head.startswith(b"HEAD")
                    else answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], heads


def _client(timeout: float = 5.0) -> HttpClient:
    import ssl

    return HttpClient(
        proxy_for=lambda _url: None,
        backend_for=lambda _proxy: AsyncioBackend(),
        ssl_context=ssl.create_default_context(),
        timeout=timeout,
        user_agent=UA,
    )


Request = tuple[str, str, dict[str, str]]


async def _ours(requests: list[Request], port: int) -> None:
    client = _client()
    try:
        for method, path, headers in requests:
            url = f"http://127.0.0.1:{port}{path}"
            async with client.stream(method, url, headers=headers) as response:
                await response.aread()
    finally:
        await client.aclose()


async def _httpx(requests: list[Request], port: int) -> None:
    async with httpx.AsyncClient(
        headers={"User-Agent": UA}, trust_env=False, follow_redirects=False
    ) as client:
        for method, path, headers in requests:
            url = f"http://127.0.0.1:{port}{path}"
            async with client.stream(method, url, headers=headers) as response:
                await response.aread()


def _heads(send: Callable[[list[Request], int], Awaitable[None]], requests: list[Request]):
    async def run() -> list[bytes]:
        server, port, heads = await _serve()
        async with server:
            await send(requests, port)
        return [head.replace(str(port).encode(), b"PORT") for head in heads]

    return asyncio.run(run())


PROBE_HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip"}
REQUESTS: list[Request] = [
    ("GET", "/v2/", {"Accept-Encoding": "gzip"}),
    ("GET", "/v2/a/b/manifests/latest", {**PROBE_HEADERS, "Authorization": "Bearer t0k"}),
    ("HEAD", "/v2/a/manifests/sha256:00", {"Accept": "a, b", "Accept-Encoding": "gzip"}),
    ("GET", "/blob", {"Range": "bytes=0-9"}),  # the bench's download: httpx's defaults
    # what a hostile realm or redirect may carry: spaces, quotes, non-ASCII, escapes
    ("GET", '/token?service=a b&scope=repo:x:pull&q="<é>`{}|^', {}),
    ("GET", "/a b/é/%41%zz/`{x}`/\"q\"/'s'", {}),
    ("GET", "/a/./b/../c/?x", {}),
    ("GET", "", {}),
    ("GET", "/v2/?a=%2F#fragment", {}),
]


def test_request_bytes_on_the_wire_are_httpx_s():
    ours = _heads(_ours, REQUESTS)
    theirs = _heads(_httpx, REQUESTS)
    assert len(ours) == len(REQUESTS)
    assert ours == theirs


def test_default_headers_and_order():
    (head,) = _heads(_ours, [("GET", "/v2/", {"Accept-Encoding": "gzip"})])
    assert head.split(b"\r\n")[:6] == [
        b"GET /v2/ HTTP/1.1",
        b"Host: 127.0.0.1:PORT",
        b"Accept: */*",
        b"Connection: keep-alive",
        b"User-Agent: regdoctor/test",
        b"Accept-Encoding: gzip",
    ]


def test_user_information_becomes_basic_authorization_as_httpx_made_it():
    async def send(_requests: list[Request], port: int) -> None:
        client = _client()
        url = f"http://us%40r:p%3Ass@127.0.0.1:{port}/token"
        async with client.stream("GET", url, headers={"Authorization": "Bearer x"}) as r:
            await r.aread()
        await client.aclose()

    (head,) = _heads(send, [])
    expected = base64.b64encode(b"us@r:p:ss")
    assert b"Authorization: Basic " + expected + b"\r\n" in head
    assert b"Bearer" not in head and b"us%40r" not in head
    assert head.startswith(b"GET /token HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\n")


@pytest.mark.parametrize(
    "path",
    [
        "/t?x=1\r\nX-Injected: 1\r\n\r\nGET /evil HTTP/1.1",
        "/token\tscope",  # a tab: the one control a header value (a realm) may carry
        "/t\x00",
        "/t\x1b[31m",
        "/t\x7f",
    ],
)
def test_a_url_with_a_control_character_is_refused(path: str):
    """Line breaks, tabs and other controls in a realm (a server's words) are refused,
    as httpx and Go refuse them (Go: ``invalid control character in URL``): never
    stripped (``urlsplit`` drops tab, CR and LF silently) nor encoded and sent."""
    with pytest.raises(InvalidURL, match="non-printable"):
        parse_url("http://127.0.0.1:5000" + path)


def test_default_port_idna_host_and_ipv6_host_header():
    assert parse_url("https://Registry.Test:443/v2/").host_header == b"registry.test"
    assert parse_url("http://registry.test:80").url.target == b"/"
    assert parse_url("http://[::1]:5000/v2/").host_header == b"[::1]:5000"
    assert parse_url("http://[::1]:5000/v2/").url.host == b"::1"
    idna = parse_url("https://bücher.test/v2/")
    assert idna.host_header == b"xn--bcher-kva.test" == idna.url.host
    # IDNA 2008 (UTS 46), as httpx and Go: not Python's IDNA 2003 codec (fass.de)
    assert parse_url("https://faß.test/").host_header == b"xn--fa-hia.test"
    with pytest.raises(InvalidURL):
        parse_url("http://a\x00b.ü/token")


@pytest.mark.parametrize("url", ["http://[::1/v2/", "http://a b.test/", "http://r.test:99999/"])
def test_a_url_no_request_can_be_made_of_is_invalid(url: str):
    with pytest.raises(InvalidURL):
        parse_url(url)


def test_a_url_without_a_host_is_httpx_s_unsupported_protocol():
    with pytest.raises(httpcore.UnsupportedProtocol, match="missing an 'http://'"):
        parse_url("http:///v2/")


def test_response_headers_joined_in_lower_case_and_decoded_as_httpx_did():
    answer = (
        b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="a"\r\n'
        b"X-Multi: 1\r\nx-multi: 2\r\nX-Name: caf\xe9\r\nContent-Length: 3\r\n\r\nabc"
    )

    async def run() -> tuple[list[Any], list[Any], int, bytes]:
        server, port, _ = await _serve(answer)
        async with server:
            client = _client()
            async with client.stream("GET", f"http://127.0.0.1:{port}/") as response:
                ours = list(response.headers.items())
                status = response.status_code
                body = b"".join([chunk async for chunk in response.aiter_raw()])
            await client.aclose()
            other = httpx.AsyncClient(trust_env=False)
            async with other, other.stream("GET", f"http://127.0.0.1:{port}/") as response:
                theirs = list(response.headers.items())
        return ours, theirs, status, body

    ours, theirs, status, body = asyncio.run(run())
    assert ours == theirs
    assert ("x-multi", "1, 2") in ours and ("x-name", "café") in ours
    assert (status, body) == (401, b"abc")


def test_cookies_are_not_sent_back_as_go_clients_do():
    answer = b"HTTP/1.1 200 OK\r\nSet-Cookie: s=1; Path=/\r\nContent-Length: 0\r\n\r\n"

    async def run() -> list[bytes]:
        server, port, heads = await _serve(answer)
        async with server:
            await _ours([("GET", "/a", {}), ("GET", "/b", {})], port)
        return heads

    heads = asyncio.run(run())
    assert len(heads) == 2 and not any(b"cookie" in head.lower() for head in heads)


def test_one_connection_for_requests_in_turn_and_no_redirects():
    answer = b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
    connections: list[int] = []

    async def run() -> list[int]:
        server, port, heads = await _serve(answer)
        async with server:
            client = _client()
            for _ in range(3):
                async with client.stream("GET", f"http://127.0.0.1:{port}/v2/") as response:
                    connections.append(response.status_code)
                    await response.aread()
            pool = client.pool_for(None)
            connections.append(len(pool.connections))
            await client.aclose()
        connections.append(len(heads))
        return connections

    assert asyncio.run(run()) == [307, 307, 307, 1, 3]


def test_the_timeout_bounds_a_silent_server_as_a_read_timeout():
    async def run() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # reads until the client gives up
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            client = _client(timeout=0.2)
            try:
                async with client.stream("GET", f"http://127.0.0.1:{port}/"):
                    pass
            finally:
                await client.aclose()

    with pytest.raises(httpcore.ReadTimeout):
        asyncio.run(run())


def test_failures_are_httpcore_s_with_the_names_httpx_gave():
    async def run(url: str) -> Exception:
        client = _client(timeout=2.0)
        try:
            async with client.stream("GET", url):
                pass
        except Exception as exc:  # the failure is the result
            return exc
        finally:
            await client.aclose()
        raise AssertionError("no failure")

    async def httpx_run(url: str) -> Exception:
        async with httpx.AsyncClient(trust_env=False) as client:
            try:
                async with client.stream("GET", url):
                    pass
            except Exception as exc:
                return exc
        raise AssertionError("no failure")

    for url in ("ftp://registry.test/token", "http://127.0.0.1:1/v2/"):
        ours, theirs = asyncio.run(run(url)), asyncio.run(httpx_run(url))
        assert type(ours).__name__ == type(theirs).__name__, (ours, theirs)
        assert isinstance(ours, httpcore.UnsupportedProtocol | httpcore.ConnectError)
        if isinstance(ours, httpcore.UnsupportedProtocol):
            assert str(ours) == str(theirs)


def test_through_a_forward_proxy_the_bytes_are_httpx_s():
    """Plain HTTP through HTTP_PROXY: the proxy gets the absolute-form request line and
    the proxy login (from the proxy URL) as httpx sent them."""
    import ssl

    async def run() -> tuple[list[bytes], list[bytes]]:
        server, port, heads = await _serve()
        proxy = f"http://us%40r:pa%3As@127.0.0.1:{port}"
        url = "http://registry.test:5000/v2/a b/manifests/latest"
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        async with server:
            client = HttpClient(
                proxy_for=lambda _url: proxy,
                backend_for=lambda _proxy: AsyncioBackend(),
                ssl_context=ssl.create_default_context(),
                timeout=5.0,
                user_agent=UA,
            )
            async with client.stream("GET", url, headers=headers) as response:
                await response.aread()
            await client.aclose()
            ours = list(heads)
            heads.clear()
            other = httpx.AsyncClient(headers={"User-Agent": UA}, trust_env=False, proxy=proxy)
            async with other, other.stream("GET", url, headers=headers) as response:
                await response.aread()
        return ours, heads

    ours, theirs = asyncio.run(run())
    assert ours == theirs and len(ours) == 1
    assert ours[0].startswith(b"GET http://registry.test:5000/v2/a%20b/manifests/latest HTTP/1.1")
    assert b"Proxy-Authorization: Basic " + base64.b64encode(b"us@r:pa:s") in ours[0]


def test_an_empty_login_in_a_realm_sends_no_authorization():
    """``https://@auth.test/token`` has no user and no password: the caller's
    Authorization (the registry's credentials) is kept, as httpx kept it."""
    assert parse_url("https://@auth.test/token").userinfo is None
    assert parse_url("https://:@auth.test/token").userinfo is None
    assert parse_url("https://u:@auth.test/token").userinfo == b"u:"


async def _closing_after_first(reset: bool) -> tuple[asyncio.Server, int, list[str]]:
    """A keep-alive server whose first connection answers one request, then reads the
    next and closes (``reset``: with an RST) before any byte of an answer; every later
    connection answers as usual. Records (connection number, request line)."""
    seen: list[str] = []
    count = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        count += 1
        number = count
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                seen.append(f"{number} {head.split(b' ')[0].decode()}")
                if number == 1 and len([s for s in seen if s.startswith("1 ")]) == 2:
                    if reset:
                        import socket
                        import struct

                        sock = writer.get_extra_info("socket")
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    writer.close()
                    return
                writer.write(
                    DEFAULT_ANSWER if not head.startswith(b"HEAD") else DEFAULT_ANSWER[:-2]
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


@pytest.mark.parametrize("reset", [False, True], ids=["eof", "reset"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_kept_alive_connection_closed_before_the_answer_is_retried_once_as_go_does(
    method: str, reset: bool
):
    """Go's Transport sends a GET or HEAD again on a new connection when the reused one
    ends (EOF or a reset) before the first byte of the answer; so does the check, where
    it used to report a broken connection that no runtime sees."""

    async def run() -> tuple[list[int], list[str]]:
        server, port, seen = await _closing_after_first(reset)
        statuses = []
        async with server:
            client = _client()
            try:
                for _ in range(2):
                    async with client.stream(method, f"http://127.0.0.1:{port}/v2/") as response:
                        statuses.append(response.status_code)
                        await response.aread()
            finally:
                await client.aclose()
        return statuses, seen

    statuses, seen = asyncio.run(run())
    assert statuses == [200, 200]
    assert seen == [f"1 {method}", f"1 {method}", f"2 {method}"]


def test_a_first_request_on_a_new_connection_is_not_retried():
    """Only a reused connection: a server that closes a fresh connection without an
    answer fails the request, once, as it fails Go's."""

    async def run() -> tuple[Exception | None, int]:
        heads: list[bytes] = []

        async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.close()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            client = _client()
            try:
                async with client.stream("GET", f"http://127.0.0.1:{port}/v2/"):
                    pass
            except httpcore.RemoteProtocolError as exc:
                return exc, len(heads)
            finally:
                await client.aclose()
        return None, len(heads)

    error, requests = asyncio.run(run())
    assert isinstance(error, httpcore.RemoteProtocolError)
    assert requests == 1


def test_a_post_on_a_reused_connection_is_not_sent_again():
    """A POST (a token request with a body) is not replayable: its failure stands."""

    async def run() -> tuple[list[str], Exception | None]:
        server, port, seen = await _closing_after_first(reset=False)
        error = None
        async with server:
            client = _client()
            try:
                for _ in range(2):
                    async with client.stream("POST", f"http://127.0.0.1:{port}/token") as r:
                        await r.aread()
            except httpcore.RemoteProtocolError as exc:
                error = exc
            finally:
                await client.aclose()
        return seen, error

    seen, error = asyncio.run(run())
    assert isinstance(error, httpcore.RemoteProtocolError)
    assert seen == ["1 POST", "1 POST"]
