"""Issue #13, long-running serve: the token-auth memory leak and idle connections.

Short versions of the benchmarks (``benchmarks/bench_serve.py``; the 10-minute soak and
its figures are in ``benchmarks/README.md``)."""

from __future__ import annotations

import os
import resource
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from fresh_token import FreshTokenRegistry

from regdoctor.redact.secrets import LEARNED_BUDGET_BYTES


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _serve(targets: list[str], interval: str, nofile: int | None = None):  # type: ignore[no-untyped-def]
    def limit() -> None:
        os.setpgrp()
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    argv = [sys.executable, "-m", "regdoctor", "serve", "--listen", "127.0.0.1:0"]
    argv += ["--interval", interval, "--timeout", "3", "--deadline", "20", *targets]
    env = {**os.environ, "HOME": "/nonexistent"}
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, preexec_fn=limit, env=env)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "listening on" in line, line
    return proc, int(line.split("http://127.0.0.1:")[1].split()[0])


def _stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _scrape(port: int, timeout: float = 5.0) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as answer:
        answer.read()
    return time.perf_counter() - started


#: How long the serve test watches serve, the warm-up it leaves out of the memory
#: figure, and the growth it allows after it: the same third of a MB a second as 15 MB
#: in 45 s (when it watched one serve for a minute). The leak of the report (every token
#: in one regular expression, recompiled per token) grows 5-8 MB a second from the first
#: second on and slows each check from the start; bench_serve.py soak is the 10-minute
#: run.
WATCH_S = 15.0
WARM_S = 5.0
GROWTH_MB = (WATCH_S - WARM_S) / 3
#: The token sizes (random bytes in the payload) of the two serves watched side by
#: side: the report's (about 1,250 characters: in 15 s serve learns 300 of them, and a
#: cost per known token shows), and about 43 KB (under auth_dance.MAX_TOKEN_BYTES),
#: which fill serve's learned-token registry (LEARNED_BUDGET_BYTES, 1 MB, least
#: recently used out) within 2 s, so that one is watched in the steady state,
#: evictions included (a minute's run with the report's tokens reached it after 41 s;
#: evicted tokens that stayed indexed grow it by 8 MB in 10 s).
PADS = (300, 16000)


class _Watched:
    """One ``serve`` of 10 targets every 0.5 s against its own fresh-token registry."""

    def __init__(self, pad_bytes: int) -> None:
        self.pad_bytes = pad_bytes
        self.registry = FreshTokenRegistry(pad_bytes=pad_bytes).start()
        targets = [f"http://{self.registry.hostport}/team/app{i}:1" for i in range(10)]
        try:
            self.proc, self.port = _serve(targets, "0.5")
        except BaseException:
            self.registry.stop()
            raise
        assert self.proc.stderr is not None
        os.set_blocking(self.proc.stderr.fileno(), False)
        self.samples: list[tuple[float, float]] = []  # (when, RSS in MB)
        self.durations: list[tuple[float, float]] = []  # (when serve reported a check, its time)

    def drain(self, now: float) -> None:
        while True:
            line = self.proc.stderr.readline()  # type: ignore[union-attr]
            if not line:
                return
            if " done in " in line:
                self.durations.append((now, float(line.split(" done in ")[1].split()[0])))

    def sample(self, now: float) -> None:
        self.drain(now)
        _scrape(self.port)
        self.samples.append((now, _rss_mb(self.proc.pid)))

    def stop(self) -> None:
        _stop(self.proc)
        self.registry.stop()

    def problems(self) -> list[str]:
        what = f"serve (tokens padded with {self.pad_bytes} random bytes)"
        warm = [rss for t, rss in self.samples if t >= WARM_S]
        growth = max(warm) - warm[0]
        if growth >= GROWTH_MB:
            return [
                f"{what} grew {growth:.1f} MB in {WATCH_S - WARM_S:g} s "
                f"({warm[0]:.0f} -> {max(warm):.0f})"
            ]
        problems = []
        if self.registry.issued <= 100:  # fresh tokens really flowed
            problems.append(f"{what}: only {self.registry.issued} tokens issued")
        # The first checks (after the first two, which pay one-off costs) against those
        # of the second half. By when they ended, not by count: the leak makes checks
        # slower, so fewer of them, and the first and last 20 were then nearly the same.
        early = sorted(took for t, took in self.durations[2:] if t < WARM_S)
        late = sorted(took for t, took in self.durations if t >= (WARM_S + WATCH_S) / 2)
        if not early or not late:
            return [*problems, f"{what}: no check reported early or late: {self.durations}"]
        early_median, late_median = early[len(early) // 2], late[len(late) // 2]
        if late_median > early_median * 1.5 + 0.1:
            problems.append(
                f"{what}: checks slowed from {early_median:.2f} s to {late_median:.2f} s"
            )
        return problems


def test_serve_does_not_grow_against_a_fresh_token_server() -> None:
    """The report: 80 to 410 MB in 75 s with 10 targets at 0.5 s, checks 1.0 -> 6.2 s."""
    runs: list[_Watched] = []
    try:
        for pad in PADS:
            runs.append(_Watched(pad))
        started = time.monotonic()
        while time.monotonic() - started < WATCH_S:
            for run in runs:
                run.sample(time.monotonic() - started)
            # sample again when a serve reports another check, at most a second later
            select.select([run.proc.stderr for run in runs], [], [], 1.0)
        for run in runs:
            run.drain(time.monotonic() - started)
    finally:
        for run in runs:
            run.stop()
    problems = [problem for run in runs for problem in run.problems()]
    assert not problems, "\n".join(problems)
    learned = runs[-1].registry.issued * 2 * PADS[-1]  # the hex of the pads alone
    assert learned > 2 * LEARNED_BUDGET_BYTES, f"{learned} bytes learned: the bound was not met"


def test_idle_connections_do_not_starve_scrapes() -> None:
    """The report: with 1,024 descriptors, 1,100 idle connections time every scrape out."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
    registry = FreshTokenRegistry().start()
    # the default limit of most systems: serve must raise it or cope
    proc, port = _serve([f"http://{registry.hostport}/team/app:1"], "30", nofile=1024)
    sockets = []
    try:
        _scrape(port)
        for _ in range(1100):
            try:
                sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            except OSError:
                break
        # starved, a scrape times out (3 s); served, it takes milliseconds (on a loaded
        # 2-core machine up to a second: the bound tells the two apart, not the speed)
        slowest = max(_scrape(port, timeout=3) for _ in range(20))
        assert slowest < 2.5, f"a scrape took {slowest:.2f} s"
        threads = int(Path(f"/proc/{proc.pid}/status").read_text().split("Threads:")[1].split()[0])
        assert threads < 50, f"{threads} threads for {len(sockets)} idle connections"
    finally:
        for sock in sockets:
            sock.close()
        _stop(proc)
        registry.stop()
