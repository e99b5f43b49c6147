"""config-credential-helper-failed for docker: a ``credHelpers`` helper that fails (a
locked keyring) gives dockerd no credentials, so a registry that wants a login refuses
the pull ("no basic auth credentials"), and ``docker login`` stores the new login with
that same helper ("error storing credentials - err: exit status 1"; measured: scenario
fixcov-helper-locked-login-needed). The docker fix was only the helper's own test; it
now removes exactly that entry and logs in with the password on stdin. The command runs
here against a scratch config.json and a ``docker`` stand-in that records its call.

When ``credsStore`` names the failing helper, removing a credHelpers entry changes
nothing: docker/cli v20.10.24 GetCredentialsStore falls back to credsStore, and the login
failed the same way ("Error saving credentials ... the keyring is locked"; scenario
fixcov-store-locked-login-needed): that fix removes credsStore."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from regdoctor.engine import load_catalog
from regdoctor.engine.command_template import render_command

RULE = next(r for r in load_catalog().rules if r.id == "config-credential-helper-failed")


def _run_fix(tmp_path: Path, config_data: dict, key: str) -> tuple[dict, list[str], str]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_data))
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
                "key": key,
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
    return json.loads(config.read_text()), calls.read_text().splitlines(), fix


def test_docker_fix_removes_the_entry_and_logs_in(tmp_path: Path) -> None:
    config, (login, password), fix = _run_fix(
        tmp_path,
        {"credHelpers": {"secure.test": "locked", "other.test": "ecr-login"}},
        "credHelpers",
    )
    assert config == {"credHelpers": {"other.test": "ecr-login"}}
    assert login == "login -u tester --password-stdin secure.test"
    assert password == "s3cret-pw"
    assert "s3cret-pw" not in fix


def test_docker_fix_removes_a_failing_creds_store_and_logs_in(tmp_path: Path) -> None:
    config, (login, password), _ = _run_fix(
        tmp_path,
        {"credsStore": "locked", "credHelpers": {"other.test": "ecr-login"}, "auths": {}},
        "credsStore",
    )
    # docker login now stores the login in the file, not with the failing helper
    assert config == {"credHelpers": {"other.test": "ecr-login"}, "auths": {}}
    assert login == "login -u tester --password-stdin secure.test"
    assert password == "s3cret-pw"
