"""Paste tests: take regdoctor's commands out of what a user sees (a tmux pane, a
Markdown ticket, the clipboard), check them with ``bash -n`` and run them in a scratch
directory.

The commands are run exactly as shown. What keeps them off this machine: every command
that writes outside the working directory goes through ``sudo`` (regdoctor's commands
are written so), and the ``sudo`` here is a shim on ``PATH`` that moves the absolute
paths it is given below the scratch directory (``/etc/docker/...`` ->
``$SCRATCH/etc/docker/...``) before running the command. ``systemctl``,
``update-ca-certificates`` and ``kubectl`` are shims that only record their arguments.
:func:`guard` refuses a command that names a system path without ``sudo``.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from regdoctor.render.shell import heredoc_lines

#: A label line of the plain report: ``       docker, podman:``.
_RUNTIME = "(?:docker|podman|containerd|kubernetes)"
_LABEL = re.compile(rf"^ {{4,}}({_RUNTIME}(?:, {_RUNTIME})*)(?: \(check\))?:$")
_SYSTEM_PATH = re.compile(r"(?<![\w$.}/-])/(?:etc|usr|var|root|opt|lib|boot|srv)/")

_SUDO = """#!/bin/bash
# a test shim: drop sudo's options, move system paths below $SCRATCH, run the command
while [[ $# -gt 0 && $1 == -* ]]; do shift; done
args=()
for a in "$@"; do
  case "$a" in
    /etc/*|/usr/*|/var/*|/root/*|/opt/*) a="$SCRATCH$a" ;;
  esac
  args+=("$a")
done
exec "${args[@]}"
"""
_RECORD = """#!/bin/bash
echo "$(basename "$0") $*" >> "$SCRATCH/shim.log"
"""


@dataclass(frozen=True)
class Block:
    label: str
    text: str


def plain_blocks(screen: str) -> list[Block]:
    """The command blocks of a plain report as a user selects them: from below a
    runtime label to the first line indented like prose again (a line after a `` \\``
    continuation, or inside a heredoc, belongs to the command)."""
    lines = screen.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _LABEL.match(lines[i])
        i += 1
        if not m:
            continue
        body: list[str] = []
        while i < len(lines):
            line = lines[i]
            inside = heredoc_lines([*body, line])[-1]
            continued = bool(body) and body[-1].endswith("\\")
            if (line and not line.startswith(" ")) or inside or continued:
                body.append(line)
                i += 1
                continue
            break
        if body:
            blocks.append(Block(m.group(1), "\n".join(body)))
    return blocks


def markdown_blocks(text: str) -> list[Block]:
    """Each fenced ``sh`` block of a Markdown ticket with the label line above it."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(`{3,})sh$", lines[i])
        if not m:
            i += 1
            continue
        fence = m.group(1)
        end = lines.index(fence, i + 1)
        label = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        label = label.rstrip(":").removesuffix(" (check)")
        blocks.append(Block(label, "\n".join(lines[i + 1 : end])))
        i = end + 1
    return blocks


def syntax_ok(script: str) -> bool:
    return subprocess.run(["bash", "-n"], input=script, text=True, timeout=10).returncode == 0


def guard(script: str) -> None:
    """Refuse a command that would touch a system path without the ``sudo`` shim."""
    lines = script.replace("\\\n", " ").splitlines()
    for line, in_heredoc in zip(lines, heredoc_lines(lines), strict=True):
        code = line.strip()
        if in_heredoc or code.startswith("#"):
            continue
        for statement in re.split(r"&&|\|\||;", code.split(" #", 1)[0]):
            statement = statement.strip()
            if _SYSTEM_PATH.search(statement) and not statement.startswith("sudo "):
                raise AssertionError(f"would touch the system without sudo: {line!r}")


@dataclass
class Scratch:
    """A scratch node: ``root`` holds the moved system paths, ``work`` is the working
    directory (with ``ca.crt``), ``bin`` the shims."""

    root: Path

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.root / "home"),
            "SCRATCH": str(self.root),
            "LANG": "C.UTF-8",
        }

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        guard(script)
        return subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=self.work,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )


def scratch(root: Path, ca: Path) -> Scratch:
    node = Scratch(root)
    for folder in (node.work, node.bin, root / "home", root / "usr/local/share/ca-certificates"):
        folder.mkdir(parents=True, exist_ok=True)
    (node.work / "ca.crt").write_bytes(ca.read_bytes())
    shims = {"sudo": _SUDO, "systemctl": _RECORD, "update-ca-certificates": _RECORD}
    shims["kubectl"] = _RECORD
    for name, text in shims.items():
        path = node.bin / name
        path.write_text(text)
        path.chmod(0o755)
    return node


def env_without_proxies() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
