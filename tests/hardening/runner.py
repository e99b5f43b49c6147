"""Run ``regdoctor`` as a child process and measure it: wall time, peak RSS (from the
kernel's ``wait4`` accounting of exactly that child), exit code, stdout and stderr."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

#: Every hostile run must stay under this peak RSS.
MAX_RSS_MB = 200
#: Bytes that must never reach a terminal from regdoctor: ESC, BEL, CSI (C1), and the
#: other C0 controls except TAB, LF (and CR, which Rich never writes on its own).
FORBIDDEN = (*tuple(chr(c) for c in range(32) if chr(c) not in "\t\n"), "\x7f", "\x9b", "\x9d")


@dataclass
class Run:
    argv: list[str]
    code: int
    stdout: str
    stderr: str
    elapsed_s: float
    maxrss_mb: float
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.document.get("findings", []))

    @property
    def categories(self) -> list[str]:
        return [f["category"] for f in self.findings]

    @property
    def rules(self) -> list[str]:
        return [f["rule"] for f in self.findings]

    def observations(self, target: int = 0) -> list[dict[str, Any]]:
        return list(self.document["targets"][target]["observations"])

    def observation(self, kind: str, step: str | None = None) -> dict[str, Any]:
        return next(
            o
            for o in self.observations()
            if o["kind"] == kind and (step is None or o["step"] == step)
        )


def start(
    args: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], float, list[str]]:
    argv = [sys.executable, "-m", "regdoctor", *args]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    return proc, time.monotonic(), argv


def finish(
    proc: subprocess.Popen[bytes],
    started: float,
    argv: list[str],
    *,
    stdin: str | None,
    hard_limit_s: float,
) -> Run:
    out: dict[str, bytes] = {}

    def reader(name: str, stream: Any) -> None:
        out[name] = stream.read()

    threads = [
        threading.Thread(target=reader, args=("stdout", proc.stdout), daemon=True),
        threading.Thread(target=reader, args=("stderr", proc.stderr), daemon=True),
    ]
    for t in threads:
        t.start()
    if stdin is not None and proc.stdin is not None:
        try:
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
    status = 0
    peak_kib = 0
    # Wake on the child's exit (a pidfd becomes readable), sampling its peak RSS every
    # 10 ms until then: VmHWM is gone once the child is a zombie.
    pidfd = os.pidfd_open(proc.pid)
    try:
        while True:
            peak_kib = max(peak_kib, vm_hwm_kib(proc.pid))
            exited, _, _ = select.select([pidfd], [], [], 0.01)
            if exited:
                break
            if time.monotonic() - started > hard_limit_s:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        os.close(pidfd)
    _, status, _ = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in threads:
        t.join(5)
    stdout = out.get("stdout", b"").decode("utf-8", "replace")
    stderr = out.get("stderr", b"").decode("utf-8", "replace")
    document: dict[str, Any] = {}
    if "--format" in argv and argv[argv.index("--format") + 1] == "json" and stdout.strip():
        try:
            document = json.loads(stdout)
        except ValueError:
            document = {}
    return Run(argv, proc.returncode, stdout, stderr, elapsed, peak_kib / 1024, document)


def vm_hwm_kib(pid: int | str = "self") -> int:
    """Peak RSS of the process's *current* image (``VmHWM``), in KiB.

    Not ``ru_maxrss``: Linux carries a forked child's high-water mark across ``exec``, so
    a child of a large pytest process reports pytest's size, not its own."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run(
    args: list[str],
    *,
    stdin: str | None = None,
    hard_limit_s: float = 30.0,
    env: dict[str, str] | None = None,
) -> Run:
    proc, started, argv = start(args, stdin=stdin, env=env)
    return finish(proc, started, argv, stdin=stdin, hard_limit_s=hard_limit_s)


def run_both(
    check_args: list[str], *, stdin: str | None = None, hard_limit_s: float = 30.0
) -> tuple[Run, Run]:
    """``check --format json --debug`` and ``check --format plain -v --debug`` at once."""
    json_args = ["check", "--format", "json", "--debug", *check_args]
    plain_args = ["check", "--format", "plain", "-v", "--debug", *check_args]
    env = {**os.environ, "COLUMNS": "100"}
    p1 = start(json_args, stdin=stdin, env=env)
    p2 = start(plain_args, stdin=stdin, env=env)
    r1 = finish(*p1, stdin=stdin, hard_limit_s=hard_limit_s)
    r2 = finish(*p2, stdin=stdin, hard_limit_s=hard_limit_s)
    return r1, r2


def leaked_controls(text: str, *, colour: bool = False) -> list[str]:
    """Control characters in ``text``. With ``colour``, Rich's own SGR colour sequences
    (``ESC [ ... m``) are allowed and removed first."""
    import re

    if colour:
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return sorted({repr(c) for c in text if c in FORBIDDEN})
