"""The look at port 80 after a refused 443 (``http.plain_port``, rule
tcp-refused-plain-http-80) goes through the run's network layer (review of session 10):
through ``HTTP_PROXY`` as a runtime told the registry is insecure sends its http://
request (Go's ProxyFromEnvironment picks HTTP_PROXY for http:// URLs); it opened its own
connection to port 80 and ignored the proxy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.testbed import Testbed

#: resolves to 127.0.0.1 (the harness DNS's wildcard zone), where nothing listens on 443
NAME = "plain.wild.registry.test"


class RegistryLikeProxy:
    """A forward proxy that answers every absolute-form request itself, as a registry
    would (``Docker-Distribution-Api-Version``): the registry is reachable only through
    it. Records the request lines."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    def __enter__(self) -> RegistryLikeProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    async def _start(self) -> asyncio.base_events.Server:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        self.requests.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
        writer.write(
            b"HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        await writer.drain()
        writer.close()

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@pytest.fixture
def registry_proxy() -> Iterator[RegistryLikeProxy]:
    with RegistryLikeProxy() as proxy:
        yield proxy


def _check(testbed: Testbed, root: Path, env_extra: dict[str, str]) -> dict:
    import os

    env = {**os.environ, **env_extra}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "regdoctor",
            "check",
            "--format",
            "json",
            "--runtime",
            "podman",
            "--root",
            str(root),
            "--dns-server",
            testbed.dns_server,
            "--timeout",
            "3",
            f"{NAME}/team/app:1.2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    doc = json.loads(proc.stdout)
    assert isinstance(doc, dict), proc.stderr
    return doc


def test_the_look_at_port_80_goes_through_http_proxy(
    testbed: Testbed, registry_proxy: RegistryLikeProxy, tmp_path: Path
) -> None:
    """podman (not told the registry is insecure) stops at the refused 443; the look at
    port 80 is what podman would send once told: ``GET http://NAME/v2/`` to HTTP_PROXY."""
    proxy_url = f"http://127.0.0.1:{registry_proxy.port}"
    doc = _check(testbed, tmp_path, {"HTTP_PROXY": proxy_url})
    observations = doc["targets"][0]["observations"]
    looks = [o for o in observations if o["kind"] == "http.plain_port"]
    assert looks, [o["kind"] for o in observations]
    assert looks[0]["facts"]["is_registry"] is True, looks[0]
    assert looks[0]["facts"]["proxy"] == proxy_url
    assert f"GET http://{NAME}/v2/ HTTP/1.1" in registry_proxy.requests
    rules = {f["rule"]: f.get("runtimes") for f in doc["findings"] if f["severity"] == "error"}
    assert rules == {"tcp-refused-plain-http-80": ["podman"]}, rules
    explanation = next(f for f in doc["findings"] if f["rule"] == "tcp-refused-plain-http-80")
    assert f"127.0.0.1:{registry_proxy.port}" in explanation["explanation"]


def test_without_a_proxy_the_look_goes_direct(
    testbed: Testbed, registry_proxy: RegistryLikeProxy, tmp_path: Path
) -> None:
    """NO_PROXY names the registry: the look goes direct (nothing on port 80: no
    observation) and never reaches the proxy; the finding is tcp-refused."""
    proxy_url = f"http://127.0.0.1:{registry_proxy.port}"
    doc = _check(testbed, tmp_path, {"HTTP_PROXY": proxy_url, "NO_PROXY": NAME})
    kinds = [o["kind"] for o in doc["targets"][0]["observations"]]
    assert "http.plain_port" not in kinds
    assert registry_proxy.requests == []
    rules = {f["rule"] for f in doc["findings"] if f["severity"] == "error"}
    assert rules == {"tcp-refused"}, rules
