"""config-credential-helper-failed for docker: a ``credHelpers`` helper that fails (a
locked keyring) gives dockerd no credentials, so a registry that wants a login refuses
the pull ("no basic auth credentials"), and ``docker login`` stores the new login with
that same helper ("error storing credentials - err: exit status 1"; measured: scenario
fixcov-helper-locked-login-needed). The docker fix was only the helper's own test; it
now removes exactly that entry and logs in with the password on stdin. The command runs
here against a scratch config.json and a ``docker`` stand-in that records its call."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from regdoctor.engine import load_catalog
from regdoctor.engine.command_template import render_command

RULE = next(r for r in load_catalog().rules if r.id == "config-credential-helper-failed")


def test_docker_fix_removes_the_entry_and_logs_in(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"credHelpers": {"secure.test": "locked", "other.test": "ecr-login"}})
    )
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "calls"
    (bindir / "docker").write_text(f'#!/bin/sh\necho "$*" >> {calls}\ncat >> {calls}\n')
    (bindir / "docker").chmod(0o755)
    commands = [
        render_command(
            step.commands["docker"],
            {
                "registry": "secure.test",
                "server": "secure.test",
                "machine_file": str(config),
                "helper": "locked",
            },
        )
        for step in RULE.remediation
        if "docker" in step.commands
    ]
    fix = commands[-1]
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    env.update(REGISTRY_USERNAME="tester", REGISTRY_PASSWORD="s3cret-pw")
    run = subprocess.run(
        ["bash", "-e", "-c", fix], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(config.read_text()) == {"credHelpers": {"other.test": "ecr-login"}}
    login, password = calls.read_text().splitlines()
    assert login == "login -u tester --password-stdin secure.test"
    assert password == "s3cret-pw"
    assert "s3cret-pw" not in fix
