"""``regdoctor serve``: a Prometheus exporter that checks the targets on a schedule.

One background thread runs the checks, one after the other, each starting at least
``--interval`` seconds after the previous one started: scrapes only read the last
result, so however often Prometheus (or anyone) scrapes, the registries see one check
per interval. A small threading HTTP server from the standard library serves:

- ``/metrics``: the last check's metrics (:mod:`regdoctor.render.prometheus`) plus the
  exporter's own ``regdoctor_checks_total`` and ``regdoctor_last_check_timestamp_seconds``;
  before the first check has finished, only the exporter's own metrics;
- ``/healthz``: ``200 ok`` while the scheduler runs (the registries' health is in the
  metrics, not here: a failing registry must not restart the exporter);
- ``/report.json``: the last report (JSON schema v3), redacted.

SIGTERM and SIGINT stop it gracefully: the server stops accepting, a running check may
finish within its deadline, and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from regdoctor.cli.errors import say_error
from regdoctor.cli.options import add_check_arguments, bounded_number
from regdoctor.cli.serve_http import MAX_CONNECTIONS, HttpServer, raise_fd_limit
from regdoctor.model import ExitCode, Report, Target

DEFAULT_LISTEN = "127.0.0.1:9877"

DEFAULT_INTERVAL = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    exporter = parser.add_argument_group("exporter")
    exporter.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        type=listen_address,
        help=f"where to serve /metrics, /healthz and /report.json (default: {DEFAULT_LISTEN}, "
        "loopback only; port 0 picks a free port)",
    )
    exporter.add_argument(
        "--interval",
        type=interval_seconds,
        default=DEFAULT_INTERVAL,
        metavar="S",
        help="seconds between two checks; scrapes never trigger more checks "
        f"(default: {DEFAULT_INTERVAL:g})",
    )
    add_check_arguments(parser, report_format=False, verbose=False, fail_on=False)


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (loopback)."""
    value = text.strip()
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected [ADDRESS]:PORT, not {text!r}")
    else:
        host, sep, port = value.rpartition(":")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port: {port!r}")
    return host or "127.0.0.1", int(port)


#: ``--interval``: seconds between two checks.
interval_seconds = bounded_number(
    float, 0.5, 86400, "between 0.5 and 86400 seconds", noun="number of seconds"
)


__all__ = ["Exporter", "run"]


