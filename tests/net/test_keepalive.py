"""The lean keep-alive HEAD client of tag scans (``regdoctor.net.keepalive``) against
real sockets: connections kept and re-opened, the keep-alive race retried once, every
failure an error for its item (never a hang), and a listed tag that cannot smuggle a
header or a request of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from regdoctor.net.keepalive import HeadPool, LeanResponse
from regdoctor.net.network import Network
from regdoctor.options import CheckOptions
from tests.harness import hostile

OK = (
    b"HTTP/1.1 200 OK\r\nContent-Length: 423\r\n"
    b"Docker-Content-Digest: sha256:" + b"a" * 64 + b"\r\n\r\n"
)

#: answer(request, index of the request on its connection) -> bytes to send, or None
#: to close the connection without a word
Answer = Callable[[hostile.RawRequest, int], bytes | None]


class KeepAliveServer:
    """A raw server that reads requests one after another on each connection."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[hostile.RawRequest] = []
        self.connections = 0
        self._lock = threading.Lock()
        self.server = hostile.HostileServer(self._serve, raw=True)

    def _serve(self, conn: hostile.Conn, _request: hostile.RawRequest) -> None:
        with self._lock:
            self.connections += 1
        index = 0
        while True:
            head = hostile._read_head(conn.sock)
            if head is None:
                return
            request = hostile._parse_head(head, self.server.hostport)
            with self._lock:
                self.requests.append(request)
            data = self.answer(request, index)
            index += 1
            if data is None or not conn.send(data):
                return

    def __enter__(self) -> KeepAliveServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def scan(
    server: KeepAliveServer, items: list[str], *, size: int = 4, timeout: float = 5.0
) -> tuple[dict[str, LeanResponse], dict[str, str], int]:
    answers: dict[str, LeanResponse] = {}
    errors: dict[str, str] = {}

    async def run() -> int:
        pool: HeadPool[str] = HeadPool(
            Network(CheckOptions()),
            f"http://{server.server.hostport}",
            ssl_context=None,
            size=size,
            timeout=timeout,
        )
        await pool.run(
            items,
            path=lambda tag: f"/v2/team/app/manifests/{tag}",
            headers={"Accept": "application/json"},
            on_answer=answers.__setitem__,
            on_error=errors.__setitem__,
        )
        return pool.opened

    opened = asyncio.run(run())
    assert set(answers) | set(errors) == set(items)
    assert not set(answers) & set(errors)
    return answers, errors, opened


TAGS = [f"t{i:03d}" for i in range(40)]


def test_connections_are_kept_alive() -> None:
    with KeepAliveServer(lambda request, index: OK) as server:
        answers, errors, opened = scan(server, TAGS, size=4)
    assert not errors
    assert all(r.status == 200 for r in answers.values())
    assert answers["t007"].header("Docker-Content-Digest") == "sha256:" + "a" * 64
    assert opened == server.connections == 4
    assert sorted(r.path.rsplit("/", 1)[1] for r in server.requests) == TAGS
    assert all(r.method == "HEAD" for r in server.requests)


def test_connection_close_opens_another() -> None:
    close = OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    with KeepAliveServer(lambda request, index: close) as server:
        answers, errors, opened = scan(server, TAGS[:10], size=2)
    assert not errors and len(answers) == 10
    assert opened == server.connections == 10


def test_keepalive_race_is_retried_once_on_a_fresh_connection() -> None:
    # Each connection answers one request, then closes without saying so: the next
    # request on it finds it closed, and goes again on a new connection.
    with KeepAliveServer(lambda request, index: OK if index == 0 else None) as server:
        answers, errors, opened = scan(server, TAGS[:12], size=3)
    assert not errors and len(answers) == 12
    assert opened == server.connections == 12


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (lambda request, index: None, "the server closed the connection without an answer"),
        (lambda request, index: b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP answer"),
        (
            lambda request, index: b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
            "response headers too large",
        ),
    ],
)
def test_a_failure_on_a_fresh_connection_is_an_error(answer: Answer, error: str) -> None:
    with KeepAliveServer(answer) as server:
        answers, errors, opened = scan(server, TAGS[:5], size=2)
    assert not answers
    assert all(error in message for message in errors.values()), errors
    assert opened == server.connections == 5  # one try each, no retry loop


