"""Shared helpers: real credential helper programs on a temporary PATH, and a Paths for
fixture trees that never reads the developer's machine."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from regdoctor.discovery.base import Paths

ANSWERING = """#!{python}
import json, sys
if sys.argv[1:] != ["get"]:
    print("usage: get", file=sys.stderr); sys.exit(2)
server = sys.stdin.read().strip()
known = {known!r}
if server in known:
    user, secret = known[server]
    print(json.dumps({{"ServerURL": server, "Username": user, "Secret": secret}}))
else:
    print("credentials not found in native keychain"); sys.exit(1)
"""
FAILING = """#!{python}
import sys
sys.stdin.read()
print("pass not initialized: exec: \\"pass\\": executable file not found in $PATH")
sys.exit(1)
"""
SLOW = """#!{python}
import signal, sys
sys.stdin.read()
signal.pause()  # never answers: regdoctor's timeout must end it
"""
MALFORMED = """#!{python}
import sys
sys.stdin.read()
print("Username=me Secret=oops")
"""


def write_helper(directory: Path, name: str, body: str, **values: object) -> Path:
    """Write ``docker-credential-<name>``, executable, speaking the real protocol."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"docker-credential-{name}"
    path.write_text(body.format(python=sys.executable, **values))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def helper_env(bin_dir: Path) -> dict[str, str]:
    """An environment whose PATH finds only the helpers in ``bin_dir`` (and the system's
    basic tools, which hold no docker-credential-* programs here)."""
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    return env


def fixture_paths(root: Path, path_dir: Path | None = None) -> Paths:
    """Read the fixture tree ``root`` as ``/`` with HOME=/root and nothing else."""
    env = {"HOME": "/root", "PATH": str(path_dir) if path_dir else "/nonexistent"}
    return Paths(root=root, env=env)
