"""auth-rejected-credentials for the kubelet when its credentials are the CRI plugin's
own ``registry.configs."<host>".auth`` in config.toml (the pod names no pull secret):
the fix edits that table (before, it edited a pull secret the pod does not have). Run
as rendered with a ``sudo`` that runs it: the password goes on stdin, never in argv or
output; the other tables and keys stay. The real CRI pulls after it in the runtime
table (``fixcmd3-cri-configs-auth-wrong``)."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.command_template import render_command

RULE = next(r for r in load_catalog().rules if r.id == "auth-rejected-credentials")
CRI = 'plugins."io.containerd.grpc.v1.cri".registry'
PASSWORD = "n3w\"pa'ss\\word"


@pytest.mark.parametrize(
    ("version", "plugin", "password"),
    [
        (2, "io.containerd.grpc.v1.cri", PASSWORD),
        # review of h-fixcmd3: config version 3's table (containerd 2), and a password
        # beyond U+FFFF, which json.dumps wrote as a surrogate pair TOML refuses
        (3, "io.containerd.cri.v1.images", "pw\U0001f600"),
    ],
)
def test_the_cri_auth_table_gets_the_new_password(
    tmp_path: Path, version: int, plugin: str, password: str
) -> None:
    cri = f'plugins."{plugin}".registry'
    config = tmp_path / "config.toml"
    config.write_text(
        f'version = {version}\n\n[{cri}]\n  config_path = "/etc/containerd/certs.d"\n'
        f'[{cri}.configs."secure.test".auth]\n  username = "old"\n  password = "wrong"\n'
        f'[{cri}.configs."other.test".auth]\n  auth = "b3RoZXI6cHc="\n'
    )
    template = RULE.remediation[0].commands["kubernetes"]
    command = render_command(template, {"registry": "secure.test", "cri_auth_file": str(config)})
    assert "kubectl" not in command and PASSWORD not in command
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (bindir / "systemctl").write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/restarted"\n')
    for shim in ("sudo", "systemctl"):
        (bindir / shim).chmod(0o755)
    env = dict(
        os.environ,
        PATH=f"{bindir}:{os.environ['PATH']}",
        REGISTRY_USERNAME="ci",
        REGISTRY_PASSWORD=password,
    )
    for _ in range(2):  # idempotent
        done = subprocess.run(
            ["bash", "-e", "-c", command], env=env, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        assert password not in done.stdout + done.stderr
    configs = tomllib.loads(config.read_text())["plugins"][plugin]
    assert configs["registry"]["configs"]["secure.test"]["auth"] == {
        "username": "ci",
        "password": password,
    }
    assert configs["registry"]["configs"]["other.test"]["auth"] == {"auth": "b3RoZXI6cHc="}
    assert configs["registry"]["config_path"] == "/etc/containerd/certs.d"
    assert (tmp_path / "restarted").read_text() == "restart containerd\n"


def test_without_the_cri_file_the_pods_secret_is_edited() -> None:
    template = RULE.remediation[0].commands["kubernetes"]
    command = render_command(template, {"registry": "secure.test", "secret": "team-pull"})
    assert "kubectl get secret team-pull" in command and "config.toml" not in command
