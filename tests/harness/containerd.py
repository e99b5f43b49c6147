"""A real containerd 1.6 (Debian ``containerd``) inside a sandbox, and ``ctr`` pulls.

Each sandbox gets its own containerd: own ``root``, ``state`` and socket below the
sandbox directory, a minimal config (CRI, the btrfs/aufs/zfs/devmapper/overlayfs
snapshotters, the ``opt`` plugin and tracing disabled; ``ctr`` pulls use the ``native``
snapshotter), started in about 30 ms. The same containerd serves dockerd
(``--containerd``), so dockerd never starts a managed one (which would create
``/opt/containerd`` on the host: dockerd's generated config keeps the ``opt`` plugin).

``ctr images pull`` resolves registries client-side: ``--hosts-dir`` points it at a
``certs.d`` tree of ``hosts.toml`` files; :meth:`Containerd.pull` passes the sandbox's
``/etc/containerd/certs.d`` by default.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.harness import procs
from tests.harness.sandbox import Outcome, Sandbox

CONTAINERD_BIN = "/usr/bin/containerd"
CTR_BIN = "/usr/bin/ctr"
ETC_CERTS_D = "/etc/containerd/certs.d"
CRI_PLUGIN = "io.containerd.grpc.v1.cri"
DISABLED_PLUGINS = (
    CRI_PLUGIN,
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.overlayfs",
    "io.containerd.internal.v1.opt",
    "io.containerd.internal.v1.tracing",
    "io.containerd.tracing.processor.v1.otlp",
)


def containerd_config(
    root: Path, state: Path, address: Path, *, cri: Mapping[str, Any] | None = None
) -> str:
    """A version-2 config.toml with only what pulls (and dockerd) need.

    ``cri``: enable the CRI plugin with this ``[plugins."io.containerd.grpc.v1.cri"]``
    table (see :func:`tests.harness.cri.cri_plugin_table`); None: CRI disabled.
    """
    disabled_plugins = [p for p in DISABLED_PLUGINS if cri is None or p != CRI_PLUGIN]
    disabled = ", ".join(f'"{p}"' for p in disabled_plugins)
    plugins = ""
    if cri is not None:
        import tomli_w

        plugins = tomli_w.dumps({"plugins": {CRI_PLUGIN: dict(cri)}})
    return (
        "version = 2\n"
        f'root = "{root}"\n'
        f'state = "{state}"\n'
        f"disabled_plugins = [{disabled}]\n"
        "[grpc]\n"
        f'  address = "{address}"\n'
        "[ttrpc]\n"
        f'  address = "{address}.ttrpc"\n'
        "[debug]\n"
        '  address = ""\n'
        '  level = "info"\n'
        "[metrics]\n"
        '  address = ""\n'
        f"{plugins}"
    )


def hosts_toml(server: str | None, hosts: Sequence[tuple[str, dict[str, object]]]) -> str:
    """A ``hosts.toml``: ``server`` (the upstream) and ``[host."URL"]`` sections.

    ``hosts``: ``(url, {"capabilities": [...], "skip_verify": True, "ca": "/path"})``.
    """
    lines = [f'server = "{server}"'] if server else []
    for url, options in hosts:
        lines.append(f'\n[host."{url}"]')
        for key, value in options.items():
            lines.append(f"  {key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return f'"{value}"'


@dataclass
class Containerd:
    """One containerd process inside ``sandbox``. :func:`start_containerd` starts it."""

    sandbox: Sandbox
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    startup_s: float = 0.0
    #: With the CRI plugin: a function giving its ``[plugins.cri]`` table, called at
    #: every (re)start (so a restart reads the node's config.toml anew).
    cri: Callable[[], Mapping[str, Any]] | None = None
    #: extra environment of the daemon (a systemd unit's ``Environment=``), used from the
    #: next :meth:`start` on
    env: dict[str, str] = field(default_factory=dict)
    #: extra environment of ``ctr`` (the user's shell: ctr pulls in its own process)
    ctr_env: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> Path:
        return self.workdir / "containerd.sock"

    @property
    def log_path(self) -> Path:
        return self.workdir / "containerd.log"

    @property
    def config_path(self) -> Path:
        return self.workdir / "config.toml"

    def start(self) -> Containerd:
        """Spawn (no waiting; see :meth:`check_ready`)."""
        self.config_path.write_text(
            containerd_config(
                self.workdir / "root",
                self.workdir / "state",
                self.address,
                cri=self.cri() if self.cri is not None else None,
            )
        )
        self._started = time.monotonic()
        self.proc = self.sandbox.spawn(
            [CONTAINERD_BIN, "--config", str(self.config_path)],
            self.log_path,
            self.sandbox.env(self.env) if self.env else None,
        )
        self.sandbox.on_stop(self.stop)
        return self

    @property
    def name(self) -> str:
        return "containerd"

    def check_ready(self) -> bool:
        """True once the gRPC socket accepts (it is created after all plugins loaded)."""
        assert self.proc is not None, "start() first"
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"containerd exited ({self.proc.returncode}):\n{procs.tail(self.log_path)}"
            )
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(self.address))
            except OSError:
                return False
        self.startup_s = time.monotonic() - self._started
        return True

    def ctr(
        self, args: Sequence[str], *, timeout_s: float = 60.0, namespace: str = "default"
    ) -> Outcome:
        """``ctr -a SOCK -n NAMESPACE ARGS...`` inside the sandbox (snapshotter ``native``)."""
        env = self.sandbox.env({"CONTAINERD_SNAPSHOTTER": "native", **self.ctr_env})
        return self.sandbox.run(
            [CTR_BIN, "-a", str(self.address), "-n", namespace, *args], env=env, timeout_s=timeout_s
        )

    def pull(
        self,
        ref: str,
        *,
        hosts_dir: str | Path | None = ETC_CERTS_D,
        plain_http: bool = False,
        user: str | None = None,
        skip_verify: bool = False,
        extra: Sequence[str] = (),
        timeout_s: float = 60.0,
    ) -> Outcome:
        """``ctr images pull [--hosts-dir D] [--plain-http] [--user u:p] [-k] REF``."""
        args = ["images", "pull"]
        if hosts_dir is not None:
            args += ["--hosts-dir", str(hosts_dir)]
        if plain_http:
            args.append("--plain-http")
        if user is not None:
            args += ["--user", user]
        if skip_verify:
            args.append("--skip-verify")
        return self.ctr([*args, *extra, ref], timeout_s=timeout_s)

    def images(self, namespace: str = "default") -> list[str]:
        out = self.ctr(["images", "ls", "-q"], namespace=namespace)
        return out.stdout.split()

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)


def start_containerd(
    sandbox: Sandbox,
    name: str = "containerd",
    timeout_s: float = 15.0,
    *,
    cri: Callable[[], Mapping[str, Any]] | None = None,
) -> Containerd:
    """Start one containerd in ``sandbox`` and wait until it serves (``cri``: with the
    CRI plugin, see :func:`tests.harness.cri.start_cri_containerd`)."""
    daemon = Containerd(sandbox, sandbox.workdir(name), cri=cri).start()
    procs.poll_until(daemon.check_ready, timeout_s, f"containerd ({daemon.log_path})")
    return daemon
