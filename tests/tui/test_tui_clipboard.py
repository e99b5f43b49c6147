"""Acceptance (issue #14): what the TUI copies pastes into a shell and does what it says.

The real program runs in tmux with ``set-clipboard on``, so the OSC 52 sequence Textual's
``copy_to_clipboard`` writes becomes a tmux buffer. Each command of the fix for an
untrusted CA is copied with ``c`` (Tab moves to the next), the buffer is pasted into a
bash in another tmux window (a scratch node, ``tests/helpers/paste.py``), and the files
it wrote are checked: the CA a file at each runtime's path, ``hosts.toml`` valid TOML.
"""

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
from tests.helpers.paste import guard, scratch, syntax_ok

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (Debian)")


class Tmux:
    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout

    def screen(self, target: str) -> str:
        return self("capture-pane", "-p", "-J", "-t", target)

    def wait_for(self, target: str, *needles: str, timeout: float = 30.0) -> str:
        seen = [""]

        def ready() -> bool:
            seen[0] = self.screen(target)
            return all(n in seen[0] for n in needles)

        try:
            poll_until(ready, timeout, f"{needles} on screen")
        except TimeoutError:
            raise AssertionError(f"{needles} not on screen:\n{seen[0]}") from None
        return seen[0]

    def buffers(self) -> list[str]:
        return self("list-buffers", "-F", "#{buffer_name}").split()


def test_copied_commands_paste_into_a_shell(testbed, tmp_path):
    registry = testbed.endpoints["tls_untrusted"].hostport
    image = testbed.images.app.ref(registry)
    # podman: the untrusted CA leads (with every runtime judged, containerd's plain HTTP
    # to a loopback TLS port leads); the commands of all four runtimes are still listed
    argv = [sys.executable, "-m", "regdoctor", "tui", "--runtime", "podman", image]
    env = dict(os.environ, TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    node = scratch(tmp_path / "node", testbed.untrusted_ca_file)
    tmux = Tmux(tmp_path / "tmux.sock")
    subprocess.run(
        [
            *("tmux", "-S", str(tmux.socket), "-f", "/dev/null", "start-server", ";"),
            *("set-option", "-g", "set-clipboard", "on", ";"),
            *("new-session", "-d", "-s", "rd", "-x", "100", "-y", "40", shlex.join(argv)),
        ],
        env=env,
        check=True,
        timeout=10,
    )
    try:
        tmux.wait_for("rd", "tls.unknown_authority", "Quit")
        tmux("send-keys", "-t", "rd", "Enter")
        tmux.wait_for("rd", "Findings", "Copy command")
        copied: list[str] = []
        for _ in range(4):  # docker, podman, containerd, kubernetes
            before = len(tmux.buffers())
            tmux("send-keys", "-t", "rd", "c")
            poll_until(lambda n=before: len(tmux.buffers()) > n, 10, "a new tmux buffer")
            copied.append(tmux.buffers()[0])
            tmux("send-keys", "-t", "rd", "Tab")
        texts = [tmux("show-buffer", "-b", name) for name in copied]
        assert len(set(texts)) == 4, texts
        for text in texts:
            assert "\\n" not in text and "\n" in text, text  # real line breaks
            assert syntax_ok(text), text
            guard(text)
        # a shell on the scratch node; each buffer pasted as a user would, then Enter
        shell_env = " ".join(f"{k}={shlex.quote(v)}" for k, v in node.env().items())
        tmux(
            "new-window",
            "-d",
            "-t",
            "rd",
            "-n",
            "sh",
            "-c",
            str(node.work),
            f"env -i {shell_env} bash --norc --noprofile",
        )
        for name in copied:
            tmux("paste-buffer", "-p", "-b", name, "-t", "rd:sh")
            tmux("send-keys", "-t", "rd:sh", "Enter")
        tmux("send-keys", "-t", "rd:sh", "echo pasted-$((6*7))", "Enter")
        screen = tmux.wait_for("rd:sh", "pasted-42")
        assert "command not found" not in screen and "No such file" not in screen, screen
    finally:
        subprocess.run(
            ["tmux", "-S", str(tmux.socket), "kill-server"], capture_output=True, timeout=10
        )
    root = node.root
    for folder in ("docker", "containers", "containerd"):
        installed = root / "etc" / folder / "certs.d" / registry / "ca.crt"
        assert installed.is_file(), installed
        assert installed.read_bytes() == testbed.untrusted_ca_file.read_bytes()
    hosts = tomllib.loads((root / f"etc/containerd/certs.d/{registry}/hosts.toml").read_text())
    assert hosts["server"] == f"https://{registry}"
