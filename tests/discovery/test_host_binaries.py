"""A check's scope comes from the runtime binaries on this host: found by name on PATH
(and the usual sbin folders), without asking versions or listing processes (psutil)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from regdoctor.check.scope import runtimes_in_scope
from regdoctor.discovery import host


def _fake_bin(directory: Path, name: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)


def test_the_scope_follows_the_binaries_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("podman", "kubelet"):
        _fake_bin(tmp_path, name)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(host, "_EXTRA_DIRS", ())
    assert host.binaries() == {
        "podman": str(tmp_path / "podman"),
        "kubelet": str(tmp_path / "kubelet"),
    }
    assert runtimes_in_scope("", None, this_host=True) == ("podman", "kubernetes")


def test_finding_the_binaries_lists_no_process(tmp_path: Path) -> None:
    program = (
        "import json, sys\n"
        "from regdoctor.check.scope import runtimes_in_scope\n"
        "runtimes_in_scope('', None, this_host=True)\n"
        "print(json.dumps('psutil' in sys.modules))\n"
    )
    env = {**os.environ, "PATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(out.stdout) is False
