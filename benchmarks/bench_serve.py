"""Soak and load figures for ``regdoctor serve`` and a wide ``check`` (issue #13).

    PYTHONPATH=. python3 benchmarks/bench_serve.py soak --minutes 10   # RSS and check time
    PYTHONPATH=. python3 benchmarks/bench_serve.py idle --connections 2000
    PYTHONPATH=. python3 benchmarks/bench_serve.py check500

``soak``: a registry on loopback whose token server issues a fresh token per request
(:mod:`benchmarks.fresh_token`, as Docker Hub does), ``regdoctor serve --interval 0.5``
on 20 image targets there, scraped every second, for ``--minutes``; RSS sampled every 5 s
(``VmRSS``), every check's duration read from serve's log. In the same run, Debian's
``prometheus-blackbox-exporter`` (when installed) probes the equivalent endpoints (each
target's ``/v2/`` challenge and its token realm, every 0.5 s) so the two steady states
can be compared. Pass: RSS growth after warm-up (the first quarter) under 10 MB, and the
median check time of the last minute within 25 % of the first minute's after warm-up.

``idle``: serve with the default file-descriptor limit raised as serve does, N idle
connections opened, then 200 scrapes of ``/metrics``: pass when every one answered
within 100 ms.

``check500``: ``regdoctor check --format json`` of 500 image targets on the fresh-token
registry: pass when the peak RSS (``VmHWM`` of that process) is under 250 MB.

Exit 0 when every figure passes, 1 otherwise. Prints one table per mode.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh_token import FreshTokenRegistry


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def env() -> dict[str, str]:
    out = dict(os.environ)
    home = tempfile.mkdtemp(prefix="regdoctor-bench-home-")
    out.update({"HOME": home, "XDG_CONFIG_HOME": f"{home}/.config"})
    for name in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "HTTPS_PROXY", "HTTP_PROXY"):
        out.pop(name, None)
    return out


def start_serve(targets: list[str], interval: float, nofile: int | None = None):  # type: ignore[no-untyped-def]
    def limit() -> None:
        os.setpgrp()
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    argv = [sys.executable, "-m", "regdoctor", "serve", "--listen", "127.0.0.1:0"]
    argv += ["--interval", str(interval), "--timeout", "3", "--deadline", "20", *targets]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env(), preexec_fn=limit)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    port = int(line.split("http://127.0.0.1:")[1].split()[0])
    return proc, port


def stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def scrape(port: int, path: str = "/metrics", timeout: float = 5.0) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
        answer.read()
    return (time.perf_counter() - started) * 1000


# -- soak ----------------------------------------------------------------------------------

BLACKBOX_CONFIG = """modules:
  v2_challenge:
    prober: http
    timeout: 3s
    http:
      valid_status_codes: [401]
  token:
    prober: http
    timeout: 3s
    http:
      valid_status_codes: [200]