def test_no_answer_in_time_is_an_error() -> None:
    def hold(request: hostile.RawRequest, index: int) -> bytes | None:
        if request.path.endswith("/slow"):
            server.server._stopping.wait(5)
            return None
        return OK

    with KeepAliveServer(hold) as server:
        answers, errors, _ = scan(server, ["a", "slow", "b", "c"], size=1, timeout=0.3)
    assert errors == {"slow": "no answer within 0.3s"}
    assert set(answers) == {"a", "b", "c"}


def test_a_listed_tag_cannot_add_a_header_or_a_request() -> None:
    evil = "x HTTP/1.1\r\nX-Evil: 1\r\n\r\nDELETE /v2/team/app/manifests/y"
    with KeepAliveServer(lambda request, index: OK) as server:
        answers, errors, _ = scan(server, [evil, "ok"], size=1)
    assert not errors and len(answers) == 2
    assert len(server.requests) == 2
    first = server.requests[0]
    assert first.method == "HEAD" and "x-evil" not in first.headers
    assert " " not in first.path and "\r" not in first.path
    assert first.path.startswith("/v2/team/app/manifests/x%20HTTP/1.1%0D%0AX-Evil:%201")


def test_an_exception_in_the_callback_is_raised() -> None:
    def boom(item: str, response: LeanResponse) -> None:
        raise ValueError("callback bug")

    async def run() -> None:
        with KeepAliveServer(lambda request, index: OK) as server:
            pool: HeadPool[str] = HeadPool(
                Network(CheckOptions()),
                f"http://{server.server.hostport}",
                ssl_context=None,
                size=2,
                timeout=5,
            )
            await pool.run(
                TAGS[:4], path=str, headers={}, on_answer=boom, on_error=lambda i, e: None
            )

    with pytest.raises(ValueError, match="callback bug"):
        asyncio.run(run())


def test_a_host_without_an_address_is_an_error_per_item_not_an_abort() -> None:
    """The network finds no address (httpcore's ConnectError, as ``addresses_for`` says
    it): each item gets that error, and the scan ends normally."""
    import httpcore

    network = Network(CheckOptions())

    async def no_address(host: str, timeout: float) -> list[str]:
        raise httpcore.ConnectError(f"{host}: no address (via the test)")

    network.addresses_for = no_address  # type: ignore[method-assign]
    errors: dict[str, str] = {}

    async def run() -> None:
        pool: HeadPool[str] = HeadPool(
            network, "http://registry.test:5000", ssl_context=None, size=2, timeout=5.0
        )
        await pool.run(
            TAGS[:3],
            path=lambda tag: f"/v2/team/app/manifests/{tag}",
            headers={},
            on_answer=lambda tag, answer: pytest.fail(f"{tag} answered"),
            on_error=errors.__setitem__,
        )

    asyncio.run(run())
    assert set(errors) == set(TAGS[:3])
    assert all("registry.test: no address" in error for error in errors.values())


@pytest.mark.parametrize("value", ["Bearer abc\r\nX-Injected: 1", "Bearer \u2603"])
def test_a_header_value_http_does_not_allow_sends_nothing(value: str) -> None:
    """A token from a realm server is a header value: with a line break it would add a
    header (or a request), outside latin-1 it cannot be encoded. Nothing is sent; each
    tag gets the error."""
    with KeepAliveServer(lambda request, index: OK) as server:
        errors: dict[str, str] = {}

        async def run() -> None:
            pool: HeadPool[str] = HeadPool(
                Network(CheckOptions()),
                f"http://{server.server.hostport}",
                ssl_context=None,
                size=2,
                timeout=5.0,
            )
            await pool.run(
                TAGS[:3],
                path=lambda tag: f"/v2/team/app/manifests/{tag}",
                headers={"Authorization": value},
                on_answer=lambda tag, answer: pytest.fail(f"{tag} answered"),
                on_error=errors.__setitem__,
            )

        asyncio.run(run())
        assert server.connections == 0 and not server.requests
    assert set(errors) == set(TAGS[:3])
    assert all("Authorization header" in error for error in errors.values())
