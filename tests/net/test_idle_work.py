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


def test_a_job_added_first_runs_before_the_waiting_ones() -> None:
    done: list[str] = []
    ran = threading.Event()
    idle = IdleWork()
    idle.add(lambda: done.append("requests"))
    idle.add(lambda: done.append("chain"), first=True)  # what the first answer needs
    idle.add(ran.set)
    idle.start()
    assert ran.wait(10)
    idle.close()
    assert done == ["chain", "requests"]


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


def test_the_idle_work_starts_while_the_clienthello_is_in_flight(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch, plain_link: SlowLink
) -> None:
    # a name without a scheme: the TLS attempt (the check's first bytes on the link)
    # comes before any HTTP request, and the catalog is read during its round trips
    calls: list[tuple[float, str]] = []
    sent: list[float] = []
    real_catalog, real_fetch = pipeline.catalog, exchange.fetch

    def catalog(rule_dirs: tuple[Path, ...] = ()) -> Catalog:
        calls.append((time.monotonic(), threading.current_thread().name))
        return real_catalog(rule_dirs)

    async def fetch(*args: object, **kwargs: object) -> exchange.Exchange:
        sent.append(time.monotonic())
        return await real_fetch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "catalog", catalog)
    monkeypatch.setattr(exchange, "fetch", fetch)
    for module in ("regdoctor.probes.http_ping", "regdoctor.probes.image"):
        monkeypatch.setattr(f"{module}.fetch", fetch)
    image = testbed.images.app.ref(f"127.0.0.1:{plain_link.port}")
    (target,) = run_report([image], insecure=True).targets
    assert target.status == "ok", target.findings
    tls = next(o for o in target.observations if o.kind == "tls.handshake")
    assert tls.facts["outcome"] == "plain_http"
    first_at, first_thread = calls[0]
    assert first_thread.startswith("regdoctor-idle"), calls
    # before the first HTTP request: during the TLS attempt's round trips (>= 2 here)
    assert sent and first_at < sent[0] - RTT_S, (first_at, sent[0])


def test_a_configuration_target_is_judged_once_the_first_request_is_out(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch, plain_link: SlowLink
) -> None:
    import asyncio

    from regdoctor.discovery.observations import config_target, make_observation
    from regdoctor.options import CheckOptions
    from regdoctor.reference.targets import parse_target

    judged: list[tuple[float, str]] = []
    sent: list[float] = []
    real_report, real_fetch = pipeline._config_report, exchange.fetch

    def config_report(target, observations, rule_dirs):  # type: ignore[no-untyped-def]
        judged.append((time.monotonic(), threading.current_thread().name))
        return real_report(target, observations, rule_dirs)

    async def fetch(*args: object, **kwargs: object) -> exchange.Exchange:
        sent.append(time.monotonic())
        return await real_fetch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_config_report", config_report)
    for module in ("regdoctor.probes.exchange", "regdoctor.probes.http_ping"):
        monkeypatch.setattr(f"{module}.fetch", fetch)
    config = config_target("/etc/docker/daemon.json", "docker")
    seen = make_observation(config, "config.file", True, {"path": "/etc/docker/daemon.json"})
    registry = parse_target(f"http://{testbed.images.app.ref(f'127.0.0.1:{plain_link.port}')}")
    done: list[tuple[str, float]] = []
    report = asyncio.run(
        pipeline.run_check(
            [config, registry],
            CheckOptions(timeout=5.0, deadline=20.0),
            preset={config.id: [seen]},
            on_done=lambda r: done.append((r.target.kind, time.monotonic())),
        )
    )
    assert [t.target.kind for t in report.targets] == ["config", "registry"]  # target order
    assert report.targets[0].phases[0].name == "config"
    ((judged_at, thread),) = judged
    # not before the first packet: after the first request was sent ...
    assert sent and judged_at >= sent[0], (judged_at, sent)
    # ... but while it was on the link, not after the registry's last answer
    assert thread == "MainThread"
    assert dict(done)["config"] < dict(done)["registry"] - RTT_S, done


def test_idle_work_without_a_thread_drops_its_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    def no_thread(*args: object, **kwargs: object) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", no_thread)
    told: list[str] = []
    idle = IdleWork()
    idle.add(lambda: told.append("job"))
    idle.when_started(lambda: told.append("started"))
    idle.start()  # no exception: the jobs only prepare
    idle.add(lambda: told.append("late job"))
    idle.when_started(lambda: told.append("late callback"))
    assert told == ["started", "late callback"] and idle.started
    idle.close()
