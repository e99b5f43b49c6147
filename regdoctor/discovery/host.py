"""What a support engineer asks first: which versions, which OS, which container runtimes.

:func:`collect` looks for the runtime binaries (docker, containerd, podman, kubelet,
crio, nerdctl) on ``PATH`` and in the usual ``sbin`` folders, asks each for its version
(``--version``, two seconds at most) and tells whether its daemon runs (psutil). It never
raises: whatever cannot be found is reported as such. The result is plain data that
the markdown report and the support bundle show.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys

from regdoctor import __version__
from regdoctor.model import HostInfo, Runtime

__all__ = ["binaries", "collect"]

#: (runtime, binary, version arguments, daemon process names)
RUNTIMES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("docker", "docker", ("--version",), ("dockerd",)),
    ("containerd", "containerd", ("--version",), ("containerd",)),
    ("podman", "podman", ("--version",), ("podman",)),
    ("cri-o", "crio", ("--version",), ("crio",)),
    ("nerdctl", "nerdctl", ("--version",), ()),
    ("kubelet", "kubelet", ("--version",), ("kubelet",)),
)
_EXTRA_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
_VERSION_TIMEOUT_S = 2.0


def _os_name() -> str:
    try:
        data = platform.freedesktop_os_release()
        return data.get("PRETTY_NAME") or data.get("NAME") or platform.system()
    except OSError:
        pass
    if sys.platform == "darwin":
        return f"macOS {platform.mac_ver()[0]}".strip()
    return platform.system() or "unknown"


def _which(binary: str) -> str | None:
    found = shutil.which(binary)
    if found:
        return found
    path = os.pathsep.join(_EXTRA_DIRS)
    return shutil.which(binary, path=path)


def _version(path: str, args: tuple[str, ...]) -> str | None:
    try:
        proc = subprocess.run(
            [path, *args],
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    text = (proc.stdout or proc.stderr or "").strip()
    first = text.splitlines()[0] if text else ""
    return first[:200] or None


def _running_processes() -> set[str] | None:
    try:
        import psutil
    except ImportError:  # pragma: no cover - a dependency
        return None
    names: set[str] = set()
    try:
        for proc in psutil.process_iter(["name"]):
            name = proc.info.get("name")
            if name:
                names.add(str(name))
    except Exception:  # psutil raises its own errors on some systems
        return None
    return names


def binaries() -> dict[str, str]:
    """The runtime binaries found (runtime -> path): no version asked, no process listed
    (what a check's scope needs; psutil and a walk of every process cost tens of ms)."""
    return {name: path for name, binary, _args, _daemons in RUNTIMES if (path := _which(binary))}


def collect(*, versions: bool = True) -> HostInfo:
    """Versions of regdoctor, Python, the OS, and the container runtimes found."""
    running = _running_processes()
    runtimes = []
    for name, binary, args, daemons in RUNTIMES:
        path = _which(binary)
        version = _version(path, args) if (path and versions) else None
        daemon = daemons[0] if daemons else None
        if not daemons or running is None:
            state: bool | None = None
        else:
            state = any(d in running for d in daemons)
        runtimes.append(Runtime(name, path, version, daemon, state))
    return HostInfo(
        regdoctor=__version__,
        python=platform.python_version(),
        os=_os_name(),
        kernel=f"{platform.system()} {platform.release()}".strip(),
        machine=platform.machine(),
        runtimes=tuple(runtimes),
    )
