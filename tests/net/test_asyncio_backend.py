"""regdoctor's asyncio network backend and the asyncio primitives httpcore's pool is
given instead of anyio's: real requests through httpcore's pool to the testbed's
registries (plain, TLS, refused, blackholed), and the primitives' timeout semantics."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys

import pytest

from regdoctor.net import asyncio_sync
from regdoctor.net.asyncio_backend import AsyncioBackend
from regdoctor.net.lean_httpcore import httpcore
from tests.harness import Testbed


def _pool(context: ssl.SSLContext | None = None) -> httpcore.AsyncConnectionPool:
    return httpcore.AsyncConnectionPool(
        ssl_context=context, max_connections=4, network_backend=AsyncioBackend()
    )


async def _get(pool: httpcore.AsyncConnectionPool, url: str, timeout: float = 3.0) -> int:
    limits = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    extensions = {"timeout": limits}
    response = await pool.request("GET", url, extensions=extensions)
    return response.status


def test_plain_requests_reuse_one_connection(testbed: Testbed) -> None:
    async def run() -> tuple[list[int], int]:
        async with _pool() as pool:
            url = f"{testbed.endpoints['plain'].url}/v2/"
            statuses = [await _get(pool, url) for _ in range(3)]
            return statuses, len(pool.connections)

    statuses, connections = asyncio.run(run())
    assert statuses == [200, 200, 200]
    assert connections == 1  # keep-alive: "is_readable" said the idle connection is fine


def test_a_connection_with_unread_bytes_is_not_reused() -> None:
    """A server that speaks out of turn (bytes after a complete answer, as a registry
    that sends a body after a HEAD answer): the pool dials again instead of reading
    those bytes as the next response."""
    import threading

    from tests.harness.hostile import Conn, HostileServer, RawRequest

    answered, spoke = threading.Event(), threading.Event()

    def out_of_turn(conn: Conn, request: RawRequest) -> None:
        if not conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"):
            return
        # then, once the client has read that answer, bytes nobody asked for, until the
        # client hangs up (the connection stays open: only the unread bytes tell that it
        # must not be reused). The two events order it: on a loaded machine the client
        # could otherwise ask again before the bytes arrive (a race no client can see).
        if answered.wait(10) and not spoke.is_set():
            sent = conn.send(b"out of turn " * 100)
            spoke.set()
            while sent and conn.send(b"out of turn " * 100):
                pass

    server = HostileServer(out_of_turn, host="127.0.0.1").start()
    try:

        async def run() -> list[int]:
            async with _pool() as pool:
                first = await _get(pool, f"http://{server.hostport}/v2/")
                answered.set()
                assert await asyncio.to_thread(spoke.wait, 10)
                return [first, await _get(pool, f"http://{server.hostport}/v2/")]

        assert asyncio.run(run()) == [200, 200]
        assert len(server.requests) == 2  # one per connection
    finally:
        answered.set()
        server.stop()


def test_tls_request_verifies_against_the_context(testbed: Testbed) -> None:
    ep = testbed.endpoints["tls"]
    trusted = ssl.create_default_context(cafile=str(testbed.ca_file))

    async def run(context: ssl.SSLContext) -> tuple[int, str | None]:
        async with _pool(context) as pool:
            response = await pool.request("GET", f"https://{ep.hostport}/v2/")
            stream = response.extensions["network_stream"]
            ssl_object = stream.get_extra_info("ssl_object")
            return response.status, ssl_object.version() if ssl_object else None

    status, version = asyncio.run(run(trusted))
    assert status == 200 and version and version.startswith("TLS")
    with pytest.raises(httpcore.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(run(ssl.create_default_context()))  # the testbed CA is not trusted


def test_refused_and_blackholed_connections_are_httpcores_errors(testbed: Testbed) -> None:
    async def run(name: str, timeout: float) -> int:
        async with _pool() as pool:
            return await _get(pool, f"http://127.0.0.1:{testbed.endpoints[name].port}/v2/", timeout)

    with pytest.raises(httpcore.ConnectError):
        asyncio.run(run("closed", 3.0))
    with pytest.raises(httpcore.ConnectTimeout):
        asyncio.run(run("blackhole", 0.3))


def test_silent_server_is_a_read_timeout(testbed: Testbed) -> None:
    """The "silent" peer accepts and never answers."""

    async def run() -> int:
        async with _pool() as pool:
            return await _get(pool, f"http://127.0.0.1:{testbed.endpoints['silent'].port}/", 0.3)

    with pytest.raises(httpcore.ReadTimeout):
        asyncio.run(run())


def test_fail_after_times_out_a_block_and_passes_other_cancellations() -> None:
    async def slow(delay: float | None) -> str:
        with asyncio_sync.fail_after(delay):
            await asyncio.sleep(0.2)
        return "done"

    with pytest.raises(TimeoutError):
        asyncio.run(slow(0.01))
    assert asyncio.run(slow(None)) == "done"
    assert asyncio.run(slow(5)) == "done"

    async def cancelled_from_outside() -> bool:
        task = asyncio.create_task(slow(5))
        await asyncio.sleep(0.01)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run(cancelled_from_outside())  # not turned into a TimeoutError


def test_event_wait_with_a_timeout_is_httpcores_pool_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """(pytest's anyio plugin has imported anyio in this process, so httpcore kept it:
    the primitives are put in place here as lean_httpcore does in a fresh process.)"""
    from httpcore import _synchronization
    from httpcore._synchronization import AsyncEvent

    monkeypatch.setattr(_synchronization, "anyio", asyncio_sync)

    async def run() -> None:
        await AsyncEvent().wait(timeout=0.01)

    with pytest.raises(httpcore.PoolTimeout):
        asyncio.run(run())


def test_semaphore_is_bounded() -> None:
    semaphore = asyncio_sync.Semaphore(1, max_value=1)
    with pytest.raises(ValueError):
        semaphore.release()


def test_httpcore_is_imported_without_anyio() -> None:
    """In a fresh process: httpcore's pool runs a request on asyncio's primitives and
    this backend, and anyio is never imported (it stays importable)."""
    program = (
        "import asyncio, sys, importlib.util\n"
        "from regdoctor.net.lean_httpcore import httpcore\n"
        "from httpcore import _synchronization\n"
        "from regdoctor.net import asyncio_sync\n"
        "assert _synchronization.anyio is asyncio_sync\n"
        "async def main():\n"
        "    lock = _synchronization.AsyncLock()\n"
        "    async with lock:\n"
        "        pass\n"
        "asyncio.run(main())\n"
        "print('anyio' in sys.modules, importlib.util.find_spec('anyio') is not None)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "True"]
