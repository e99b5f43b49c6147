"""The CRI ``config_path`` part of the kubernetes fixes of tls-plain-http and
tls-unknown-authority, run as rendered on a python3 with and without ``tomllib`` (Python
3.11+; RHEL 8 has 3.6, Ubuntu 20.04 3.8): without it, the script reads the layout
``containerd config default`` writes (the real containerd 1.6's output reads the same
as with tomllib) and refuses anything else rather than guess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.command_template import render_command

RULES = {rule.id: rule for rule in load_catalog().rules}
CRI = 'plugins."io.containerd.grpc.v1.cri"'


def _script(rule_id: str) -> str:
    command = render_command(
        RULES[rule_id].remediation[0].commands["kubernetes"], {"registry": "plain.test:5000"}
    )
    body = command[command.index("sudo python3 - <<'EOF'") :].split("\n", 1)[1]
    return body.rsplit("\nEOF", 1)[0]


def _run(tmp_path: Path, rule_id: str, text: str | None, old_python: bool) -> Any:
    config = tmp_path / "config.toml"
    if text is not None:
        config.write_text(text)
    script = _script(rule_id).replace('"/etc/containerd/config.toml"', repr(str(config)))
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "systemctl").write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/restarts"\n')
    (bindir / "systemctl").chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    if old_python:
        stubs = tmp_path / "old-python"
        stubs.mkdir(exist_ok=True)
        for module in ("tomllib", "tomli"):
            (stubs / f"{module}.py").write_text(f"raise ImportError('No module named {module}')\n")
        env["PYTHONPATH"] = str(stubs)
    python = shutil.which("python3") or sys.executable
    return subprocess.run(
        [python, "-"], input=script, capture_output=True, text=True, env=env, timeout=30
    )


def _default_config() -> str | None:
    containerd = shutil.which("containerd")
    if containerd is None:
        return None
    done = subprocess.run(
        [containerd, "config", "default"], capture_output=True, text=True, timeout=30
    )
    return done.stdout if done.returncode == 0 and done.stdout.strip() else None


RULE_IDS = ["tls-plain-http", "tls-unknown-authority"]


@pytest.mark.parametrize("old_python", [False, True])
@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_the_default_configs_empty_config_path_is_set(
    tmp_path: Path, rule_id: str, old_python: bool
) -> None:
    text = _default_config()
    if text is None:
        pytest.skip("containerd is not installed")
    assert 'config_path = ""' in text
    done = _run(tmp_path, rule_id, text, old_python)
    assert done.returncode == 0, done.stderr
    after = (tmp_path / "config.toml").read_text()
    set_line = '  config_path = "/etc/containerd/certs.d"'
    assert after == text.replace('      config_path = ""', set_line, 1)
    registry = tomllib.loads(after)["plugins"]["io.containerd.grpc.v1.cri"]["registry"]
    assert registry["config_path"] == "/etc/containerd/certs.d"
    assert (tmp_path / "restarts").read_text() == "restart containerd\n"


@pytest.mark.parametrize("old_python", [False, True])
@pytest.mark.parametrize(
    ("before", "config_path"),
    [
        (None, "/etc/containerd/certs.d"),
        ("version = 2\n", "/etc/containerd/certs.d"),
        (
            f'version = 2\n\n[{CRI}]\n  sandbox_image = "pause:3.6"\n\n[{CRI}.registry]\n'
            '  config_path = ""  # set below\n',
            "/etc/containerd/certs.d",
        ),
        (f'version = 2\n\n[{CRI}.registry]\n  config_path = "/etc/certs"\n', "/etc/certs"),
    ],
)
def test_config_path_is_set_once_and_kept(
    tmp_path: Path, before: str | None, config_path: str, old_python: bool
) -> None:
    """Created, appended, the empty line set; an existing config_path kept; a second
    run changes nothing (idempotent)."""
    for _ in range(2):
        done = _run(tmp_path, "tls-plain-http", before, old_python)
        assert done.returncode == 0, done.stderr
        before = (tmp_path / "config.toml").read_text()
        data = tomllib.loads(before)
        assert data["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"] == (
            config_path
        )


@pytest.mark.parametrize(
    "text",
    [
        f'version = 2\n\n[{CRI}.registry.mirrors."docker.io"]\n  endpoint = ["https://m.test"]\n',
        # a multi-line array: only tomllib reads it
        f'version = 2\nimports = [\n  "a.toml",\n]\n\n[{CRI}.registry]\n',
    ],
)
def test_without_tomllib_what_it_cannot_read_is_left_alone(tmp_path: Path, text: str) -> None:
    done = _run(tmp_path, "tls-plain-http", text, old_python=True)
    assert done.returncode != 0
    assert "first move mirrors" in done.stderr or "by hand" in done.stderr
    assert (tmp_path / "config.toml").read_text() == text
    assert not (tmp_path / "restarts").exists()
