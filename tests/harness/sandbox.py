"""A per-scenario sandbox: a fresh network namespace plus a private mount namespace.

Why: the runtime oracles (dockerd, containerd, podman, skopeo) read fixed paths
(``/etc/docker/daemon.json``, ``/etc/containerd/certs.d``, ``/etc/containers/...``,
``/etc/hosts``) and dial real names (``registry-1.docker.io``). In the sandbox those
paths are per-scenario files and the names point at registries the scenario starts, so
a fake Docker Hub can exist, and nothing can leave the machine: the namespace has only a
loopback interface (plus addresses the scenario adds to it, e.g. ``198.18.0.10``).

Design: one long-lived *holder* process per sandbox, created with
``setpriv --pdeathsig KILL unshare --net --mount --propagation private``. Its setup
script brings ``lo`` up, adds the extra addresses, mounts a tmpfs over ``/run`` (so no
daemon finds or writes the host's sockets) and bind-mounts the sandbox's files over

- ``/etc/hosts``, ``/etc/resolv.conf`` (``nameserver 127.0.0.1``: the sandbox's own DNS)
- ``/etc/docker``, ``/etc/containerd``, ``/etc/containers`` (whole directories)
- ``/etc/ssl/certs/ca-certificates.crt`` (the system trust store: a copy of the host's,
  to which :meth:`Sandbox.set_system_ca` adds the harness CA; dockerd 20.10 trusts only
  this store, never ``certs.d``, for Docker Hub itself)

then touches a marker and waits forever. Every command of the scenario runs in it through
``nsenter -t HOLDER -n -m``. The host's files are never modified; the mounts vanish with
the namespace. Those files live below :attr:`Sandbox.config_root` (``<root>/fs/etc/...``),
so the same tree doubles as a ``--root`` / ``REGDOCTOR_CONFIG_ROOT`` for regdoctor.

Python code of the harness reaches the sandbox's network through :meth:`Sandbox.call`:
a dedicated thread ``setns()``-es into the network namespace, and every socket it
creates stays there (readiness probes, pushing content with httpx, the delaying proxy).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import ipaddress
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.harness import procs

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
#: Directories bound over their /etc counterparts (they exist on Debian with the
#: packages installed; a missing one is skipped, never created on the host).
#: ``systemd/system``: unit drop-ins (``docker.service.d/http-proxy.conf``), which the
#: runtime scenarios' ``systemctl`` shim applies to the daemons it restarts.
ETC_DIRS = ("docker", "containerd", "containers", "systemd/system")
RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
_EMPTY_REGISTRIES_CONF = "# regdoctor sandbox: no registries, no mirrors, no aliases\n"
_POLICY = '{"default": [{"type": "insecureAcceptAnything"}]}\n'

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Outcome:
    """What one command did: the raw material the oracle comparison works on."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _enter_netns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def _holder_script(sandbox: Sandbox, addresses: list[str]) -> str:
    q = shlex.quote
    etc = sandbox.etc
    lines = [
        "set -e",
        "ip link set lo up",
        *(f"ip addr add {q(a)}/32 dev lo" for a in addresses),
        "mount -t tmpfs -o mode=755,size=64m rdh-run /run",
        f"mount --bind {q(str(etc / 'hosts'))} /etc/hosts",
        f"mount --bind {q(str(etc / 'resolv.conf'))} /etc/resolv.conf",
    ]
    for name in ETC_DIRS:
        if Path("/etc", name).is_dir():
            lines.append(f"mount --bind {q(str(etc / name))} /etc/{name}")
    if SYSTEM_CA_BUNDLE.is_file():
        lines.append(f"mount --bind {q(str(sandbox.system_ca_bundle))} {SYSTEM_CA_BUNDLE}")
    lines += [f"touch {q(str(sandbox.root / 'ready'))}", "exec sleep infinity"]
    return "\n".join(lines) + "\n"


