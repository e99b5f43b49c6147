"""Child processes and ports of the testbed: started cleanly, always reaped.

Why the care: a registry or dnsmasq left running after a crashed session keeps its port
and its storage root busy, and the next session then tests the wrong server. So every
child runs in its own process group, is registered for an ``atexit`` kill, and (where
util-linux ``setpriv`` exists) gets ``PDEATHSIG=KILL`` so even a SIGKILLed pytest takes
its children down. PDEATHSIG fires when the *thread* that forked dies, so processes are
only ever started from the thread that runs the session (pytest's main thread).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

_LIVE: set[subprocess.Popen[bytes]] = set()

POLL_INTERVAL_S = 0.02


def live_processes() -> set[subprocess.Popen[bytes]]:
    """Children started by :func:`spawn` and not yet stopped (a copy)."""
    return set(_LIVE)


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (callers must cope with the rare race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_tcp_udp_port(host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP, as a DNS server needs both."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both TCP and UDP")


def clean_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for children: no proxies, no REGISTRY_* config overrides.

    ``docker-registry`` maps every ``REGISTRY_*`` variable onto its config (a stray
    ``REGISTRY_AUTH_FILE`` would become ``auth.file``), and proxies would send loopback
    traffic elsewhere, so nothing is inherited but PATH and the locale.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "TMPDIR": str(home),
    }
    env.update(extra or {})
    return env


def _pdeathsig_prefix() -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def spawn(argv: list[str], log_file: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout+stderr into ``log_file``; it is killed at exit at the latest."""
    with log_file.open("wb") as log:  # a restart starts a fresh log
        proc = subprocess.Popen(
            _pdeathsig_prefix() + argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )
    _LIVE.add(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], grace_s: float = 3.0) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``grace_s``, and reap it.

    Waiting on the Popen object matters: PID 1 on these machines reaps late, so a
    ``kill -0`` check would see a zombie as alive.
    """
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=grace_s)
    else:
        # The leader is gone; children it forked (dnsmasq TCP workers) may not be.
        _signal_group(proc, signal.SIGKILL)
    _LIVE.discard(proc)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # The group id is the child's own pid (start_new_session), so this only ever
    # reaches processes this harness started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        stop(proc, grace_s=1.0)


def poll_until(
    check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = POLL_INTERVAL_S
) -> None:
    """Call ``check`` until it returns True; raise TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not ready after {timeout_s:.1f}s")
        time.sleep(interval_s)


def poll_all(
    checks: Mapping[str, Callable[[], bool]],
    timeout_s: float,
    interval_s: float = POLL_INTERVAL_S,
) -> None:
    """Poll many readiness checks in one loop, so N servers start in about the time of one.

    Each check must be quick and may raise to fail fast (a crashed process). A check
    that returned True is not called again.
    """
    pending = dict(checks)
    deadline = time.monotonic() + timeout_s
    while True:
        pending = {name: check for name, check in pending.items() if not check()}
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not ready after {timeout_s:.1f}s: {', '.join(sorted(pending))}")
        time.sleep(interval_s)


def tail(path: Path, limit: int = 2000) -> str:
    """The end of a log file, for error messages."""
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""
