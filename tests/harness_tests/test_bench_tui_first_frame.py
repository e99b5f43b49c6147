"""The TUI first-frame benchmark (``benchmarks/bench_tui_first_frame.py``) once, so that
it does not rot. No timing is asserted (the 1 s budget is the benchmark's exit code,
read on a quiet machine), only that the figures are sane."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (Debian)")


def test_bench_tui_first_frame_once(tmp_path):
    out = tmp_path / "tui.json"
    proc = subprocess.run(
        [sys.executable, "benchmarks/bench_tui_first_frame.py", "--runs", "1", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 1: over budget, still ran
    figures = json.loads(out.read_text())
    assert figures["runs"] == 1
    assert 0 < figures["python_c_pass_median_s"] < figures["first_frame_median_s"] < 30
    assert figures["met"] == (figures["first_frame_median_s"] < figures["budget_s"])
    assert "first frame: median" in proc.stdout