class Sandbox:
    """One scenario's namespaces. Create with :func:`open_sandbox`."""

    def __init__(self, root: Path, names: Mapping[str, str]) -> None:
        self.root = root
        self.config_root = root / "fs"
        """``<root>/fs``: its ``etc/...`` is what the sandbox sees as ``/etc/...``."""
        self.etc = self.config_root / "etc"
        self.names: dict[str, str] = dict(names)
        self.addresses: set[str] = set()
        self._host_bundle = b""
        self.holder: subprocess.Popen[bytes] | None = None
        self.startup_s = 0.0
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._netns_id = ""
        self._cleanups = contextlib.ExitStack()

    # -- set-up -------------------------------------------------------------------

    def _prepare_tree(self) -> None:
        for name in ETC_DIRS:
            (self.etc / name).mkdir(parents=True, exist_ok=True)
        (self.etc / "docker" / "certs.d").mkdir(exist_ok=True)
        (self.etc / "containerd" / "certs.d").mkdir(exist_ok=True)
        containers = self.etc / "containers"
        (containers / "certs.d").mkdir(exist_ok=True)
        (containers / "registries.d").mkdir(exist_ok=True)
        (containers / "registries.conf").write_text(_EMPTY_REGISTRIES_CONF)
        (containers / "policy.json").write_text(_POLICY)
        (self.etc / "resolv.conf").write_text(RESOLV_CONF)
        self._write_hosts()
        self.system_ca_bundle.parent.mkdir(parents=True, exist_ok=True)
        host_bundle = SYSTEM_CA_BUNDLE.read_bytes() if SYSTEM_CA_BUNDLE.is_file() else b""
        self.system_ca_bundle.write_bytes(host_bundle)
        self._host_bundle = host_bundle

    def _write_hosts(self) -> None:
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
        lines += [f"{ip} {name}" for name, ip in self.names.items()]
        # In place (same inode): the bind mount keeps pointing at this file.
        with (self.etc / "hosts").open("w") as f:
            f.write("\n".join(lines) + "\n")

    @property
    def system_ca_bundle(self) -> Path:
        """The file the sandbox sees as ``/etc/ssl/certs/ca-certificates.crt``."""
        return self.etc / "ssl" / "certs" / "ca-certificates.crt"

    def set_system_ca(self, *pem_files: Path, keep_host_cas: bool = True) -> None:
        """Make the sandbox's system trust store the host's CAs (or none) plus ``pem_files``.

        Written in place (the bind mount keeps the inode). Go programs read the store
        once per process: restart daemons after changing it.
        """
        data = self._host_bundle if keep_host_cas else b""
        data += b"".join(p.read_bytes() for p in pem_files)
        with self.system_ca_bundle.open("r+b") as f:
            f.truncate(0)
            f.write(data)

    def _start(self, system_ca: Path | None) -> None:
        started = time.monotonic()
        self._prepare_tree()
        if system_ca is not None:
            self.set_system_ca(system_ca)
        addresses = sorted({ip for ip in self.names.values() if _needs_address(ip)})
        self.addresses.update(addresses)
        script = self.root / "holder.sh"
        script.write_text(_holder_script(self, addresses))
        self.holder = procs.spawn(
            ["unshare", "--net", "--mount", "--propagation", "private", "--", "sh", str(script)],
            self.root / "holder.log",
            procs.clean_env(self.root),
        )
        holder = self.holder

        def ready() -> bool:
            if holder.poll() is not None:
                raise RuntimeError(
                    f"sandbox holder exited:\n{procs.tail(self.root / 'holder.log')}"
                )
            return (self.root / "ready").exists()

        procs.poll_until(ready, 10.0, "sandbox holder")
        self._netns_id = os.readlink(f"/proc/{holder.pid}/ns/net")
        if self._netns_id == os.readlink("/proc/self/ns/net"):
            raise RuntimeError("sandbox holder is in the host network namespace")
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="rdh-netns",
            initializer=_enter_netns,
            initargs=(f"/proc/{holder.pid}/ns/net",),
        )
        self.startup_s = time.monotonic() - started

    # -- running things inside ------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.holder is not None
        return self.holder.pid

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` as a command line that runs inside the sandbox."""
        return ["nsenter", "-t", str(self.pid), "-n", "-m", "--", *argv]

    def env(
        self, extra: Mapping[str, str] | None = None, home: Path | None = None
    ) -> dict[str, str]:
        """A clean environment (no proxies, no host config variables) below the sandbox."""
        home = home or self.root / "home"
        home.mkdir(parents=True, exist_ok=True)
        return procs.clean_env(home, extra)

    def run(
        self,
        argv: list[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
        input_text: str | None = None,
        cwd: Path | None = None,
    ) -> Outcome:
        """Run one command inside the sandbox to completion."""
        started = time.monotonic()
        proc = subprocess.run(
            self.wrap(argv),
            input=input_text,
            capture_output=True,
            text=True,
            env=dict(env) if env is not None else self.env(),
            cwd=cwd or self.root,
            timeout=timeout_s,
            check=False,
            start_new_session=True,
        )
        return Outcome(argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)

    def spawn(
        self, argv: list[str], log_file: Path, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a long-running process inside (own process group, PDEATHSIG, reaped).

        It is stopped at :meth:`stop` at the latest (its group, then the namespace sweep).
        """
        proc = procs.spawn(self.wrap(argv), log_file, env if env is not None else self.env())
        self.on_stop(lambda: procs.stop(proc))
        return proc

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in a thread that lives in the sandbox's network namespace.

        Sockets opened by ``fn`` are in the sandbox (and stay there when used later from
        another thread). Filesystem paths are the host's view.
        """
        assert self._executor is not None, "sandbox not started"
        return self._executor.submit(fn, *args, **kwargs).result()

    # -- configuration ---------------------------------------------------------------

    def set_names(self, names: Mapping[str, str]) -> None:
        """Add/replace ``name -> IPv4`` entries in the sandbox's /etc/hosts."""
        self.names.update(names)
        self.add_addresses(*names.values())
        self._write_hosts()

    def add_addresses(self, *addresses: str) -> None:
        """Put addresses (outside 127.0.0.0/8) on the sandbox's loopback interface."""
        new = sorted({a for a in addresses if _needs_address(a)} - self.addresses)
        if not new:
            return
        batch = "".join(f"addr add {a}/32 dev lo\n" for a in new)
        out = self.run(["ip", "-batch", "-"], input_text=batch, timeout_s=10)
        if not out.ok:
            raise RuntimeError(f"adding {new}: {out.stderr}")
        self.addresses.update(new)

    def write_etc(self, relative: str, content: str | bytes) -> Path:
        """Write ``/etc/<relative>`` as the sandbox sees it (e.g. ``docker/daemon.json``)."""
        path = self.etc / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def workdir(self, name: str) -> Path:
        """A fresh directory for one component's state and logs."""
        path = self.root / name
        path.mkdir(parents=True, exist_ok=False)
        return path

    def on_stop(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` at :meth:`stop` (last registered, first run)."""
        self._cleanups.callback(callback)

    # -- teardown ------------------------------------------------------------------

    def members(self) -> list[int]:
        """PIDs of every process in the sandbox's network namespace (except the holder)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in (os.getpid(), self.pid):
                continue
            try:
                if os.readlink(f"/proc/{entry}/ns/net") == self._netns_id:
                    found.append(int(entry))
            except OSError:  # gone, or a zombie
                continue
        return found

    def stop(self) -> None:
        """Stop services (registered cleanups), kill stragglers, end the namespaces."""
        try:
            self._cleanups.close()
        finally:
            if self._netns_id:
                self._kill_members()
            if self.holder is not None:
                procs.stop(self.holder, grace_s=2.0)
            if self._executor is not None:
                self._executor.shutdown(wait=True)

    def _kill_members(self) -> None:
        # Everything in this network namespace was started by this harness: the
        # namespace is private. Daemons' own children (containerd shims) may be
        # outside our process groups, so they are found by namespace, and killed by pid.
        for pid in self.members():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        procs.poll_until(lambda: not self.members(), 10.0, "sandbox processes to exit")


def _needs_address(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if addr.version != 4:
        raise ValueError(f"IPv4 only: {ip}")
    return not addr.is_loopback


@contextlib.contextmanager
def open_sandbox(
    names: Mapping[str, str] | None = None,
    *,
    system_ca: Path | None = None,
    keep: bool = False,
) -> Iterator[Sandbox]:
    """A fresh sandbox below ``/tmp/rdh-XXXXXX`` (short: unix socket paths live there).

    ``names``: ``name -> IPv4`` for /etc/hosts (non-loopback addresses are added to the
    sandbox's ``lo``). ``system_ca``: a PEM file added to the sandbox's system trust
    store. Everything is stopped and removed at exit (``keep`` keeps the directory).
    """
    root = Path(tempfile.mkdtemp(prefix="rdh-", dir="/tmp"))
    sandbox = Sandbox(root, names or {})
    try:
        sandbox._start(system_ca)
        yield sandbox
    finally:
        sandbox.stop()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
