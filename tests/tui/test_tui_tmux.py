"""The real program in a real terminal: tmux (Debian package) runs `regdoctor tui`
against the testbed, keys go in with send-keys, the screen comes back with capture-pane.

Also reports start-up: the App writes the seconds from process start to its first
frame to $REGDOCTOR_TUI_FIRST_FRAME (docs/tui.md); the 1 s budget is a benchmark
(benchmarks/bench_tui_first_frame.py), not a timed test.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.procs import poll_until

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (Debian)")


class Tmux:
    """One private tmux server (its own socket), killed at the end: never the user's."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return result.stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        """Run ``command`` in an 80x24 session ``rd``; the pane stays after it ends
        (remain-on-exit), so what the program printed on exit can still be read."""
        subprocess.run(
            [
                "tmux",
                "-S",
                str(self.socket),
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "rd",
                "-x",
                "80",
                "-y",
                "24",
                command,
                ";",
                "set-option",
                "-g",
                "remain-on-exit",
                "on",
            ],
            env=env,
            check=True,
            timeout=10,
        )

    def screen(self, history: bool = False) -> str:
        """The visible screen; with ``history``, also what scrolled off it."""
        return self("capture-pane", "-p", "-t", "rd", *(("-S", "-200") if history else ()))

    def wait_for(
        self,
        *needles: str,
        gone: tuple[str, ...] = (),
        timeout: float = 30.0,
        history: bool = False,
    ) -> str:
        """Poll the screen until every needle is on it and none of ``gone`` is."""
        seen = [""]

        def ready() -> bool:
            seen[0] = self.screen(history)
            return all(n in seen[0] for n in needles) and not any(g in seen[0] for g in gone)

        try:
            poll_until(ready, timeout, f"{needles} on screen")
        except TimeoutError:
            raise AssertionError(f"{needles} not on screen after {timeout}s:\n{seen[0]}") from None
        return seen[0]


def test_real_program_in_tmux(testbed, tmp_path):
    plain = testbed.images.app.ref(testbed.endpoints["plain"].hostport)
    # refused for every runtime (docker would pull from a loopback registry with an
    # expired certificate: it treats 127.0.0.0/8 as insecure)
    refused = testbed.images.app.ref(testbed.endpoints["closed"].hostport)
    first_frame = tmp_path / "first-frame"
    exit_file = tmp_path / "exit-code"
    argv = [
        sys.executable,
        "-m",
        "regdoctor",
        "tui",
        # judged as docker (loopback registries may fall back to plain HTTP), as `check`
        "--runtime",
        "docker",
        "--ca-file",
        str(testbed.ca_file),
        "--dns-server",
        testbed.dns_server,
        plain,
        refused,
    ]
    command = f"{shlex.join(argv)}; echo $? > {shlex.quote(str(exit_file))}"
    env = dict(os.environ, REGDOCTOR_TUI_FIRST_FRAME=str(first_frame), TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    tmux = Tmux(tmp_path / "tmux.sock")
    tmux.start(command, env)
    try:
        screen = tmux.wait_for("✓ ok", "tcp.refused", "Quit")
        lines = screen.splitlines()
        assert "regdoctor" in lines[0] and "2 targets" in lines[0]
        assert any("✗ error" in line and "tcp.refused" in line for line in lines), screen
        assert all(len(line) <= 80 for line in lines)
        # the selected row in full, with the verdict of each runtime in scope
        assert any(line.strip() in (plain, refused) for line in lines), screen
        assert any(line.strip()[:10] in ("✓ docker: ", "✗ docker: ") for line in lines), screen
        # open the failing target: its remediation is on screen
        tmux("send-keys", "-t", "rd", "Home")  # keys are handled in order: no wait needed
        row = next(i for i, line in enumerate(lines) if "tcp.refused" in line) - 2
        for _ in range(row):
            tmux("send-keys", "-t", "rd", "Down")
        tmux("send-keys", "-t", "rd", "Enter")
        # the first command is focused and scrolled into view: the fix is on screen
        tmux.wait_for("Findings", "tcp.refused", "Copy command", "1. ")
        # copy the focused command; it is printed after the App ends
        tmux("send-keys", "-t", "rd", "c")
        tmux.wait_for("copied:")
        tmux("send-keys", "-t", "rd", "Escape")
        tmux.wait_for("filter: all")
        tmux("send-keys", "-t", "rd", "?")
        tmux.wait_for("regdoctor tui: keys", "Re-run all")
        tmux("send-keys", "-t", "rd", "Escape")
        tmux.wait_for("filter: all", gone=("regdoctor tui: keys",))
        tmux("send-keys", "-t", "rd", "q")
        poll_until(lambda: _written(exit_file), 15, "the exit code file")
        assert exit_file.read_text().strip() == "2"  # errors found, as `check` says
        # the program ended: its last words may have scrolled above the dead pane's notice
        screen = tmux.wait_for("Commands copied during this session:", history=True)
        assert "regdoctor tui: keys" not in screen  # the App's screen is gone
    finally:
        subprocess.run(
            ["tmux", "-S", str(tmux.socket), "kill-server"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    seconds = float(first_frame.read_text().split()[0])
    # reported, not judged here: benchmarks/bench_tui_first_frame.py owns the 1 s budget
    print(f"first frame after {seconds:.3f} s")
    assert seconds > 0


def _written(path: Path) -> bool:
    return path.exists() and bool(path.read_text().strip())
