"""A piped ``regdoctor check --format plain`` prints each target's verdict line once: the
streamed line, then the details without it (it was printed twice, for a stopped
runtime's config.invalid as for any other verdict)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def _closed_port() -> int:
    with socket.socket() as sock:  # bound, never listening: connect() is refused
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_stopped_runtimes_error_line_is_printed_once(tmp_path: Path) -> None:
    config = tmp_path / "etc/containerd/config.toml"
    config.parent.mkdir(parents=True)
    section = '[plugins."io.containerd.grpc.v1.cri".registry]'
    config.write_text(
        f'version = 2\n{section}\n  config_path = "/etc/containerd/certs.d"\n'
        f'{section[:-1]}.mirrors."docker.io"]\n  endpoint = ["https://mirror.test"]\n'
    )
    image = f"127.0.0.1:{_closed_port()}/team/app:1.2"
    argv = [sys.executable, "-m", "regdoctor", "check", "--format", "plain"]
    argv += ["--root", str(tmp_path), "--runtime", "kubernetes", "--timeout", "2", image]
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    lines = proc.stdout.splitlines()
    errors = [line for line in lines if "ERROR" in line and image in line]
    assert len(errors) == 1, proc.stdout
    assert "config.invalid" in errors[0]
    assert image in lines  # the details block names its target
