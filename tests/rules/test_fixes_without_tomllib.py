"""Fix scripts that read TOML run on a python3 older than 3.11 (RHEL 8: 3.6, Ubuntu
20.04: 3.8, Debian 11: 3.9), where ``import tomllib`` fails: each falls back to a reader
of one-line keys and values (the layout containerd and its docs write) and refuses
anything else instead of guessing. The reader, taken from each rendered fix, reads the
real containerd 1.6's default config and the hosts.toml forms of the docs as tomllib
does; a hosts.toml fix runs whole with a tomllib that fails to import."""

from __future__ import annotations

import json
import os
import re
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
CONTEXT = {
    "registry": "tls.test:5443",
    "file": "/etc/containerd/config.toml",
    "hosts_toml": "/etc/containerd/certs.d/tls.test:5443/hosts.toml",
    "entry_ca_table": "server",
    "entry_table": "https://tls.test:5443",
}
HOSTS_TOMLS = [
    'server = "https://tls.test:5443"\nca = "/etc/ca.crt"\n\n'
    '[host."https://mirror.test:5000"]\n  capabilities = ["pull", "resolve"]\n'
    '  skip_verify = true\n  ca = ["/etc/a.crt", "/etc/b.crt"]  # two\n\n'
    '[host."https://mirror.test:5000".header]\n  x-custom = ["v"]\n',
    "server = 'https://literal.test'\noverride_path = false\n",
]


def _python_fixes() -> list[tuple[str, str, str]]:
    found = []
    for rule_id, rule in sorted(RULES.items()):
        for step in rule.remediation:
            for runtime, template in step.commands.items():
                command = render_command(template, CONTEXT)
                for part in command.split("python3 - ")[1:]:
                    body = part.split("<<'EOF'\n", 1)[1].split("\nEOF", 1)[0]
                    if "tomllib" in body:
                        found.append((rule_id, runtime, body))
    return found


FIXES = _python_fixes()
#: podman's alias and blocked fixes only check their edit with tomllib where it exists
#: (tests/rules/test_podman_dropin_fixes.py); every other fix that names tomllib reads a
#: TOML document with it, and must read it without (chosen by name, not by the reader's
#: presence: a fix without a fallback must be a failing case here, not no case at all)
CHECK_ONLY = {
    ("config-podman-alias-invalid", "podman"),
    ("config-podman-registry-blocked", "podman"),
}
READERS = [f for f in FIXES if (f[0], f[1]) not in CHECK_ONLY]


def _stubs(directory: Path) -> Path:
    """A PYTHONPATH entry where ``import tomllib`` (and ``tomli``) fails."""
    directory.mkdir(exist_ok=True)
    for module in ("tomllib", "tomli"):
        (directory / f"{module}.py").write_text(f"raise ImportError('No module named {module}')\n")
    return directory


def _read_without_tomllib(body: str, doc: str, stubs: Path) -> Any:
    """What the script's own reader makes of ``doc`` with tomllib failing to import:
    its lines up to the file's path, then the reader (``tomllib.loads`` or ``loads``)."""
    head = body[: body.index("path = pathlib.Path")]
    reader = "tomllib.loads" if "tomllib = _types" in head else "loads"
    script = head + f"import json, sys\nprint(json.dumps({reader}(sys.stdin.read())))\n"
    python = shutil.which("python3") or sys.executable
    done = subprocess.run(
        [python, "-c", script],
        input=doc,
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ, PYTHONPATH=str(stubs)),
    )
    if done.returncode:
        return ValueError(done.stderr)
    return json.loads(done.stdout)


def test_every_toml_fix_has_a_fallback() -> None:
    assert len(READERS) >= 10, [f[:2] for f in READERS]
    bare = [f"{r} [{rt}]" for r, rt, body in FIXES if "except ImportError" not in body]
    assert not bare, bare


@pytest.mark.parametrize(
    ("rule_id", "runtime", "body"), READERS, ids=[f"{r}-{rt}" for r, rt, _ in READERS]
)
def test_the_fallback_reads_what_containerd_writes_as_tomllib_does(
    tmp_path: Path, rule_id: str, runtime: str, body: str
) -> None:
    stubs = _stubs(tmp_path / "old-python")
    docs = list(HOSTS_TOMLS)
    containerd = shutil.which("containerd")
    if containerd is not None:
        docs.append(
            subprocess.run(
                [containerd, "config", "default"], capture_output=True, text=True, timeout=30
            ).stdout
        )
    for doc in docs:
        assert _read_without_tomllib(body, doc, stubs) == tomllib.loads(doc), (rule_id, doc[:80])
    refused = _read_without_tomllib(body, 'imports = [\n  "a.toml",\n]\n', stubs)
    assert isinstance(refused, ValueError), refused


def test_an_entry_gets_the_servers_ca_without_tomllib(tmp_path: Path) -> None:
    """tls-hosts-entry-lacks-ca's containerd fix, run whole with tomllib failing."""
    hosts = tmp_path / "hosts.toml"
    text = (
        'server = "https://tls.test:5443"\nca = "/etc/containerd/certs.d/tls.test:5443/ca.crt"\n'
        '\n[host."https://tls.test:5443"]\n  capabilities = ["pull", "resolve"]\n'
    )
    hosts.write_text(text)
    command = render_command(
        RULES["tls-hosts-entry-lacks-ca"].remediation[0].commands["containerd"],
        {**CONTEXT, "hosts_toml": str(hosts)},
    )
    stubs = _stubs(tmp_path / "old-python")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (bindir / "sudo").chmod(0o755)
    python = Path(shutil.which("python3") or sys.executable)
    (bindir / "python3").symlink_to(python)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", PYTHONPATH=str(stubs))
    done = subprocess.run(["bash", "-e", "-c", command], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = tomllib.loads(hosts.read_text())
    assert after["host"]["https://tls.test:5443"]["ca"] == after["ca"]
    assert re.sub(r"\n  ca = .*\n", "\n", hosts.read_text()) == text


def test_no_fix_reads_as_a_secret_to_the_redactor() -> None:
    """Every output redacts text that looks like a secret (``password = ...``): a fix
    whose own code reads so reaches the user mangled (``user, password = ****``, a
    SyntaxError when pasted; the first config.toml auth fix did)."""
    from regdoctor.redact.secrets import redact

    def code(command: str) -> list[str]:  # comments may show user:password@ examples
        return [line.split("#")[0] for line in command.splitlines()]

    context = {**CONTEXT, "cri_auth_file": "/etc/containerd/config.toml", "secret": "s"}
    # the check sees the mangling it guards against (the first config.toml auth fix's line)
    first = "user, password = read_login()"
    assert code(redact(first)) != code(first)
    # and it covers the fixes whose own code handles a password: the CRI's config.toml
    # auth fix (registry.configs.<host>.auth, h-fixcmd3) reads one from stdin and writes
    # it to the file; without it, as before h-fixcmd3, the check held for want of a case
    cri = render_command(
        RULES["auth-rejected-credentials"].remediation[0].commands["kubernetes"], context
    )
    assert "registry.configs" in cri and "REGISTRY_PASSWORD" in cri, cri[:300]
    assert "python3 -c" in cri and "systemctl restart containerd" in cri
    mangled = [
        f"{rule_id} [{runtime}]"
        for rule_id, rule in sorted(RULES.items())
        for step in rule.remediation
        for runtime, template in [*step.commands.items(), *step.checks.items()]
        if code(redact(command := render_command(template, context))) != code(command)
    ]
    assert not mangled, mangled
