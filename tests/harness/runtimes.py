"""The real container runtimes as oracles, in a per-scenario sandbox: one entry point.

A scenario builds a :class:`~tests.harness.sandbox.Sandbox` (network + mount namespace
with its own /etc files), starts registries/DNS/proxies in it
(:mod:`tests.harness.sandbox_services`), runs dockerd 20.10 / containerd 1.6 / podman /
skopeo there (:mod:`tests.harness.dockerd`, :mod:`tests.harness.containerd`, the runners
below), and compares regdoctor's verdict (:func:`run_regdoctor`, same sandbox) with
what the runtimes really did (:class:`Outcome`).

Modules:

- ``sandbox.py``: :func:`open_sandbox`, :class:`Sandbox`, :class:`Outcome`
- ``sandbox_services.py``: :class:`SandboxRegistry`, :class:`SandboxDns`,
  :class:`DelayProxy`, :func:`issue_leaf`, :func:`sandbox_leaf`, :func:`wait_ready`
- ``containerd.py``: :class:`Containerd`, :func:`start_containerd`, :func:`hosts_toml`
- ``dockerd.py``: :class:`Dockerd`, :class:`DaemonStart`, :class:`DaemonExited`
- here: podman/skopeo/regdoctor runners, cert/registries.conf helpers, availability
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tests.harness.containerd import (
    CONTAINERD_BIN,
    CTR_BIN,
    Containerd,
    hosts_toml,
    start_containerd,
)
from tests.harness.dockerd import DOCKER_BIN, DOCKERD_BIN, DaemonExited, DaemonStart, Dockerd
from tests.harness.registry import REGISTRY_BIN
from tests.harness.sandbox import Outcome, Sandbox, open_sandbox
from tests.harness.sandbox_services import (
    DelayProxy,
    SandboxDns,
    SandboxRegistry,
    issue_leaf,
    sandbox_leaf,
    wait_ready,
)

__all__ = [
    "Containerd",
    "DaemonExited",
    "DaemonStart",
    "DelayProxy",
    "Dockerd",
    "Outcome",
    "Sandbox",
    "SandboxDns",
    "SandboxRegistry",
    "hosts_toml",
    "issue_leaf",
    "missing_runtime_tools",
    "open_sandbox",
    "podman_pull",
    "run_regdoctor",
    "sandbox_leaf",
    "skopeo_inspect",
    "start_containerd",
    "trust_ca",
    "wait_ready",
    "write_registries_conf",
]

PODMAN_BIN = "/usr/bin/podman"
SKOPEO_BIN = "/usr/bin/skopeo"
REPO_ROOT = Path(__file__).resolve().parents[2]
_TOOLS = (
    DOCKERD_BIN,
    DOCKER_BIN,
    CONTAINERD_BIN,
    CTR_BIN,
    "/usr/sbin/runc",
    REGISTRY_BIN,
    PODMAN_BIN,
    SKOPEO_BIN,
    "/usr/sbin/dnsmasq",
)


def missing_runtime_tools() -> list[str]:
    """What keeps the runtime oracles from running here (empty: all set)."""
    missing = [] if os.geteuid() == 0 else ["root (namespaces, mounts)"]
    missing += [
        tool
        for tool in _TOOLS
        if not os.access(tool, os.X_OK) and not shutil.which(Path(tool).name)
    ]
    missing += [t for t in ("unshare", "nsenter", "ip", "setpriv") if shutil.which(t) is None]
    return missing


def runtime_marks(*extra: Any) -> list[Any]:
    """The ``pytestmark`` of a module that needs the runtime oracles: the ``runtimes``
    mark, ``extra`` marks (a timeout), and a skip that names what is missing here."""
    import pytest

    missing = missing_runtime_tools()
    reason = f"runtime oracles need: {', '.join(missing)}"
    return [pytest.mark.runtimes, *extra, pytest.mark.skipif(bool(missing), reason=reason)]


# -- configuration helpers -------------------------------------------------------------


def trust_ca(
    sandbox: Sandbox,
    hostport: str,
    ca_file: Path,
    *,
    docker: bool = True,
    containers: bool = True,
) -> None:
    """Install ``ca_file`` as ``ca.crt`` in ``/etc/docker/certs.d/HOSTPORT`` and/or
    ``/etc/containers/certs.d/HOSTPORT`` (for containerd, write a ``hosts.toml`` with
    ``ca = ...`` instead: see :func:`~tests.harness.containerd.hosts_toml`)."""
    for enabled, base in ((docker, "docker/certs.d"), (containers, "containers/certs.d")):
        if enabled:
            sandbox.write_etc(f"{base}/{hostport}/ca.crt", ca_file.read_bytes())


def write_registries_conf(sandbox: Sandbox, text: str) -> Path:
    """Replace the sandbox's ``/etc/containers/registries.conf`` (podman, skopeo)."""
    return sandbox.write_etc("containers/registries.conf", text)


