"""containerd-hosts-toml-ignored's fix moves a hosts.toml's top-level keys under
``[host."<server>"]``. A table among them (``[header]``, a ``[host."..."]``) cannot be
written as one ``key = value`` line: the fix refuses and says so, the file untouched
(review of h-fixcmd3: it wrote ``header = {"x-team": ["ci"]}``, which containerd cannot
read)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.command_template import render_command

RULE = next(r for r in load_catalog().rules if r.id == "containerd-hosts-toml-ignored")


def _script(runtime: str, hosts: Path) -> str:
    step = next(s for s in RULE.remediation if runtime in s.commands)
    command = render_command(
        step.commands[runtime], {"registry": "reg.test:5000", "hosts_toml": str(hosts)}
    )
    return command.split("<<'EOF'\n", 1)[1].split("\nEOF", 1)[0]


@pytest.mark.parametrize("runtime", ["containerd", "kubernetes"])
def test_a_table_is_refused_and_plain_keys_are_moved(tmp_path: Path, runtime: str) -> None:
    hosts = tmp_path / "hosts.toml"
    with_table = (
        'server = "https://reg.test:5000"\nca = "/etc/ca.crt"\n\n[header]\n  x-team = ["ci"]\n'
    )
    hosts.write_text(with_table)
    run = subprocess.run(
        [sys.executable, "-", str(hosts), "reg.test:5000"],
        input=_script(runtime, hosts), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert run.returncode != 0 and "by hand" in run.stderr, run.stderr
    assert hosts.read_text() == with_table
    hosts.write_text('server = "https://reg.test:5000"\nca = "/etc/ca.crt"\nskip_verify = false\n')
    run = subprocess.run(
        [sys.executable, "-", str(hosts), "reg.test:5000"],
        input=_script(runtime, hosts), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    moved = {
        "server": "https://reg.test:5000",
        "host": {"https://reg.test:5000": {"ca": "/etc/ca.crt", "skip_verify": False}},
    }
    assert tomllib.loads(hosts.read_text()) == moved
    # a second run (the runtime table runs each fix twice; a user may too) leaves it
    run = subprocess.run(
        [sys.executable, "-", str(hosts), "reg.test:5000"],
        input=_script(runtime, hosts), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert tomllib.loads(hosts.read_text()) == moved
