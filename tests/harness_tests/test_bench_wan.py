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
        "skopeo inspect --no-tags, plain",
        "skopeo inspect --no-tags, tls_token",
    }
    for label, row in rows.items():
        assert row["cpu_median_ms"] > 0, (label, row)  # user + system time of the command
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
    # beside --raw, the same work as check's (the manifest and its config blob)
    assert "ratio_config" in rows["regdoctor check, tls_token"]
    assert "vs skopeo inspect --no-tags" in stdout
    assert f"{RTT_MS}  regdoctor check, plain" in stdout
    assert "load average before and after" in stdout
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"-{proc.pid}" not in namespaces


_STOP_WITH_A_CONNECTION_OPEN = """
import socket, sys
sys.path.insert(0, sys.argv[1])
from wan import REGISTRY_ADDRESS, DelayProxy, NetnsPair, in_netns
sys.path.insert(0, sys.argv[2])
from tests.harness.procs import poll_until
pair = NetnsPair().open()
try:
    with in_netns(pair.registry):
        upstream = socket.socket()
        upstream.bind(("127.0.0.1", 0))
        upstream.listen(5)
    proxy = DelayProxy(pair.registry, {7000: upstream.getsockname()[1]}, rtt_s=0.01)
    proxy.start()
    with in_netns(pair.client):
        client = socket.create_connection((REGISTRY_ADDRESS, 7000))
    client.sendall(b"hello")
    poll_until(lambda: proxy.connections == 1, 5, "the proxy accepting")
    proxy.stop()  # the connection is still open on both sides
finally:
    pair.close()
print("stopped")
"""


def test_the_delay_proxy_stops_without_pending_tasks():
    """Stopped with a connection open, the proxy leaves no task for the garbage
    collector ("Task was destroyed but it is pending!" at exit) and no cancelled
    handler for asyncio's stream server to complain about."""
    proc = subprocess.run(
        [sys.executable, "-c", _STOP_WITH_A_CONNECTION_OPEN, str(REPO / "benchmarks"), str(REPO)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "stopped"
    assert "Task was destroyed" not in proc.stderr
    assert "Exception in callback" not in proc.stderr
    assert proc.stderr == ""
