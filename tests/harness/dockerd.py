"""A real dockerd 20.10 (Debian ``docker.io``) inside a sandbox, and the 20.10 CLI.

dockerd runs with ``--storage-driver vfs --iptables=false --ip6tables=false
--bridge=none``, its own ``--data-root``, ``--exec-root``, ``--pidfile`` and unix socket
below the sandbox directory, ``--config-file /etc/docker/daemon.json`` (the sandbox's
file: :meth:`Dockerd.start` writes it), and ``--containerd`` pointing at the sandbox's
containerd. Readiness is ``GET /_ping`` on the socket.

A daemon.json that stops the daemon is a scenario too: :meth:`Dockerd.start` returns a
:class:`DaemonStart` saying whether it came up, or its exit code and log.

The CLI is ``/usr/bin/docker`` (20.10, matching the daemon), never ``/usr/local/bin/docker``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.harness import procs
from tests.harness.containerd import Containerd
from tests.harness.sandbox import Outcome, Sandbox

DOCKERD_BIN = "/usr/sbin/dockerd"  # Debian docker.io installs it in sbin
DOCKER_BIN = "/usr/bin/docker"
DAEMON_JSON = "/etc/docker/daemon.json"


@dataclass(frozen=True)
class DaemonStart:
    """How a start attempt ended: up, or exited (with the log: dockerd logs to stderr)."""

    started: bool
    returncode: int | None
    log: str
    duration_s: float


class DaemonExited(RuntimeError):
    def __init__(self, start: DaemonStart) -> None:
        super().__init__(f"dockerd exited ({start.returncode}):\n{start.log[-3000:]}")
        self.start = start


def _ping(sock_path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(sock_path))
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        except OSError:
            return False
    return data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n", 1)[0]


class Dockerd:
    """One dockerd in ``sandbox`` using ``containerd``; may be (re)started many times."""

    def __init__(self, sandbox: Sandbox, containerd: Containerd, name: str = "dockerd") -> None:
        self.sandbox = sandbox
        self.containerd = containerd
        self.workdir = sandbox.workdir(name)
        self.proc: subprocess.Popen[bytes] | None = None
        self.docker_config = self.workdir / "docker-config"
        """``DOCKER_CONFIG`` of the CLI (``config.json`` with logins goes here)."""
        self.docker_config.mkdir()
        self._starts = 0
        #: extra environment of the daemon (a systemd unit's ``Environment=``), used
        #: from the next :meth:`start` on
        self.env: dict[str, str] = {}
        sandbox.on_stop(self.stop)

    @property
    def socket(self) -> Path:
        return self.workdir / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"dockerd-{self._starts}.log"

    def argv(self) -> list[str]:
        w = self.workdir
        return [
            DOCKERD_BIN,
            "--storage-driver",
            "vfs",
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--data-root",
            str(w / "data"),
            "--exec-root",
            str(w / "exec"),
            "--pidfile",
            str(w / "dockerd.pid"),
            "-H",
            self.host,
            "--containerd",
            str(self.containerd.address),
            "--config-file",
            DAEMON_JSON,
        ]

    def start(
        self,
        daemon_json: Mapping[str, Any] | str | None = None,
        *,
        timeout_s: float = 20.0,
        check: bool = True,
    ) -> DaemonStart:
        """Write /etc/docker/daemon.json (a dict, raw text, or ``{}``), start, and wait
        until the daemon answers ``/_ping`` or exits.

        ``check``: raise :class:`DaemonExited` if it exits (pass False to study a refusal).
        """
        self.stop()
        text = (
            daemon_json if isinstance(daemon_json, str) else json.dumps(daemon_json or {}, indent=2)
        )
        self.sandbox.write_etc("docker/daemon.json", text)
        self._starts += 1
        started = time.monotonic()
        self.proc = self.sandbox.spawn(
            self.argv(), self.log_path, self.sandbox.env(self.env) if self.env else None
        )
        proc = self.proc
        procs.poll_until(
            lambda: proc.poll() is not None or _ping(self.socket),
            timeout_s,
            f"dockerd ({self.log_path})",
        )
        result = DaemonStart(
            started=proc.poll() is None,
            returncode=proc.returncode,
            log=procs.tail(self.log_path, 20000),
            duration_s=time.monotonic() - started,
        )
        if check and not result.started:
            raise DaemonExited(result)
        return result

    def docker(
        self,
        args: Sequence[str],
        *,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
    ) -> Outcome:
        """``DOCKER_CONFIG=... /usr/bin/docker -H unix://SOCK ARGS`` inside the sandbox."""
        full_env = self.sandbox.env({"DOCKER_CONFIG": str(self.docker_config), **(env or {})})
        return self.sandbox.run(
            [DOCKER_BIN, "-H", self.host, *args],
            env=full_env,
            input_text=input_text,
            timeout_s=timeout_s,
        )

    def pull(self, ref: str, *, timeout_s: float = 60.0) -> Outcome:
        return self.docker(["pull", ref], timeout_s=timeout_s)

    def login(self, server: str, username: str, password: str) -> Outcome:
        return self.docker(
            ["login", "--username", username, "--password-stdin", server], input_text=password
        )

    def info(self) -> dict[str, Any]:
        out = self.docker(["info", "--format", "{{json .}}"])
        if not out.ok:
            raise RuntimeError(out.stderr)
        return json.loads(out.stdout)

    def images(self) -> list[str]:
        out = self.docker(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        return out.stdout.split()

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc, grace_s=10.0)
            self.proc = None