"""


def start_blackbox(workdir: Path) -> tuple[subprocess.Popen | None, int]:  # type: ignore[type-arg]
    binary = shutil.which("prometheus-blackbox-exporter")
    if binary is None:
        return None, 0
    config = workdir / "blackbox.yml"
    config.write_text(BLACKBOX_CONFIG)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=os.setpgrp,
    )
    ends = time.monotonic() + 10
    while time.monotonic() < ends:
        try:
            scrape(port, "/metrics", 1)
            return proc, port
        except OSError:
            time.sleep(0.1)
    stop(proc)
    return None, 0


def soak(args: argparse.Namespace) -> bool:
    registry = FreshTokenRegistry().start()
    targets = [f"http://{registry.hostport}/team/app{i}:1" for i in range(args.targets)]
    proc, port = start_serve(targets, args.interval)
    workdir = Path(tempfile.mkdtemp(prefix="regdoctor-bench-"))
    blackbox, bb_port = start_blackbox(workdir)
    durations: list[tuple[float, float]] = []  # (elapsed s, check s)
    started = time.monotonic()

    def read_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if " done in " in line:
                value = float(line.split(" done in ")[1].split()[0])
                durations.append((time.monotonic() - started, value))

    threading.Thread(target=read_log, daemon=True).start()
    stopping = threading.Event()

    def blackbox_prober() -> None:
        while not stopping.wait(args.interval):
            for i in range(args.targets):
                base = f"http://{registry.hostport}"
                for module, url in (("v2_challenge", f"{base}/v2/"), ("token", f"{base}/token")):
                    try:
                        scrape(bb_port, f"/probe?module={module}&target={url}", 5)
                    except OSError:
                        pass
                del i

    if blackbox is not None:
        threading.Thread(target=blackbox_prober, daemon=True).start()
    samples: list[tuple[float, float, float, float, float]] = []
    scrape_ms: list[float] = []
    total = args.minutes * 60
    try:
        next_sample = 0.0
        while (now := time.monotonic() - started) < total:
            try:
                scrape_ms.append(scrape(port))
            except OSError:
                scrape_ms.append(float("inf"))
            if now >= next_sample:
                bb = blackbox.pid if blackbox is not None else 0
                samples.append((now, rss_mb(proc.pid), cpu_s(proc.pid), rss_mb(bb), cpu_s(bb)))
                next_sample += 5
            time.sleep(1)
    finally:
        stopping.set()
        stop(proc)
        if blackbox is not None:
            stop(blackbox)
        registry.stop()
    warm = total / 4
    steady = [s for s in samples if s[0] >= warm]
    base_rss = steady[0][1]
    growth = max(s[1] for s in steady) - base_rss
    first = [d for t, d in durations if warm <= t < warm + 60]
    last = [d for t, d in durations if t >= total - 60]
    first_med, last_med = statistics.median(first), statistics.median(last)
    cpu_per_min = (steady[-1][2] - steady[0][2]) / max(1e-9, (steady[-1][0] - steady[0][0]) / 60)
    finite = sorted(x for x in scrape_ms if x != float("inf"))
    print(f"soak: {args.minutes:g} min, {args.targets} targets, interval {args.interval:g} s")
    print(f"  checks run                 {len(durations)}")
    print(f"  tokens issued              {registry.issued}")
    print(f"  serve RSS after warm-up    {base_rss:.1f} MB")
    print(f"  serve RSS at the end       {steady[-1][1]:.1f} MB")
    print(f"  serve RSS growth           {growth:.1f} MB (max after warm-up - first)")
    print(f"  check time, first minute   median {first_med:.3f} s (after warm-up)")
    print(f"  check time, last minute    median {last_med:.3f} s")
    print(f"  serve CPU                  {cpu_per_min:.1f} s per minute")
    print(
        f"  scrapes                    {len(scrape_ms)}, failed {len(scrape_ms) - len(finite)}, "
        f"p50 {statistics.median(finite):.1f} ms, max {finite[-1]:.1f} ms"
    )
    if blackbox is not None:
        bb_cpu = (steady[-1][4] - steady[0][4]) / max(1e-9, (steady[-1][0] - steady[0][0]) / 60)
        bb_growth = max(s[3] for s in steady) - steady[0][3]
        print("  blackbox exporter (same run, /v2/ challenge + token realm per target):")
        print(f"    RSS after warm-up        {steady[0][3]:.1f} MB")
        print(f"    RSS at the end           {steady[-1][3]:.1f} MB (growth {bb_growth:.1f} MB)")
        print(f"    CPU                      {bb_cpu:.1f} s per minute")
    else:
        print("  blackbox exporter: not installed (apt-get install prometheus-blackbox-exporter)")
    ok = growth < 10 and last_med <= first_med * 1.25 + 0.05
    print(f"  {'PASS' if ok else 'FAIL'}: growth < 10 MB and flat check time")
    return ok


# -- idle connections ----------------------------------------------------------------------


def idle(args: argparse.Namespace) -> bool:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.connections + 1024), hard))
    registry = FreshTokenRegistry().start()
    proc, port = start_serve([f"http://{registry.hostport}/team/app:1"], 5.0)
    sockets = []
    try:
        for _ in range(args.connections):
            sockets.append(socket.create_connection(("127.0.0.1", port)))
        latencies = []
        for _ in range(200):
            try:
                latencies.append(scrape(port, timeout=5))
            except OSError:
                latencies.append(float("inf"))
        alive = 0
        for sock in sockets:
            sock.setblocking(False)
            try:
                alive += sock.recv(1) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        threads = rss = 0.0
        status = Path(f"/proc/{proc.pid}/status").read_text()
        threads = int(status.split("Threads:")[1].split()[0])
        rss = rss_mb(proc.pid)
    finally:
        for sock in sockets:
            sock.close()
        stop(proc)
        registry.stop()
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(f"idle: {args.connections} idle connections opened, 200 scrapes of /metrics")
    p50 = statistics.median(ordered)
    print(f"  scrape p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms")
    print(f"  idle connections still open at the end: {alive}")
    print(f"  serve threads {threads:.0f}, RSS {rss:.1f} MB")
    ok = ordered[-1] < 100
    print(f"  {'PASS' if ok else 'FAIL'}: every scrape within 100 ms")
    return ok


# -- check of 500 targets ------------------------------------------------------------------


def check500(args: argparse.Namespace) -> bool:
    registry = FreshTokenRegistry().start()
    targets = [f"http://{registry.hostport}/team/app{i}:1" for i in range(args.targets)]
    argv = [sys.executable, "-m", "regdoctor", "check", "--format", "json"]
    argv += ["--timeout", "10", "--deadline", "120", *targets]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    peak = 0.0
    out: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda: out.__setitem__("o", proc.stdout.read())),  # type: ignore[union-attr]
        threading.Thread(target=lambda: out.__setitem__("e", proc.stderr.read())),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()
    while proc.poll() is None:
        peak = max(peak, rss_mb(proc.pid, "VmHWM"))
        time.sleep(0.02)
    for reader in readers:
        reader.join()
    elapsed = time.monotonic() - started
    registry.stop()
    print(f"check500: {args.targets} image targets on one fresh-token registry")
    print(f"  exit {proc.returncode}, {elapsed:.1f} s, peak RSS {peak:.1f} MB")
    print(f"  tokens issued {registry.issued}")
    ok = peak < 250 and proc.returncode in (0, 1)
    print(f"  {'PASS' if ok else 'FAIL'}: peak RSS under 250 MB, no error")
    if proc.returncode not in (0, 1):
        print(out.get("e", b"")[-2000:].decode("utf-8", "replace"))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("soak")
    s.add_argument("--minutes", type=float, default=10)
    s.add_argument("--targets", type=int, default=20)
    s.add_argument("--interval", type=float, default=0.5)
    i = sub.add_parser("idle")
    i.add_argument("--connections", type=int, default=2000)
    c = sub.add_parser("check500")
    c.add_argument("--targets", type=int, default=500)
    args = parser.parse_args()
    ok = {"soak": soak, "idle": idle, "check500": check500}[args.mode](args)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
