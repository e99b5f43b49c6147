"""``regdoctor serve``: a Prometheus exporter that checks the targets on a schedule.

(Over 500 lines: the schedule and the bounded asyncio HTTP server share one lifecycle;
splitting them is the next step if either grows.)

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


#: What one connection may take: the request head must arrive within
#: HEADER_TIMEOUT_S of the connection (or of the previous answer, on a kept-alive
#: connection: KEEPALIVE_IDLE_S), be at most MAX_HEAD_BYTES, and a connection serves
#: at most MAX_REQUESTS_PER_CONNECTION requests. An answer that cannot be written within
#: WRITE_TIMEOUT_S (a reader that does not read) closes the connection.
HEADER_TIMEOUT_S = 10.0
KEEPALIVE_IDLE_S = 15.0
WRITE_TIMEOUT_S = 10.0
MAX_HEAD_BYTES = 16 * 1024
MAX_REQUESTS_PER_CONNECTION = 1000
#: Open connections at most (lowered to what the file-descriptor limit allows). When
#: full, the connection idle for longest is closed for the new one: idle connections
#: never lock a scraper out.
MAX_CONNECTIONS = 10_000

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft limit of open files towards ``wanted`` (up to the hard limit);
    the connection cap this allows."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    except (ImportError, ValueError, OSError):
        return 512
    limit = wanted if soft == resource.RLIM_INFINITY else int(soft)
    # a quarter of the descriptors stays for the checks themselves
    return max(16, min(MAX_CONNECTIONS, (limit - 64) * 3 // 4))


class HttpServer:
    """The exporter's HTTP server: one event loop in one thread, one coroutine per
    connection (no thread per connection), per-connection read and write timeouts, a
    connection cap with eviction of the longest-idle connection, keep-alive limits.
    Answers come from bytes prepared once per completed check (see
    :meth:`Exporter.answer`), so a scrape costs no rendering."""

    def __init__(self, exporter: Exporter, host: str, port: int, *, max_connections: int) -> None:
        self.exporter = exporter
        self.host, self.port = host, port
        self.max_connections = max_connections
        self.loop = asyncio.new_event_loop()
        self.listener: Any = None
        self.accepted = 0
        self.starting = 0  # accepted, stream not yet set up
        self.thread = threading.Thread(target=self._run, name="regdoctor-http", daemon=True)
        # writer -> (idle since (monotonic) or None while answering)
        self.connections: dict[asyncio.StreamWriter, float | None] = {}
        self.evicted = 0

    # -- life cycle --------------------------------------------------------------------

    def bind(self) -> tuple[str, int]:
        """Listen (raises OSError); the bound address. Connections are accepted by
        :meth:`_accept_ready`, one at a time, room being made *before* each accept: the
        process never runs out of descriptors, so a scraper is never left in the
        backlog behind idle connections."""
        import socket

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.create_server((self.host, self.port), family=family, backlog=1024)
        listener.setblocking(False)
        self.listener = listener
        self.loop.add_reader(listener.fileno(), self._accept_ready)
        address = listener.getsockname()
        return str(address[0]), int(address[1])

    def _accept_ready(self) -> None:
        for _ in range(64):
            if not self._make_room():
                return  # every connection is busy answering: accept when one ends
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return
            except OSError:  # EMFILE, ENFILE...: make room in bulk, retry on next event
                self._evict(max(1, len(self.connections) // 10))
                return
            conn.setblocking(False)
            self.accepted += 1
            self.starting += 1
            self.loop.create_task(self._start_connection(conn))

    async def _start_connection(self, conn: Any) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=conn, limit=MAX_HEAD_BYTES)
        except OSError:
            self.starting -= 1
            conn.close()
            return
        self.starting -= 1
        await self._connection(reader, writer)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def stop(self) -> None:
        async def close() -> None:
            if self.listener is not None:
                self.loop.remove_reader(self.listener.fileno())
                self.listener.close()
            for writer in list(self.connections):
                writer.close()
            await asyncio.sleep(0)

        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        else:
            self.loop.run_until_complete(close())
        self.loop.close()

    # -- connections -------------------------------------------------------------------

    def _evict(self, count: int) -> int:
        """Close the ``count`` connections idle for longest; how many were closed."""
        idle = sorted(
            ((since, w) for w, since in self.connections.items() if since is not None),
            key=lambda pair: pair[0],
        )[:count]
        for _, writer in idle:
            self.connections.pop(writer, None)
            writer.transport.abort()
        self.evicted += len(idle)
        return len(idle)

    def _make_room(self) -> bool:
        if len(self.connections) + self.starting < self.max_connections:
            return True
        return self._evict(max(1, self.max_connections // 20)) > 0

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        self.connections[writer] = loop.time()
        try:
            for served in range(MAX_REQUESTS_PER_CONNECTION):
                self.connections[writer] = loop.time()
                wait = HEADER_TIMEOUT_S if served == 0 else KEEPALIVE_IDLE_S
                try:
                    async with asyncio.timeout(wait):
                        head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.LimitOverrunError:
                    await self._write(writer, 431, b"request head too large\n", keep=False)
                    return
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                if writer not in self.connections:  # evicted while reading
                    return
                self.connections[writer] = None
                status, body, ctype, keep, method = self._answer(head)
                last = served == MAX_REQUESTS_PER_CONNECTION - 1 or self.exporter.stop.is_set()
                keep = keep and not last
                if not await self._write(
                    writer, status, body, ctype=ctype, keep=keep, head_only=method == "HEAD"
                ):
                    return
                if not keep:
                    return
        except Exception:  # one broken connection must never stop the server
            return
        finally:
            self.connections.pop(writer, None)
            writer.close()

    def _answer(self, head: bytes) -> tuple[int, bytes, str, bool, str]:
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
        except ValueError:
            return 400, b"bad request\n", "text/plain", False, "GET"
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        keep = (version == "HTTP/1.1" and "close" not in connection) or (
            version == "HTTP/1.0" and "keep-alive" in connection
        )
        if headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers:
            return 413, b"no request body expected\n", "text/plain", False, method
        if method not in ("GET", "HEAD"):
            return 405, b"method not allowed\n", "text/plain", False, method
        status, body, ctype = self.exporter.answer(target.split("?", 1)[0])
        return status, body, ctype, keep, method

    async def _write(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        *,
        ctype: str = "text/plain",
        keep: bool,
        head_only: bool = False,
    ) -> bool:
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
            f"Server: regdoctor\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n"
            + (
                f"Keep-Alive: timeout={KEEPALIVE_IDLE_S:g}, max={MAX_REQUESTS_PER_CONNECTION}\r\n"
                if keep
                else ""
            )
            + "\r\n"
        ).encode("ascii")
        try:
            writer.write(head if head_only else head + body)
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await writer.drain()
        except (TimeoutError, ConnectionError, OSError):
            return False
        return True


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
