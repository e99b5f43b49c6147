"""The manifest request sent beside the first ``GET /v2/`` goes over the early spare
(``probes/manifest_request.py``): when that spare fails (its server closes it on the
request, or never answers, as a per-client connection limit or a draining load balancer
does) or is slow to connect (a lost SYN waits a second), the image probe sends the
request again the usual way, over the connection the phases kept: the verdict is the
registry's, never the spare's, and the wait is bounded by a few round trips."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from regdoctor.net import handover
from tests.harness.servers import serve_each
from tests.harness.tcp_forward import Forwarder
from tests.harness.testbed import Testbed
from tests.helpers.reports import run_report

DELAY_S = 0.05  # each way: a ~100 ms round trip, longer than a loaded machine's stalls
TIMEOUT_S = 3.0


@pytest.fixture
def relay(testbed: Testbed) -> Iterator[Forwarder]:
    forwarder = Forwarder(testbed.endpoints["plain"].port, delay=DELAY_S)
    yield forwarder
    forwarder.close()


@pytest.fixture
def bad_server() -> Iterator[tuple[socket.socket, list[str]]]:
    """A listener whose connections read the request, then close or hang, as its
    ``mode[0]`` says."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    mode: list[str] = ["close"]
    release = threading.Event()

    def serve(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            if mode[0] == "hang":
                release.wait(30)
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=serve_each, args=(listener, serve), daemon=True).start()
    yield listener, mode
    release.set()
    listener.close()


def _check(testbed: Testbed, relay: Forwarder):  # type: ignore[no-untyped-def]
    host, _, port = testbed.dns_server.rpartition(":")
    image = testbed.images.app.ref(f"registry.test:{relay.port}")
    (target,) = run_report(
        [f"http://{image}"], dns_server=(host, int(port)), timeout=TIMEOUT_S
    ).targets
    manifest = next(o for o in target.observations if o.kind == "image.manifest")
    assert manifest.ok, manifest
    image_phase = next(p for p in target.phases if p.name == "image")
    return target, image_phase


@pytest.mark.parametrize("mode", ["close", "hang"])
def test_a_failing_early_spare_is_no_verdict(
    testbed: Testbed,
    isolate_env: object,
    relay: Forwarder,
    bad_server: tuple[socket.socket, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    listener, server_mode = bad_server
    server_mode[0] = mode
    connect = handover.connect_spare
    calls: list[int] = []

    async def first_to_the_bad_server(address: str, port: int, timeout: float):  # type: ignore[no-untyped-def]
        calls.append(port)
        if len(calls) == 1:  # the early spare: the TCP phase connects it first
            return await connect("127.0.0.1", listener.getsockname()[1], timeout)
        return await connect(address, port, timeout)

    monkeypatch.setattr(handover, "connect_spare", first_to_the_bad_server)
    target, image_phase = _check(testbed, relay)
    path = [step.what for step in target.critical_path]
    assert "GET manifest" in path, path  # sent again, over the kept connection
    # at most: the patience (two round trips and 200 ms), the request again, the blob
    assert image_phase.duration_ms < 6 * 2 * DELAY_S * 1000 + 200, image_phase


def test_a_slow_early_spare_is_not_waited_for(
    testbed: Testbed, isolate_env: object, relay: Forwarder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The early spare's SYN was lost (Linux sends it again after a second): the probe
    does not wait that second."""
    connect = handover.connect_spare
    calls: list[int] = []

    async def first_is_slow(address: str, port: int, timeout: float):  # type: ignore[no-untyped-def]
        calls.append(port)
        if len(calls) == 1:
            await asyncio.sleep(1.0)  # the lost SYN's retransmission, not a readiness wait
        return await connect(address, port, timeout)

    monkeypatch.setattr(handover, "connect_spare", first_is_slow)
    target, image_phase = _check(testbed, relay)
    assert "GET manifest" in [step.what for step in target.critical_path]
    assert image_phase.duration_ms < 6 * 2 * DELAY_S * 1000 + 200, image_phase
