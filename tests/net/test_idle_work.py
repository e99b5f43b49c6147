"""First-use work done while requests are on the link (``regdoctor/net/idle.py``): the
rule catalog and the judgement's imports are prepared by a worker thread during the
check's network waits, not after its last answer; and a request's ``--debug`` trace line
(a redaction pass over its URL and headers) is built only when there is a trace."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from regdoctor.check import pipeline
from regdoctor.engine.loader import Catalog
from regdoctor.net.idle import IdleWork
from regdoctor.probes import exchange
from tests.harness.slow_link import SlowLink
from tests.harness.testbed import Testbed
from tests.helpers.reports import run_report

RTT_S = 0.5


@pytest.fixture
def plain_link(testbed: Testbed) -> Iterator[SlowLink]:
    slow = SlowLink(testbed.endpoints["plain"].port, RTT_S)
    yield slow
    slow.close()


def test_idle_jobs_wait_for_start_and_closing_drops_the_rest() -> None:
    done: list[str] = []
    ran = threading.Event()
    idle = IdleWork()
    idle.add(lambda: done.append("first"))
    assert done == [] and idle.started_jobs == 0  # nothing before a request is in flight
    idle.add(lambda: done.append("second"))
    idle.add(ran.set)
    idle.start()
    idle.start()  # once
    assert ran.wait(10)
    assert done == ["first", "second"]
    idle.add(lambda: 1 / 0)  # a failing job only prepares: the work is done when due
    idle.close()
    idle.add(lambda: done.append("after close"))
    idle.start()
    assert "after close" not in done and idle.started_jobs == 4


def test_the_catalog_is_read_while_requests_are_on_the_link(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch, plain_link: SlowLink
) -> None:
    calls: list[tuple[float, str]] = []
    real = pipeline.catalog

    def catalog(rule_dirs: tuple[Path, ...] = ()) -> Catalog:
        calls.append((time.monotonic(), threading.current_thread().name))
        return real(rule_dirs)

    monkeypatch.setattr(pipeline, "catalog", catalog)
    image = testbed.images.app.ref(f"127.0.0.1:{plain_link.port}")
    (target,) = run_report([f"http://{image}"]).targets
    end = time.monotonic()
    manifest = next(o for o in target.observations if o.kind == "image.manifest")
    assert manifest.ok, manifest
    first_at, first_thread = calls[0]
    assert first_thread.startswith("regdoctor-idle"), calls
    # at least half a round trip before the check ended: during a request, not after
    assert end - first_at > RTT_S / 2, (end - first_at, calls)


@pytest.mark.parametrize("debug", [False, True])
def test_a_request_trace_line_is_built_only_for_a_trace(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    shown: list[str] = []
    real = exchange._shown

    def counted(text: str) -> str:
        shown.append(text)
        return real(text)

    monkeypatch.setattr(exchange, "_shown", counted)
    lines: list[str] = []
    image = testbed.images.app.ref(testbed.endpoints["plain"].hostport)
    report = run_report([f"http://{image}"], trace=lines.append if debug else None)
    assert report.targets[0].findings is not None
    if debug:
        assert shown and any("GET" in line for line in lines)
    else:
        assert shown == []
