"""`regdoctor serve`, for real: a process, a registry that goes down and comes back,
and scrapes that never trigger checks of their own."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from regdoctor.cli.main import build_parser
from tests.harness import procs
from tests.harness.procs import poll_until
from tests.harness.registry import (
    REGISTRY_BIN,
    Registry,
    build_config,
    wait_all_ready,
)

INTERVAL = 2.0


def start_same_port(registry: Registry) -> None:
    """(Re)start ``registry`` on the port it already has."""
    config = build_config(registry.port, registry.storage_root, registry.options)
    registry.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    registry.proc = procs.spawn(
        [REGISTRY_BIN, "serve", str(registry.config_path)],
        registry.log_path,
        procs.clean_env(registry.workdir),
    )
    registry.ready = False
    wait_all_ready([registry])


class Served:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.url = self._wait_for_url()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, "serve exited early"
                continue
            self.log.append(line)
            if "listening on " in line:
                return line.split("listening on ", 1)[1].split()[0]
        raise AssertionError("serve never said where it listens: " + "".join(self.log))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> dict[str, list]:
        status, text = self.get("/metrics")
        assert status == 200
        return {f.name: f.samples for f in text_string_to_metric_families(text)}

    def checks(self) -> int:
        samples = self.metrics()["regdoctor_checks"]
        return int(next(s.value for s in samples if s.name == "regdoctor_checks_total"))

    def success(self, target: str) -> float | None:
        for sample in self.metrics().get("regdoctor_probe_success", []):
            if sample.labels["target"] == target:
                return sample.value
        return None

    def wait_for(self, predicate, timeout: float = 20.0) -> None:
        poll_until(predicate, timeout, "the exporter's metrics", interval_s=0.2)


@contextlib.contextmanager
def serving(*args: str, stdin: str | None = None) -> Iterator[Served]:
    """``regdoctor serve --listen 127.0.0.1:0 ARGS``, its URL read from its log; killed on
    the way out if the test did not stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "regdoctor", "serve", "--listen", "127.0.0.1:0", *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        yield Served(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop(served: Served) -> None:
    """SIGTERM: a graceful stop, exit 0."""
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=10) == 0


@pytest.fixture
def own_registry(tmp_path: Path):
    registry = Registry("serve-test", tmp_path / "registry", tmp_path / "storage")
    registry.start()
    wait_all_ready([registry])
    yield registry
    registry.stop()


def test_default_bind_is_loopback():
    args = build_parser().parse_args(["serve", "registry.test"])
    assert args.listen == ("127.0.0.1", 9877)
    assert args.interval == 60.0


def test_serve_follows_a_registry_down_and_back(own_registry: Registry, isolate_env):
    target = f"127.0.0.1:{own_registry.port}"
    # a plain-HTTP loopback registry: docker pulls from it (podman would not)
    with serving(
        "--interval",
        str(INTERVAL),
        "--timeout",
        "1",
        "--deadline",
        "1.5",
        "--runtime",
        "docker",
        target,
    ) as served:
        started = time.monotonic()
        assert served.url.startswith("http://127.0.0.1:")
        assert served.get("/healthz") == (200, "ok\n")
        served.wait_for(lambda: served.checks() >= 1)
        assert served.success(target) == 1.0

        # A burst of scrapes between two checks triggers no check.
        before = served.checks()
        burst_start = time.monotonic()
        for _ in range(15):
            served.metrics()
        burst = time.monotonic() - burst_start
        assert burst < INTERVAL
        assert served.checks() - before <= 1

        own_registry.stop()
        served.wait_for(lambda: served.success(target) == 0.0)
        findings = served.metrics()["regdoctor_finding"]
        assert {s.labels["category"] for s in findings} == {"tcp.refused"}
        status, body = served.get("/report.json")
        assert status == 200 and json.loads(body)["status"] == "error"

        start_same_port(own_registry)
        served.wait_for(lambda: served.success(target) == 1.0)
        assert not [
            s
            for s in served.metrics().get("regdoctor_finding", [])
            if s.labels["severity"] == "error"
        ]

        # Never more often than the interval, however often it was scraped.
        elapsed = time.monotonic() - started
        assert served.checks() <= elapsed / INTERVAL + 2

        stop(served)
        rest = served.proc.stderr.read() if served.proc.stderr else ""
        assert "stopped" in "".join(served.log) + rest + "".join(list(served.lines.queue))


def test_unknown_path_and_report_before_first_check(isolate_env, testbed):
    # The blackhole never answers: the first check takes the whole deadline.
    target = testbed.endpoints["blackhole"].hostport
    with serving("--interval", "30", "--timeout", "2", "--deadline", "3", target) as served:
        assert served.get("/nope")[0] == 404
        status, body = served.get("/report.json")
        assert status == 503, body
        metrics = served.metrics()
        assert "regdoctor_probe_success" not in metrics
        assert served.checks() == 0
        stop(served)
