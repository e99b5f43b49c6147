"""Acceptance (issue #14): commands are safe to paste. The real program checks a registry
whose CA is not trusted; its fix commands are taken out of (a) the plain report in an
80-column tmux pane, as a user selects them, and (b) the Markdown ticket's fenced
blocks; each block passes ``bash -n`` and, run in a scratch node
(``tests/helpers/paste.py``), installs the CA where each runtime looks: ``ca.crt`` a
file with the CA in it (not a directory), containerd's ``hosts.toml`` valid TOML naming
the registry."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.harness.procs import poll_until
from tests.helpers.paste import Block, markdown_blocks, plain_blocks, scratch, syntax_ok

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (Debian)")

RUNTIMES = ("docker", "podman", "containerd", "kubernetes")


def _check_argv(testbed, *extra: str) -> list[str]:
    image = testbed.images.app.ref(testbed.endpoints["tls_untrusted"].hostport)
    return [sys.executable, "-m", "regdoctor", "check", "--runtime", "all", *extra, image]


def _apply_and_verify(blocks: list[Block], root: Path, ca: Path, registry: str) -> None:
    """Every runtime has its block; each passes ``bash -n`` and runs; the CA lands."""
    by_runtime = {r: b for b in blocks for r in b.label.split(", ")}
    assert set(RUNTIMES) <= set(by_runtime), [b.label for b in blocks]
    node = scratch(root, ca)
    for block in blocks:
        assert syntax_ok(block.text), block.text
        assert "<" not in block.text.replace("<<", "").replace("</dev/", "")
        result = node.run(block.text)
        assert result.returncode == 0, (block.text, result.stderr)
    host = registry.rsplit(":", 1)[0]
    for folder in ("docker", "containers", "containerd"):
        installed = root / "etc" / folder / "certs.d" / registry / "ca.crt"
        assert installed.is_file(), installed
        assert installed.read_bytes() == ca.read_bytes()
    hosts = tomllib.loads((root / f"etc/containerd/certs.d/{registry}/hosts.toml").read_text())
    assert hosts["server"] == f"https://{registry}"
    assert hosts["host"][f"https://{registry}"]["ca"].endswith(f"{registry}/ca.crt")
    # kubernetes: the same hosts.toml (the CRI reads config_path), not the system store
    assert not (root / f"usr/local/share/ca-certificates/{host}.crt").exists()


def test_plain_output_at_80_columns_pastes(testbed, tmp_path):
    registry = testbed.endpoints["tls_untrusted"].hostport
    out = tmp_path / "done"
    # -v: every runtime's commands (docker, which skips verification for 127.0.0.0/8,
    # is not one the finding names: without -v its block is folded into one line)
    command = f"{shlex.join(_check_argv(testbed, '-v'))}; echo $? > {shlex.quote(str(out))}"
    socket = tmp_path / "tmux.sock"
    env = dict(os.environ, NO_COLOR="1", TERM="xterm-256color")

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout

    subprocess.run(
        [
            *("tmux", "-S", str(socket), "-f", "/dev/null", "new-session", "-d", "-s", "rd"),
            *("-x", "80", "-y", "50", command, ";", "set-option", "-g", "remain-on-exit", "on"),
        ],
        env=env,
        check=True,
        timeout=10,
    )
    try:
        poll_until(lambda: out.exists() and out.read_text().strip() != "", 60, "the check")
        # what a user copies: the pane's text, lines the terminal wrapped joined back (-J)
        screen = tmux("capture-pane", "-p", "-J", "-t", "rd", "-S", "-")
    finally:
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, timeout=10)
    assert "tls.unknown_authority" in screen
    lines = screen.splitlines()
    # only what cannot be broken is wider (a URL: the terminal folds it, -J joins it)
    wide = [line for line in lines if len(line) > 80 and len(line.split()) > 1]
    assert not wide, wide
    blocks = [b for b in plain_blocks(screen) if "certs.d" in b.text or "ca-cert" in b.text]
    _apply_and_verify(blocks, tmp_path / "node", testbed.untrusted_ca_file, registry)


def test_markdown_fenced_blocks_paste(testbed, tmp_path):
    registry = testbed.endpoints["tls_untrusted"].hostport
    proc = subprocess.run(
        # --verbose: every runtime's block (the default ticket keeps within 40 lines)
        _check_argv(testbed, "--format", "markdown", "--verbose"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    blocks = [b for b in markdown_blocks(proc.stdout) if b.label.split(", ")[0] in RUNTIMES]
    blocks = [b for b in blocks if "certs.d" in b.text or "ca-cert" in b.text]
    _apply_and_verify(blocks, tmp_path / "node", testbed.untrusted_ca_file, registry)
