#!/usr/bin/env python3
"""Time from process start to the TUI's first frame, in a real terminal (tmux).

    PYTHONPATH=. python benchmarks/bench_tui_first_frame.py [--runs 7] [--json FILE]

Starts ``regdoctor tui 127.0.0.1:9`` (an IP literal: no DNS; port 9 answers nothing)
in a private tmux server ``--runs`` times; the App writes the wall-clock and CPU seconds
since its process started to ``$REGDOCTOR_TUI_FIRST_FRAME`` after its first refresh
(docs/tui.md). ``python -c pass`` is timed in the same rounds as the floor. Prints each
run, the median and the best. Exit 0 when the median first frame is under 1 s (the TUI
issue's budget), 1 when it is not, 3 when it could not run (no tmux).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.harness.procs import poll_until  # noqa: E402

BUDGET_S = 1.0


def _tmux(socket: Path, *args: str) -> None:
    subprocess.run(["tmux", "-S", str(socket), *args], capture_output=True, timeout=10, check=True)


def first_frame(workdir: Path, run: int) -> tuple[float, float]:
    """(wall s, CPU s) from process start to the first frame, one start of the program."""
    out = workdir / f"first-frame-{run}"
    socket = workdir / f"tmux-{run}.sock"
    argv = [sys.executable, "-m", "regdoctor", "tui", "127.0.0.1:9"]
    env = dict(os.environ, REGDOCTOR_TUI_FIRST_FRAME=str(out), TERM="xterm-256color")
    session = ["new-session", "-d", "-s", "rd", "-x", "80", "-y", "24", shlex.join(argv)]
    subprocess.run(
        ["tmux", "-S", str(socket), "-f", "/dev/null", *session],
        env=env,
        check=True,
        timeout=10,
    )
    try:
        poll_until(lambda: out.exists() and bool(out.read_text().strip()), 30, "the first frame")
        _tmux(socket, "send-keys", "-t", "rd", "q")
        fields = out.read_text().split()
        return float(fields[0]), float(fields[1]) if len(fields) > 1 else float("nan")
    finally:
        subprocess.run(
            ["tmux", "-S", str(socket), "kill-server"], capture_output=True, timeout=10, check=False
        )


def floor_s() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("needs tmux (Debian package tmux)", file=sys.stderr)
        return 3
    walls: list[float] = []
    cpus: list[float] = []
    floors: list[float] = []
    with tempfile.TemporaryDirectory(prefix="rd-tui-bench-") as tmp:
        for run in range(args.runs):
            floors.append(floor_s())
            wall, cpu = first_frame(Path(tmp), run)
            walls.append(wall)
            cpus.append(cpu)
            print(f"run {run + 1}: first frame {wall * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms)")
    result = {
        "runs": args.runs,
        "first_frame_median_s": statistics.median(walls),
        "first_frame_best_s": min(walls),
        "first_frame_cpu_median_s": statistics.median(cpus),
        "python_c_pass_median_s": statistics.median(floors),
        "budget_s": BUDGET_S,
        "load_average_1m": os.getloadavg()[0],
    }
    result["met"] = result["first_frame_median_s"] < BUDGET_S
    print(
        f"first frame: median {result['first_frame_median_s'] * 1000:.0f} ms, best "
        f"{result['first_frame_best_s'] * 1000:.0f} ms, CPU median "
        f"{result['first_frame_cpu_median_s'] * 1000:.0f} ms; python -c pass "
        f"{result['python_c_pass_median_s'] * 1000:.0f} ms; load {result['load_average_1m']:.1f}; "
        f"budget {BUDGET_S * 1000:.0f} ms: {'met' if result['met'] else 'missed'}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