# -- clients -------------------------------------------------------------------------


def _tls_flags(tls_verify: bool | None, creds: tuple[str, str] | None) -> list[str]:
    flags = [] if tls_verify is None else [f"--tls-verify={'true' if tls_verify else 'false'}"]
    if creds is not None:
        flags.append(f"--creds={creds[0]}:{creds[1]}")
    return flags


def podman_pull(
    sandbox: Sandbox,
    ref: str,
    *,
    tls_verify: bool | None = None,
    creds: tuple[str, str] | None = None,
    extra: Sequence[str] = (),
    timeout_s: float = 60.0,
) -> Outcome:
    """``podman pull REF`` as root inside the sandbox, reading the sandbox's
    ``/etc/containers`` (registries.conf, certs.d, policy.json); storage (vfs) below it.

    ``tls_verify=None`` leaves the decision to registries.conf (``insecure = true``).
    """
    state = sandbox.root / "podman"
    argv = [
        PODMAN_BIN,
        "--root",
        str(state / "root"),
        "--runroot",
        str(state / "run"),
        "--storage-driver",
        "vfs",
        "--cgroup-manager",
        "cgroupfs",
        "--events-backend",
        "none",
        "pull",
        *_tls_flags(tls_verify, creds),
        *extra,
        ref,
    ]
    # podman 4.3 refuses a missing auth file (flag or REGISTRY_AUTH_FILE): start empty.
    auth_file = state / "auth.json"
    if not auth_file.exists():
        state.mkdir(parents=True, exist_ok=True)
        auth_file.write_text('{"auths": {}}\n')
    env = sandbox.env({"REGISTRY_AUTH_FILE": str(auth_file)}, home=state / "home")
    return sandbox.run(argv, env=env, timeout_s=timeout_s)


def skopeo_inspect(
    sandbox: Sandbox,
    ref: str,
    *,
    tls_verify: bool | None = None,
    creds: tuple[str, str] | None = None,
    timeout_s: float = 30.0,
) -> Outcome:
    """``skopeo inspect --raw docker://REF`` with the sandbox's ``/etc/containers``
    (unlike :func:`tests.harness.skopeo.run_skopeo`, which pins an empty config)."""
    ref = ref if ref.startswith("docker://") else f"docker://{ref}"
    home = sandbox.root / "skopeo-home"
    argv = [
        SKOPEO_BIN,
        f"--command-timeout={timeout_s:g}s",
        "inspect",
        "--raw",
        "--retry-times=0",
        f"--authfile={home / 'auth.json'}",
        *_tls_flags(tls_verify, creds),
        ref,
    ]
    return sandbox.run(argv, env=sandbox.env(home=home), timeout_s=timeout_s + 5)


def run_regdoctor(
    sandbox: Sandbox,
    args: Iterable[str],
    *,
    input_text: str | None = None,
    timeout_s: float = 60.0,
) -> Outcome:
    """``python -m regdoctor ARGS`` (this checkout) inside the sandbox, where it sees the
    sandbox's /etc files, names and registries. Pass ``--dns-server 127.0.0.1:53`` to
    resolve through a :class:`SandboxDns`."""
    env = sandbox.env({"PYTHONPATH": str(REPO_ROOT)}, home=sandbox.root / "regdoctor-home")
    return sandbox.run(
        [sys.executable, "-m", "regdoctor", *args],
        env=env,
        input_text=input_text,
        timeout_s=timeout_s,
    )
