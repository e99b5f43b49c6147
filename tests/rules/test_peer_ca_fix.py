"""The containerd fixes of tls-storage-unknown-authority and tls-realm-unknown-authority
edit the registry's hosts.toml ``ca``: run twice (a fix pasted again, a second node
pass), the file names the new CA once; and the kubernetes fix also sets the CRI's
``config_path``, without which the CRI reads no certs.d at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from regdoctor.engine.loader import load_catalog

REGISTRY = "tls.test:5443"


def _command(rule_id: str, runtime: str) -> str:
    rule = next(r for r in load_catalog().rules if r.id == rule_id)
    return rule.remediation[0].commands[runtime]


def _first_script(command: str, root: Path) -> str:
    body = command.split("<<'EOF'\n", 1)[1].split("\nEOF", 1)[0]
    body = body.replace("{registry}", REGISTRY).replace("{{", "{").replace("}}", "}")
    return body.replace("/etc/containerd/certs.d/", f"{root}/")


@pytest.mark.parametrize(
    ("rule_id", "name"),
    [
        ("tls-storage-unknown-authority", "storage-ca.crt"),
        ("tls-realm-unknown-authority", "realm-ca.crt"),
    ],
)
@pytest.mark.parametrize("runtime", ["containerd", "kubernetes"])
def test_the_hosts_toml_edit_is_idempotent(
    tmp_path: Path, rule_id: str, name: str, runtime: str
) -> None:
    (tmp_path / name).write_text("-----BEGIN CERTIFICATE-----\n")
    directory = tmp_path / "certs.d" / REGISTRY
    directory.mkdir(parents=True)
    hosts = directory / "hosts.toml"
    hosts.write_text(
        f'server = "https://{REGISTRY}"\n\n[host."https://{REGISTRY}"]\n'
        f'  ca = "/etc/containerd/certs.d/{REGISTRY}/ca.crt"\n'
    )
    script = _first_script(_command(rule_id, runtime), tmp_path / "certs.d")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    text = hosts.read_text()
    assert text.count(str(directory / name)) == 1, text
    assert text.count("ca.crt") == 2 and text.count("ca =") == 1, text


@pytest.mark.parametrize(
    "rule_id", ["tls-storage-unknown-authority", "tls-realm-unknown-authority"]
)
def test_the_kubernetes_fix_sets_config_path(rule_id: str) -> None:
    command = _command(rule_id, "kubernetes")
    assert 'config_path = "/etc/containerd/certs.d"' in command
    assert "systemctl" in command
