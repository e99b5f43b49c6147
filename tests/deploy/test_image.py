"""The image the repository builds, run as the DaemonSet runs it: non-root, read-only
root filesystem, no capability, the node's configuration mounted read-only below /host.

- ``regdoctor check`` in the container against the harness's registries (loopback, host
  network), reading a CA from the mounted certs.d;
- ``regdoctor serve`` in the container on two nodes, one with a planted fault, scraped
  over /metrics: the findings are there, per node; the scrapes are kept for
  test_prometheus_rules.py (``scrapes`` fixture, module ``tests.deploy.scrapes``).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time

from regdoctor import __version__
from regdoctor.cli.main import bundled_rule_count
from tests.deploy.conftest import (
    Image,
    as_podman,
    make_node,
    podman,
    podman_env,
    record,
    world_readable,
)


def test_image_shape(image: Image):
    """Non-root numeric user, regdoctor as entrypoint, no compiler, no pip, small."""
    config = json.loads(podman("image", "inspect", image.name).stdout)[0]["Config"]
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["/opt/regdoctor/bin/regdoctor"]
    assert image.name.endswith(f"/regdoctor:{__version__}")
    probe = podman(
        "run",
        "--rm",
        "--network=none",
        "--read-only",
        "--entrypoint",
        "/bin/sh",
        image.name,
        "-c",
        "for t in cc gcc g++ c++ clang x86_64-linux-gnu-gcc pip pip3 apt-get; do "
        "command -v $t || true; done; "
        "ls /opt/regdoctor/bin; id -u",
    )
    lines = probe.stdout.split()
    assert lines[-1] == "65532"
    found = [line for line in lines if line.startswith("/") and not line.startswith("/opt/")]
    assert found == [], f"build tools in the final image: {found}"
    assert "pip" not in lines and "regdoctor" in lines
    size_mb = int(podman("image", "inspect", "--format", "{{.Size}}", image.name).stdout) / 1e6
    assert size_mb < 300, size_mb


def test_version_and_cold_start(image: Image):
    """``--version`` in the container (rule count included); its wall time from
    ``podman run`` to exit is the cold start of the CLI in the container."""
    times = []
    for _ in range(3):
        started = time.monotonic()
        out = podman("run", "--rm", "--network=none", "--read-only", image.name, "--version")
        times.append(time.monotonic() - started)
    assert out.stdout.strip() == f"regdoctor {__version__} ({bundled_rule_count()} rules)"
    started = time.monotonic()
    podman("run", "--rm", "--network=none", "--read-only", "--entrypoint", "/bin/true", image.name)
    bare = time.monotonic() - started
    record(
        "cold_start",
        {
            "podman_run_version_s": round(statistics.median(times), 3),
            "podman_run_true_s": round(bare, 3),
        },
    )


def _check(image: Image, node, target: str) -> subprocess.CompletedProcess:
    pod = as_podman(node, "node-check")
    return subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            *pod.flags,
            image.name,
            "check",
            "--format",
            "json",
            "--timeout",
            "3",
            "--deadline",
            "20",
            # strict verification that reads /etc/docker/certs.d (dockerd skips it for a
            # loopback registry; containerd 1.6 speaks plain HTTP to one by default)
            "--runtime",
            "podman",
            target,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=podman_env(),
        check=False,
    )


def test_check_in_the_container_reads_the_mounted_certs_d(image: Image, testbed, tmp_path):
    tls = testbed.endpoints["tls"]
    node = make_node(tmp_path / "node")
    world_readable(node)
    without_ca = _check(image, node, tls.hostport)
    assert without_ca.returncode == 2, without_ca.stderr
    report = json.loads(without_ca.stdout)
    assert report["status"] == "error"
    assert any("tls" in f["category"] for f in report["findings"]), report["findings"]

    testbed.make_cert_dir(node / "etc/docker/certs.d" / tls.hostport)
    world_readable(node)
    with_ca = _check(image, node, tls.hostport)
    assert with_ca.returncode == 0, (with_ca.stdout[-2000:], with_ca.stderr[-2000:])
    assert json.loads(with_ca.stdout)["status"] == "ok"
