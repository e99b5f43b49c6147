"""``regdoctor bench`` against a real upstream and a real pull-through mirror."""

from __future__ import annotations

import json
import os

from regdoctor.cli.main import main
from tests.harness.mirror import start_mirror, start_standalone
from tests.harness.populate import push_image


def test_bench_upstream_and_mirror(tmp_path, capsys):
    upstream = start_standalone(tmp_path, "upstream")
    mirror = start_mirror(tmp_path, "mirror", upstream.url)
    try:
        base_layer = os.urandom(200_000)
        big = os.urandom(3_000_000)
        push_image(upstream.url, "team/base", "1", layers=[base_layer])
        push_image(upstream.url, "team/app", "1.0", layers=[base_layer, big])
        capsys.readouterr()
        code = main(
            [
                "bench",
                f"127.0.0.1:{upstream.port}/team/app:1.0",
                "--via",
                f"127.0.0.1:{mirror.port}",
                "--have",
                f"127.0.0.1:{upstream.port}/team/base:1",
                "--min-throughput",
                "1000000",
                "--format",
                "json",
            ]
        )
        doc = json.loads(capsys.readouterr().out)
        capsys.readouterr()
        ranged = main(
            [
                "bench",
                f"127.0.0.1:{upstream.port}/team/app:1.0",
                "--bytes",
                "1M",
                "--format",
                "json",
            ]
        )
        ranged_doc = json.loads(capsys.readouterr().out)
    finally:
        mirror.stop()
        upstream.stop()
    endpoints = {e["role"]: e for e in doc["endpoints"]}
    assert set(endpoints) == {"upstream", "mirror"}
    for facts in endpoints.values():
        assert facts["outcome"] == "ok", facts
        assert facts["bytes"] == 3_000_000
        assert facts["throughput_mbps"] > 0 and facts["connect_ms"] is not None
        assert facts["manifest_ms"] is not None and facts["ttfb_ms"] is not None
    assert endpoints["upstream"]["image_bytes"] == 3_200_000
    assert endpoints["upstream"]["unshared_bytes"] == 3_000_000  # the base layer is free
    assert sorted(doc["ranking"]) == sorted(e["endpoint"] for e in doc["endpoints"])
    rules = [f["rule"] for f in doc["findings"]]
    assert rules.count("perf-below-min-throughput") == 2
    assert code == 1
    only = ranged_doc["endpoints"][0]
    assert only["range"] is True and only["bytes"] == 1024 * 1024
    assert ranged == 0


def test_bench_plain_output_with_progress(tmp_path, capsys):
    upstream = start_standalone(tmp_path, "up")
    try:
        push_image(upstream.url, "team/app", "1.0", layers=[os.urandom(500_000)])
        code = main(["bench", f"127.0.0.1:{upstream.port}/team/app:1.0"])
    finally:
        upstream.stop()
    out = capsys.readouterr()
    assert code == 0
    assert "fastest first" in out.out and "upstream" in out.out
