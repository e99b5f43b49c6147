"""The WAN benchmark (``benchmarks/bench_wan.py``) in a tiny mode, so that it does not rot:
one run per command at a 20 ms round trip. No timing target is asserted, only that
the figures are sane: the delay applies, every command ran a healthy check, and the
namespaces are gone afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RTT_MS = 20

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("skopeo") is None,
    reason="needs root (network namespaces), iproute2 and skopeo",
)


def test_bench_wan_tiny(tmp_path):
    out = tmp_path / "wan.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(
        [sys.executable, "benchmarks/bench_wan.py", "--runs", "1", "--rtt-ms", str(RTT_MS),
         "--json", str(out)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stdout + stderr  # no target at 20 ms: 0 unless it failed
    rows = json.loads(out.read_text())["rtt"][str(RTT_MS)]
    assert set(rows) == {
        "wrapper floor",
        "regdoctor check, plain",
        "skopeo inspect --raw, plain",
        "regdoctor check, tls_token",
        "skopeo inspect --raw, tls_token",
    }
    for label, row in rows.items():
        if label == "wrapper floor":
            assert row["connections"] == 0
            continue
        # At least a connection and one request over the slow link: two round trips.
        assert row["median_ms"] >= 2 * RTT_MS, (label, row)
        assert row["connections"] >= 1, (label, row)
    # Token auth: skopeo dials the registry and the token realm at least.
    assert rows["skopeo inspect --raw, tls_token"]["connections"] >= 2
    assert rows["regdoctor check, tls_token"]["phases_ms"]["image"] > 0
    assert rows["regdoctor check, plain"]["in_process_median_ms"] >= 2 * RTT_MS
    assert "ratio" in rows["regdoctor check, plain"]
    assert f"{RTT_MS}  regdoctor check, plain" in stdout
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"-{proc.pid}" not in namespaces