class Exporter:
    """The schedule and the last result; thread-safe."""

    def __init__(
        self,
        plan: Any,
        interval: float,
        *,
        redactor: Any,
        redact_hosts: bool = False,
        usernames: Sequence[str] = (),
        command: Sequence[str] = (),
    ) -> None:
        self.plan = plan
        self.interval = interval
        self.base_redactor = redactor
        self.redact_hosts = redact_hosts
        self.usernames = tuple(usernames)
        self.command = tuple(command)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.report: Report | None = None
        self.redactor: Any = redactor
        self.checks = 0
        self.last_finished: float | None = None  # Unix time
        # The answers, prepared once per completed check (a scrape renders nothing).
        self._metrics_body: bytes | None = None
        self._report_body: bytes | None = None
        self.thread = threading.Thread(target=self._loop, name="regdoctor-checks", daemon=True)

    # -- the schedule ---------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            self.check_once()
            wait = self.interval - (time.monotonic() - started)
            if wait > 0 and self.stop.wait(wait):
                break

    def check_once(self) -> None:
        from regdoctor.check.output import output_redactor

        try:
            report = asyncio.run(self.plan.run(self.command))
        except Exception as exc:  # a crash is a result: keep serving the last report
            print(f"regdoctor serve: check failed: {type(exc).__name__}", file=sys.stderr)
            return
        redactor = output_redactor(
            report, self.base_redactor, redact_hosts=self.redact_hosts, usernames=self.usernames
        )
        with self.lock:
            self.report = report
            self.redactor = redactor
            self.checks += 1
            self.last_finished = time.time()
            count = self.checks
            self._metrics_body = self._report_body = None
        # Rendered once per check, outside the lock.
        self.prepare()
        print(
            f"regdoctor serve: check {count} done in {report.duration_ms / 1000:.2f} s: "
            f"{report.status}",
            file=sys.stderr,
            flush=True,
        )

    # -- what the endpoints serve ---------------------------------------------------------

    def snapshot(self) -> tuple[Report | None, Any, int, float | None]:
        with self.lock:
            return self.report, self.redactor, self.checks, self.last_finished

    def metrics(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        from regdoctor.render.prometheus import ReportCollector

        report, redactor, checks, finished = self.snapshot()

        class _Own:
            def describe(self) -> list[Any]:
                return []

            def collect(self) -> Any:
                total = CounterMetricFamily(
                    "regdoctor_checks", "Checks run by this exporter since it started."
                )
                total.add_metric([], float(checks))
                yield total
                if finished is not None:
                    last = GaugeMetricFamily(
                        "regdoctor_last_check_timestamp_seconds",
                        "When the last check finished, as a Unix timestamp.",
                    )
                    last.add_metric([], finished)
                    yield last

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Own())  # type: ignore[arg-type]
        if report is not None:
            registry.register(ReportCollector(report, redactor))  # type: ignore[arg-type]
        return generate_latest(registry)

    def prepare(self) -> None:
        """Render ``/metrics`` and ``/report.json`` for the last completed check."""
        metrics = self.metrics()
        report = self.report_json()
        with self.lock:
            self._metrics_body, self._report_body = metrics, report

    def answer(self, path: str) -> tuple[int, bytes, str]:
        """(status, body, content type) of a GET on ``path``: from the bytes prepared at
        the end of the last completed check."""
        if path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST

            body = self._metrics_body
            if body is None:  # before the first check (or while it is being prepared)
                body = self.metrics()
            return 200, body, CONTENT_TYPE_LATEST
        if path == "/healthz":
            alive = self.thread.is_alive() and not self.stop.is_set()
            return (200, b"ok\n", "text/plain") if alive else (503, b"stopping\n", "text/plain")
        if path == "/report.json":
            report = self._report_body
            if report is None:
                report = self.report_json()
            if report is None:
                return 503, b'{"error": "no check has finished yet"}\n', "application/json"
            return 200, report, "application/json"
        if path == "/":
            return 200, b"regdoctor exporter: /metrics /healthz /report.json\n", "text/plain"
        return 404, b"not found\n", "text/plain"

    def report_json(self) -> bytes | None:
        from regdoctor.render.json_out import render_json

        report, redactor, _, _ = self.snapshot()
        if report is None:
            return None
        return (render_json(report, redactor=redactor) + "\n").encode("utf-8")


def run(args: argparse.Namespace) -> int:
    from regdoctor.check.plan import plan as plan_run
    from regdoctor.check.request import UsageError
    from regdoctor.cli.request import request_from_args
    from regdoctor.reference.targets import InvalidReference

    try:
        plan = plan_run(request_from_args(args))
    except (UsageError, InvalidReference) as exc:
        say_error("serve", exc, args=args)
        return int(ExitCode.CANNOT_RUN)
    options = plan.options
    host, port = args.listen
    exporter = Exporter(
        plan,
        args.interval,
        redactor=plan.redactor,
        redact_hosts=bool(getattr(args, "redact_hosts", False)),
        usernames=plan.usernames,
        command=["regdoctor", *sys.argv[1:]],
    )
    server = HttpServer(exporter, host, port, max_connections=raise_fd_limit(MAX_CONNECTIONS + 64))
    try:
        bound_host, bound_port = server.bind()
    except OSError as exc:
        print(
            f"regdoctor serve: cannot listen on {host}:{port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        server.loop.close()
        return int(ExitCode.CANNOT_RUN)
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host

    def stop(signum: int, frame: object) -> None:
        del signum, frame
        exporter.stop.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        exporter.start()
        server.start()
        print(
            f"regdoctor serve: listening on http://{shown}:{bound_port} "
            f"(interval {args.interval:g} s, {_count(plan.targets)}, "
            f"at most {server.max_connections} connections)",
            file=sys.stderr,
            flush=True,
        )
        while not exporter.stop.wait(0.5):
            pass
    finally:
        exporter.stop.set()
        server.stop()
        # A check under way ends within its deadline; do not wait longer than that.
        exporter.thread.join(timeout=min(float(options.deadline), 10.0) + 1.0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("regdoctor serve: stopped", file=sys.stderr, flush=True)
    return int(ExitCode.HEALTHY)


def _count(targets: Sequence[Target]) -> str:
    """``3 target(s)``, and the configuration files apart (they are not targets)."""
    files = sum(t.kind == "config" for t in targets)
    said = f"{len(targets) - files} target(s)"
    return f"{said} and {files} configuration file(s)" if files else said
