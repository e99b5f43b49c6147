#!/usr/bin/env python3
"""Time to the first verdict of ``regdoctor check`` with one fast and one blackholed
target, piped and on a terminal (a pseudo-terminal), beside the time the whole run takes
and ``skopeo inspect`` on the fast target alone (when it tells the same fault).

The fast target is the testbed's expired-certificate registry; the blackholed one never
completes ``connect()``, so the run lasts ``--timeout`` (3 s). The figure that matters:
the first verdict line comes long before the blackhole is given up, under 1 s.

    PYTHONPATH=. python benchmarks/bench_first_verdict.py [--runs 5]

Exit 0 when the median time to the first verdict is under 1 s both piped and on the
terminal, 1 when not, 3 when it could not run. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT_S = 3
TARGET_S = 1.0


def isolated_env(root: Path) -> dict[str, str]:
    home = root / "home"
    (home / ".docker").mkdir(parents=True, exist_ok=True)
    (root / "config-root").mkdir(exist_ok=True)
    run = root / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")
    }
    env.update(
        HOME=str(home),
        DOCKER_CONFIG=str(home / ".docker"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_RUNTIME_DIR=str(run),
        REGISTRY_AUTH_FILE=str(run / "auth.json"),
        REGDOCTOR_CONFIG_ROOT=str(root / "config-root"),
    )
    return env


def regdoctor() -> list[str]:
    """The console script next to this interpreter (a pyenv shim adds ~55 ms)."""
    script = Path(sys.executable).with_name("regdoctor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "regdoctor"]


def piped(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds to the first line, seconds to exit)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    proc.stdout.readline()
    first = time.perf_counter() - started
    proc.stdout.read()
    proc.wait()
    return first, time.perf_counter() - started


def on_terminal(argv: list[str], env: dict[str, str], needle: bytes) -> tuple[float, float]:
    """(seconds to the first output holding ``needle``, seconds to exit), on a pty."""
    import fcntl
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env={**env, "TERM": "xterm-256color"}
    )
    os.close(slave)
    seen, first = b"", None
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            seen += data
            if first is None and needle in seen:
                first = time.perf_counter() - started
    finally:
        os.close(master)
    proc.wait()
    return (first if first is not None else float("inf")), time.perf_counter() - started


def figures(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from tests.harness.skopeo import skopeo_argv
    from tests.harness.testbed import start_testbed

    with tempfile.TemporaryDirectory(prefix="bench-first-verdict-") as tmp:
        root = Path(tmp)
        env = isolated_env(root)
        with start_testbed(root / "testbed") as bed:
            fast = bed.images.app.ref(bed.endpoints["tls_expired"].hostport)
            slow = bed.endpoints["blackhole"].hostport
            check = [*regdoctor(), "check", "--runtime", "podman", "--timeout", str(TIMEOUT_S)]
            rows: dict[str, list[float]] = {}
            for _ in range(args.runs):
                first, whole = piped([*check, fast, slow], env)
                rows.setdefault("piped: first verdict line", []).append(first)
                rows.setdefault("piped: whole run", []).append(whole)
                first, whole = on_terminal([*check, fast, slow], env, b"tls.expired")
                rows.setdefault("terminal: first verdict block", []).append(first)
                rows.setdefault("terminal: whole run", []).append(whole)
                started = time.perf_counter()
                subprocess.run(
                    [*check, "--format", "json", fast, slow], env=env, capture_output=True
                )
                rows.setdefault("json (whole document): exit", []).append(
                    time.perf_counter() - started
                )
                if shutil.which("skopeo"):
                    home = root / "skopeo"
                    home.mkdir(exist_ok=True)
                    argv = skopeo_argv(
                        home,
                        ["inspect", "--raw", f"docker://{fast}"],
                        tls_verify=True,
                        cert_dir=None,
                        creds=None,
                        timeout_s=10,
                    )
                    started = time.perf_counter()
                    subprocess.run(argv, env=env, capture_output=True)
                    rows.setdefault("skopeo inspect (fast target alone)", []).append(
                        time.perf_counter() - started
                    )
    print(f"{args.runs} runs, seconds: min / median / max (blackhole given up after {TIMEOUT_S} s)")
    width = max(len(k) for k in rows)
    for name, values in rows.items():
        print(f"  {name.ljust(width)}  {figures(values)}")
    met = all(
        statistics.median(rows[k]) < TARGET_S
        for k in ("piped: first verdict line", "terminal: first verdict block")
    )
    print(
        f"target: median first verdict < {TARGET_S:g} s piped and on a terminal: "
        f"{'met' if met else 'MISSED'}"
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    return 0 if met else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
