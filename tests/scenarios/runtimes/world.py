"""A scenario, built for real: sandbox, DNS, registries, daemons, node files; the real
clients' pulls; regdoctor inside; and regdoctor's fix commands run literally.

The node as every party sees it (clients, regdoctor, fix commands):

- ``/etc/docker``, ``/etc/containerd``, ``/etc/containers``, ``/etc/hosts``, the system
  CA bundle: the sandbox's (``Sandbox.config_root/etc``);
- the user is root with ``HOME=/home/node`` and ``/run/containers`` (podman's auth file
  ``/run/containers/0/auth.json``): both bind-mounted from ``config_root`` inside the
  sandbox's mount namespace, so ``regdoctor --root config_root`` reads exactly the
  files the clients read;
- ``/etc/containerd/config.toml`` points the CRI registry ``config_path`` at
  ``/etc/containerd/certs.d`` (unless the scenario writes its own): regdoctor reads it,
  and the harness's CRI containerd takes its ``[plugins."io.containerd.grpc.v1.cri"]``
  from it at every start (``ctr --hosts-dir`` reads certs.d directly);
- the Kubernetes API objects (the pod ``default/app``, its imagePullSecrets, secrets,
  the ``default`` service account) as JSON in ``kube-state.json``, which the ``kubectl``
  shim edits and the CRI pull reads (:meth:`World.pod_credentials`).

Fix commands run with ``bash -e`` in a per-runtime directory holding ``ca.crt`` (the CA
that signed the registry's certificate, for "install the CA" fixes), with
``REGISTRY_USERNAME`` / ``REGISTRY_PASSWORD`` exported and the password on stdin (for
``docker login --password-stdin``), and a bin directory first on PATH:

- ``sudo``: drops its options and execs the command;
- ``systemctl``: asks the test process (which owns the daemons) to restart/reload/stop
  ``docker`` or ``containerd`` and waits for the answer; exits 1 when dockerd refuses
  to start, as systemd does;
- ``docker``, ``podman``, ``ctr``: the Debian binaries, pointed at the sandbox's daemons
  and storage;
- ``kubectl``: ``create secret docker-registry|generic`` (``--from-file``), ``delete
  secret``, ``patch serviceaccount default -p JSON`` on ``kube-state.json``; anything
  else fails, and so does a command line that holds the password (as for ``sudo``,
  ``ctr``, ``docker`` and ``podman``).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography import x509

from tests.harness import cri as harness_cri
from tests.harness import pki as harness_pki
from tests.harness import procs
from tests.harness.containerd import CTR_BIN, Containerd, start_containerd
from tests.harness.content import Pusher
from tests.harness.dockerd import DOCKER_BIN, Dockerd
from tests.harness.pki import CertKey, Pki
from tests.harness.ratelimit_proxy import start_front
from tests.harness.registry import RegistryOptions, TokenAuthConfig, write_htpasswd
from tests.harness.runtimes import PODMAN_BIN, REPO_ROOT
from tests.harness.sandbox import Outcome, Sandbox, open_sandbox
from tests.harness.sandbox_services import (
    DelayProxy,
    SandboxDns,
    SandboxRegistry,
    wait_ready,
)
from tests.scenarios.runtimes import kube, world_proxy, world_storage
from tests.scenarios.runtimes import units as unit_files
from tests.scenarios.runtimes.scenario import (
    HUB,
    PASSWORD,
    USERNAME,
    Client,
    Registry,
    Scenario,
)
from tests.scenarios.runtimes.world_more import realm_leaf, require_client_certs

NODE_HOME = "/home/node"
#: an image whose index has only linux/arm64 (pushed with the shared content)
ARM_ONLY = ("team/armonly", "1.0")
#: registry kinds with bearer tokens -> the token server's realm mode
TOKEN_KINDS = {
    "token": "token",
    "token_http": "token",
    "token_private": "private",
    "token_dead_realm": "token",
    "token_scoped": "scoped",
    "token_ratelimit": "ratelimit",
}
#: The token realm's host (the sandbox's 127.0.0.1) for ``token`` registries.
TOKEN_HOST = "auth.test"
SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
CONTAINERD_CONFIG_TOML = (
    "version = 2\n"
    '[plugins."io.containerd.grpc.v1.cri".registry]\n'
    '  config_path = "/etc/containerd/certs.d"\n'
)
#: Paths a fix command may name: what the sandbox owns. Anything else would reach the
#: host (the sandbox shares the host's filesystem outside these bind mounts).
FIX_PATH_PREFIXES = (
    "/etc/docker",
    "/etc/containerd",
    "/etc/containers",
    "/etc/hosts",
    "/etc/systemd/system/docker.service.d",
    "/etc/systemd/system/containerd.service.d",
    "/etc/ssl/certs/ca-certificates.crt",
    NODE_HOME,
    "/run/containers",
    "/var/cache/containers",  # bind-mounted from the sandbox (podman's saved aliases)
    "/dev/null",
    "/dev/stdin",
    "/dev/tcp/",  # bash's own connect test: no file
    "/usr/bin/",
    "/usr/sbin/",
    "/bin/",
    "/sbin/",
    "/tmp/rdh-",
)


@dataclass(frozen=True)
class Authorities:
    """The harness CA (``ca``) and one CA that nobody trusts (``other_ca``)."""

    pki: Pki
    other_ca_file: Path
    other: Any  # harness_pki._Authority
    #: a client pair issued by ``other`` (a CA no ``mtls`` registry accepts)
    other_client: tuple[Path, Path] | None = None

    def file(self, which: str) -> Path:
        """``ca``, ``other_ca``, or the harness client pair ``client_cert``/``client_key``
        (issued by the CA an ``mtls`` registry requires), or ``other_client_cert`` /
        ``other_client_key`` (issued by the CA nobody trusts)."""
        assert self.other_client is not None or not which.startswith("other_client")
        return {
            "ca": self.pki.ca_file,
            "other_ca": self.other_ca_file,
            "client_cert": self.pki.client_cert,
            "client_key": self.pki.client_key,
            **(
                {
                    "other_client_cert": self.other_client[0],
                    "other_client_key": self.other_client[1],
                }
                if self.other_client
                else {}
            ),
        }[which]


def make_authorities(directory: Path) -> Authorities:
    pki = harness_pki.generate_pki(directory)
    other = harness_pki._make_ca("regdoctor scenario CA nobody trusts")
    other_file = harness_pki.write_cert(other.cert, directory / "other-ca.crt")
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = dt.datetime.now(dt.UTC)
    pair = harness_pki._save_pair(
        directory,
        "other-client",
        harness_pki._make_leaf(
            other,
            "regdoctor-client",
            None,
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=365),
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        ),
    )
    return Authorities(pki, other_file, other, (pair.cert, pair.key))


def _trusted(pki: Pki) -> Any:
    from cryptography.hazmat.primitives import serialization

    return harness_pki._Authority(
        x509.load_pem_x509_certificate(pki.ca_file.read_bytes()),
        serialization.load_pem_private_key(pki.ca_key.read_bytes(), None),  # type: ignore[arg-type]
    )


@dataclass
class PullResult:
    """What one real client did: the oracle."""

    client: Client
    pulled: bool
    error: str
    """The client's exact error text (stderr), or for a daemon that did not start, the
    daemon's last log line (what ``journalctl -u docker`` shows)."""
    outcome: Outcome | None
    note: str = ""
    digest: str = ""

    @property
    def first_line(self) -> str:
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith(("Error", "ctr: ", "failed"))]
        return (errors or lines or [""])[-1 if self.client == "containerd" else 0]


@dataclass
class FixRun:
    ran: bool
    ok: bool
    commands: list[str]
    log: str
    failed_command: str = ""
    #: "fill in" placeholders of the fix the suite filled as the user would
    filled: tuple[str, ...] = ()


@dataclass
class World:
    """A built scenario. Use :func:`build`."""

    scenario: Scenario
    sandbox: Sandbox
    auth: Authorities
    containerd: Containerd | None = None
    dockerd: Dockerd | None = None
    registries: dict[str, SandboxRegistry] = field(default_factory=dict)
    #: unit -> the ``Environment=`` systemd loaded at the last ``daemon-reload``
    unit_env: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the scenario's forward proxy (:mod:`.world_proxy`), its requests in ``.requests``
    proxy: Any = None
    #: client -> the variables its fix exported in the user's shell: ctr and podman pull
    #: in that shell's process, so their retry sees them (the daemons never do)
    shell_exports: dict[str, dict[str, str]] = field(default_factory=dict)
    #: client -> the variables its fix unset in that shell (gone on the retry too)
    shell_unset: dict[str, set[str]] = field(default_factory=dict)
    #: the scenario's token server (``token*`` registries), its realm URLs in ``.url()``
    token_server: Any = None
    #: registry key -> the certificate it served before an operator's fix replaced it
    _served: dict[str, CertKey | None] = field(default_factory=dict)

    def fix_registry_side(self) -> None:
        """What the registry's operator does for a fault on its side: a valid certificate
        (expired, or for another name), or the missing platform pushed into the index."""
        if ARM_ONLY[0] in self.scenario.image:
            self._push_all_platforms()
        elif any(r.kind == "token_dead_realm" for r in self.scenario.registries):
            self._realm_that_answers()
        elif any(r.storage for r in self.scenario.registries):
            world_storage.stop_redirecting(self)
        else:
            self.renew_certificates()

    def _realm_that_answers(self) -> None:
        """A realm nothing listens on: the operator points the registry's
        ``auth.token.realm`` at its token server and restarts it."""
        for reg in self.scenario.registries:
            registry = self.registries.get(reg.key)
            if registry is None or reg.kind != "token_dead_realm":
                continue
            token = registry.options.token
            assert token is not None and self.token_server is not None
            registry.stop()
            registry.options = replace(
                registry.options, token=replace(token, realm=self.token_server.url("token"))
            )
            registry.start()
            wait_ready(registry)

    def _push_all_platforms(self) -> None:
        for reg in self.scenario.registries:
            registry = self.registries.get(reg.key)
            if registry is None or reg.content != "shared":
                continue

            def push(registry: SandboxRegistry = registry) -> None:
                with registry.http_client() as client:
                    Pusher(client).index(ARM_ONLY[0], ARM_ONLY[1])

            self.sandbox.call(push)
            return

    def renew_certificates(self) -> None:
        """The registry side of a fix regdoctor says the node cannot make: its operator
        reissues the expired (or wrongly named) certificate and restarts the registry."""
        for reg in self._certificate_faults():
            names = [n for n, ip in self.scenario.names.items() if ip == reg.ip] or [reg.ip]
            fresh = _leaf(self.auth, reg, names, self.sandbox.root / "certs", renewed=True)
            self._serve_certificate(reg, fresh)

    def _certificate_faults(self) -> list[Registry]:
        return [
            reg
            for reg in self.scenario.registries
            if reg.key in self.registries and reg.tls and reg.kind in ("expired", "wrong_host")
        ]

    def _serve_certificate(self, reg: Registry, pair: CertKey) -> None:
        registry = self.registries[reg.key]
        self._served.setdefault(reg.key, registry.options.tls)  # the faulty one, kept
        registry.stop()
        registry.options = replace(registry.options, tls=pair)
        registry.start()
        wait_ready(registry)

    def reissue_with(self, client: Client, commands: list[str]) -> FixRun:
        """The operator runs regdoctor's reissue commands (``tls-hostname-mismatch``)
        where the registry's CA key is, then serves the ``registry.crt`` and
        ``registry.key`` they wrote: the CA the runtimes trust is the harness's, so the
        new certificate is valid for them if the commands are right."""
        workdir = self.sandbox.root / f"fix-{client}"
        workdir.mkdir(exist_ok=True)
        shutil.copyfile(self.auth.pki.ca_key, workdir / "ca.key")
        run = self.run_fix(client, commands)
        (workdir / "ca.key").unlink(missing_ok=True)
        if not run.ok:
            return run
        pair = CertKey(workdir / "registry.crt", workdir / "registry.key")
        if not (pair.cert.is_file() and pair.key.is_file()):
            return replace(
                run, ok=False, failed_command="(registry.crt or registry.key not written)"
            )
        for reg in self._certificate_faults():
            self._serve_certificate(reg, pair)
        return run

    def restore_registry_side(self) -> None:
        """Serve the faulty certificates again (each client's fix from the same start)."""
        for reg in self._certificate_faults():
            faulty = self._served.get(reg.key)
            if faulty is not None and self.registries[reg.key].options.tls != faulty:
                self._serve_certificate(reg, faulty)

    docker_started: bool = True
    docker_start_log: str = ""
    bindir: Path = Path()
    spool: Path = Path()
    pushed: bool = False

    # -- environment -------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The node's PATH: the system's, then the scenario's credential helpers."""
        helpers = self.sandbox.root / "helpers"
        return f"{SAFE_PATH}:{helpers}" if self.scenario.cred_helpers else SAFE_PATH

    def node_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = self.sandbox.env(home=self.sandbox.root / "tmp")
        env.update({"HOME": NODE_HOME, "PATH": self.path})
        env.update(self.scenario.user_env)  # the user's shell (a proxy podman reads)
        env.update(extra or {})
        return env

    # -- the real clients ------------------------------------------------------------

    def pull(
        self, client: Client, *, timeout_s: float = 120.0, image: str | None = None
    ) -> PullResult:
        """The client pulls the scenario's image (or ``image``, another reference)."""
        image = image or self.scenario.image
        if client == "docker":
            return self._docker_pull(timeout_s, image)
        if client == "containerd":
            assert self.containerd is not None
            self.containerd.ctr_env.update(self.shell_exports.get(client, {}))
            for name in self.shell_unset.get(client, ()):
                self.containerd.ctr_env.pop(name, None)
            out = self.containerd.pull(image, timeout_s=timeout_s)
            return PullResult(client, out.ok, "" if out.ok else out.stderr.strip(), out)
        if client == "kubernetes":
            return self._cri_pull(timeout_s, image)
        out = self.podman(["pull", image], timeout_s=timeout_s)
        return PullResult(client, out.ok, "" if out.ok else out.stderr.strip(), out)

    def _docker_pull(self, timeout_s: float, image: str) -> PullResult:
        assert self.dockerd is not None
        dockerd = self.dockerd
        up = dockerd.proc is not None and dockerd.proc.poll() is None
        out = dockerd.docker(
            ["pull", image],
            env={"HOME": NODE_HOME, "DOCKER_CONFIG": f"{NODE_HOME}/.docker", "PATH": self.path},
            timeout_s=timeout_s,
        )
        if up:
            digest = re.search(r"^Digest: (sha256:[0-9a-f]{64})$", out.stdout, re.M)
            return PullResult(
                "docker",
                out.ok,
                "" if out.ok else out.stderr.strip(),
                out,
                digest=digest.group(1) if digest else "",
            )
        log = procs.tail(dockerd.log_path, 20000).strip().splitlines()
        last = log[-1] if log else "(dockerd wrote nothing)"
        return PullResult(
            "docker",
            False,
            last,
            out,
            note=f"daemon did not start; `docker pull` says: {out.stderr.strip()[:160]}",
        )

    def _cri_pull(self, timeout_s: float, image: str) -> PullResult:
        """The kubelet's pull: CRI ``PullImage`` of the image as the pod spec names it,
        with the pod's imagePullSecret as ``AuthConfig``. When the CRI plugin did not
        load, the kubelet only sees "unknown service"; the error is then containerd's
        log line saying why (what ``journalctl -u containerd`` shows)."""
        assert self.containerd is not None
        secret = kube.pod_credentials(self.kube_state, image)
        auth = harness_cri.Auth(*secret) if secret else None
        result = harness_cri.CriClient(self.containerd.address).pull(
            image, auth, timeout_s=timeout_s
        )
        if result.ok:
            return PullResult("kubernetes", True, "", None, digest=result.image_ref)
        if result.unavailable:
            line = harness_cri.plugin_load_error(self.containerd)
            if line:
                return PullResult(
                    "kubernetes", False, line, None, note=f"the kubelet sees: {result.rpc_error}"
                )
        return PullResult("kubernetes", False, result.error, None)

    @property
    def kube_state(self) -> Path:
        """What the ``kubectl`` shim records: :mod:`.kube`."""
        return self.sandbox.root / "kube-state.json"

    def pod_credentials(self) -> tuple[str, str] | None:
        return kube.pod_credentials(self.kube_state, self.scenario.image)

    def manifests(self) -> Path | None:
        """``regdoctor check --kube-manifests`` input; None without a pull secret."""
        return kube.write_manifests(self.scenario, self.sandbox.root / "manifests.yaml")

    def podman(self, args: list[str], *, timeout_s: float = 120.0) -> Outcome:
        return self.sandbox.run(
            [*self._podman_argv(), *args],
            env=self._podman_env(),
            timeout_s=timeout_s,
        )

    def _podman_env(self) -> dict[str, str]:
        env = self.node_env(self.shell_exports.get("podman"))
        for name in self.shell_unset.get("podman", ()):
            env.pop(name, None)
        return env

    def _podman_argv(self) -> list[str]:
        state = self.sandbox.root / "podman"
        return [
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
        ]

    # -- regdoctor ---------------------------------------------------------------------

    def regdoctor(
        self, args: list[str], *, input_text: str | None = None, timeout_s: float = 180.0
    ) -> Outcome:
        env = self.node_env({"PYTHONPATH": str(REPO_ROOT)})
        return self.sandbox.run(
            [sys.executable, "-m", "regdoctor", *args],
            env=env,
            input_text=input_text,
            timeout_s=timeout_s,
        )

    def check(self, runtime: Client) -> Outcome:
        limits = ["--deadline", "150"] if self.scenario.slow else ["--timeout", "3"]
        manifests = self.manifests() if runtime == "kubernetes" else None
        if manifests is not None:
            limits += ["--kube-manifests", str(manifests)]
        return self.regdoctor(
            [
                "check",
                "--format",
                "json",
                "--root",
                str(self.sandbox.config_root),
                "--dns-server",
                "127.0.0.1:53",
                "--runtime",
                runtime,
                *limits,
                self.scenario.image,
            ]
        )

    def explain(self, text: str) -> Outcome:
        return self.regdoctor(["explain", "--format", "json", "-"], input_text=text)

    # -- fixes ---------------------------------------------------------------------------

    def run_fix(self, runtime: Client, commands: list[str], *, timeout_s: float = 120.0) -> FixRun:
        """Run each command (a shell snippet) literally with ``bash -e``, in order; stop
        at the first that fails. The steps run as in one shell session: what a step
        exports is exported in the later ones, and kept in :attr:`shell_exports` for the
        client's retry (ctr and podman read the user's shell; ``export`` is their fix)."""
        workdir = self.sandbox.root / f"fix-{runtime}"
        workdir.mkdir(exist_ok=True)
        shutil.copyfile(self.auth.file(self.scenario.fix_ca), workdir / "ca.crt")
        # the token server's CA, for a realm whose certificate is not the registry's CA's
        shutil.copyfile(self.auth.file(self.scenario.realm_ca), workdir / "realm-ca.crt")
        # the CA of blob storage on another host (world_storage: never a trusted one)
        shutil.copyfile(self.auth.file("other_ca"), workdir / "storage-ca.crt")
        # what an operator hands out for a registry that wants mutual TLS
        shutil.copyfile(self.auth.pki.client_cert, workdir / "client.cert")
        shutil.copyfile(self.auth.pki.client_key, workdir / "client.key")
        log: list[str] = []
        filled: list[str] = []
        for index, original in enumerate(commands):
            command, names = kube.fill_in(original)
            filled += names
            outside = paths_outside_sandbox(command)
            if outside:
                return FixRun(
                    False,
                    False,
                    commands,
                    "\n".join(log),
                    f"{command}\n(not run: it names {', '.join(outside)}, outside the sandbox)",
                )
            script = workdir / f"step-{index}.sh"
            script.write_text(_in_session(command, workdir))
            for stale in ("env-before.0", "env-after.0"):  # a step that exits early
                (workdir / stale).unlink(missing_ok=True)  # leaves none: nothing exported
            # nsenter -m resets the working directory to the namespace's root
            argv = ["sh", "-c", 'cd "$1" && exec bash -e "$2"', "sh", str(workdir), str(script)]
            code, output = self._run_with_daemons(argv, cwd=workdir, timeout_s=timeout_s)
            log.append(f"$ {command}\n{output}".rstrip())
            if code != 0:
                return FixRun(True, False, commands, "\n".join(log), command, tuple(filled))
            exports = self.shell_exports.setdefault(runtime, {})
            changed, removed = _exported(workdir)
            exports.update(changed)
            self.shell_unset.get(runtime, set()).difference_update(changed)
            for name in removed:  # unset: gone from the session and from the retry
                exports.pop(name, None)
                self.shell_unset.setdefault(runtime, set()).add(name)
            (workdir / _SESSION).write_text(
                "".join(f"export {k}={shlex.quote(v)}\n" for k, v in exports.items())
                + "".join(f"unset {k}\n" for k in sorted(self.shell_unset.get(runtime, ())))
            )
        return FixRun(True, True, commands, "\n".join(log), filled=tuple(filled))

    def _run_with_daemons(self, argv: list[str], *, cwd: Path, timeout_s: float) -> tuple[int, str]:
        """Run ``argv`` inside the sandbox while serving the systemctl shim's requests
        from this (the main) thread: daemons are only ever started from here."""
        env = self.node_env(
            {
                "PATH": f"{self.bindir}:{self.path}",
                "REGISTRY_USERNAME": USERNAME,
                "REGISTRY_PASSWORD": PASSWORD,
                "RDS_SPOOL": str(self.spool),
                "RDS_KUBE": str(self.kube_state),
                **self.scenario.fix_env,
            }
        )
        if self.dockerd is not None:
            env["DOCKER_HOST"] = self.dockerd.host
        if self.containerd is not None:
            env["CONTAINERD_ADDRESS"] = str(self.containerd.address)
            env["CONTAINERD_NAMESPACE"] = "default"
            env["CONTAINERD_SNAPSHOTTER"] = "native"
        output = self.sandbox.root / "fix-output.txt"
        with output.open("w") as out:
            proc = subprocess.Popen(
                self.sandbox.wrap(argv),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                text=True,
                start_new_session=True,
            )
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(PASSWORD + "\n")
                proc.stdin.close()
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    code = proc.wait(timeout=procs.POLL_INTERVAL_S)
                    break
                except subprocess.TimeoutExpired:
                    self._serve_systemctl()
                    if time.monotonic() > deadline:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
                        return 124, output.read_text(errors="replace") + "\n(timed out)"
        return code, output.read_text(errors="replace")

    def _serve_systemctl(self) -> None:
        for request in sorted(self.spool.glob("req-*")):
            if request.suffix == ".tmp":
                continue  # still being written: the shim renames it when complete
            answer = request.with_name("resp-" + request.name[4:])
            if answer.exists():
                continue
            words = request.read_text().split()
            code, message = self.systemctl(words)
            tmp = answer.with_suffix(".tmp")
            tmp.write_text(f"{code}\n{message}\n")
            tmp.rename(answer)

    def systemctl(self, words: list[str]) -> tuple[int, str]:
        """What the systemctl shim asked for: ``ACTION UNIT...``."""
        args = [w for w in words if not w.startswith("-")]
        if not args:
            return 1, "systemctl shim: no action"
        action, units = args[0], [u.removesuffix(".service") for u in args[1:]]
        if action == "daemon-reload":
            self.unit_env = {
                u: unit_files.unit_environment(self.sandbox.etc, u) for u in unit_files.UNITS
            }
            return 0, "systemctl shim: daemon-reload (drop-ins read)"
        if action in ("enable", "disable", "status"):
            return 0, f"systemctl shim: {action} (nothing to do)"
        code, messages = 0, []
        for unit in units:
            if unit in ("docker", "docker.socket") and self.dockerd is not None:
                c, m = self._docker_action(action)
            elif unit == "containerd" and self.containerd is not None:
                c, m = self._containerd_action(action)
            else:
                c, m = 5, f"Unit {unit}.service not found."
            code = code or c
            messages.append(m)
        return code, "\n".join(messages)

    def _docker_action(self, action: str) -> tuple[int, str]:
        assert self.dockerd is not None
        dockerd = self.dockerd
        running = dockerd.proc is not None and dockerd.proc.poll() is None
        if action == "is-active":
            return (0, "active") if running else (3, "failed")
        if action == "stop":
            dockerd.stop()
            return 0, "stopped docker"
        if action == "reload" and running:
            assert dockerd.proc is not None
            dockerd.proc.send_signal(signal.SIGHUP)
            return 0, "reloaded docker (SIGHUP)"
        if action in ("restart", "start", "reload", "try-restart", "reload-or-restart"):
            daemon_json = self.sandbox.etc / "docker" / "daemon.json"
            # systemd's dockerd has no --config-file flag: a missing file is no error.
            text = daemon_json.read_text() if daemon_json.exists() else "{}"
            dockerd.env = dict(self.unit_env.get("docker", {}))
            started = dockerd.start(text, check=False)
            self.docker_started = started.started
            if started.started:
                return 0, "restarted docker"
            last = started.log.strip().splitlines()[-1:] or [""]
            return 1, (
                "Job for docker.service failed because the control process exited with "
                f"error code.\n(dockerd: {last[0]})"
            )
        return 1, f"systemctl shim: {action} docker not supported"

    def _containerd_action(self, action: str) -> tuple[int, str]:
        assert self.containerd is not None
        containerd = self.containerd
        if action == "is-active":
            return 0, "active"
        if action in ("restart", "start", "reload", "try-restart", "reload-or-restart"):
            containerd.stop()
            containerd.env = dict(self.unit_env.get("containerd", {}))
            containerd.start()
            ready = containerd.check_ready
            if containerd.cri is not None:
                ready = lambda: harness_cri.cri_ready(containerd)  # noqa: E731
            procs.poll_until(ready, 15, "containerd restart")
            return 0, "restarted containerd"
        if action == "stop":
            containerd.stop()
            return 0, "stopped containerd"
        return 1, f"systemctl shim: {action} containerd not supported"

    def fix_pulled_inline(self, runtime: Client) -> bool:
        """containerd has no credential store: its fix may be the pull itself
        (``ctr images pull --user ...``). True when the image is now in containerd."""
        if runtime != "containerd" or self.containerd is None:
            return False
        name = self.scenario.image
        return any(img == name or img.endswith("/" + name) for img in self.containerd.images())


#: a fix's shell session: the variables its earlier steps exported, sourced by each step
_SESSION = "session-exports.sh"
#: what a shell changes by itself, not exports of the fix
_SHELL_OWN = frozenset({"_", "PWD", "OLDPWD", "SHLVL"})


def _in_session(command: str, workdir: Path) -> str:
    """One step's script: the session's exports, the command, then the environment before
    and after it (NUL-separated) for :func:`_exported`."""
    before, after = workdir / "env-before.0", workdir / "env-after.0"
    return (
        f"[ -f {_SESSION} ] && . ./{_SESSION}\n"
        f"env -0 > {shlex.quote(str(before))}\n"
        f"{command}\n"
        f"env -0 > {shlex.quote(str(after))}\n"
    )


def _exported(workdir: Path) -> tuple[dict[str, str], set[str]]:
    """The variables the last step exported or changed (its ``export``), and those it
    unset; nothing when the step left no environment (it exited early)."""

    def read(name: str) -> dict[str, str]:
        try:
            raw = (workdir / name).read_bytes().decode(errors="replace")
        except OSError:
            return {}
        pairs = (item.partition("=") for item in raw.split("\0") if "=" in item)
        return {k: v for k, _eq, v in pairs}

    if not all((workdir / name).is_file() for name in ("env-before.0", "env-after.0")):
        return {}, set()
    before, after = read("env-before.0"), read("env-after.0")
    changed = {k: v for k, v in after.items() if k not in _SHELL_OWN and before.get(k) != v}
    return changed, {k for k in before if k not in after and k not in _SHELL_OWN}


def paths_outside_sandbox(command: str) -> list[str]:
    """Absolute paths a command names that the sandbox does not own (URLs excluded)."""
    text = re.sub(r"\b[a-z][a-z0-9+.-]*://\S+", " ", command)
    # a URL's "://host" written in pieces (a scheme-relative "://host" in a string)
    text = re.sub(r":/+[\w.-]+(:\d+)?", " ", text)
    # a JSON Patch pointer ("path": "/imagePullSecrets/-") names a field, not a file
    text = re.sub(r'"path":\s*"/[^"]*"', " ", text)
    # an X.500 name for openssl's -subj ("/CN=registry.test/O=team") names no file
    text = re.sub(r"-subj\s+(\"[^\"]*\"|'[^']*'|\S+)", " ", text)
    found = []
    for match in re.finditer(r"(?<![\w.~$}])(/[\w.@:+-]+)+/?", text):
        path = match.group(0)
        if not path.startswith(FIX_PATH_PREFIXES):
            found.append(path)
    return sorted(set(found))


# -- building ---------------------------------------------------------------------------


def _no_secret_in_argv(program: str) -> str:
    """A shim's first line: a command line that holds the password fails (``ps``, the
    audit log and sudo's log show argv to every user; a fix passes it on stdin)."""
    return (
        f'for a in "$@"; do case "$a" in *{shlex.quote(PASSWORD)}*) echo "{program} shim: '
        'the password is in the command line (ps shows it)" >&2; exit 97;; esac; done\n'
    )


_SUDO = """#!/bin/bash
# sudo shim: the fix already runs as root in the sandbox
# GUARD
while [ $# -gt 0 ]; do
  case "$1" in
    -u|-g|-C|-D|-h|-p|-r|-t|-U) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
exec "$@"
"""

_SYSTEMCTL = """#!/bin/bash
# systemctl shim: the test process owns the daemons; ask it and wait for its answer
n=$(date +%s%N)-$$
printf '%s\\n' "$*" > "$RDS_SPOOL/req-$n.tmp" && mv "$RDS_SPOOL/req-$n.tmp" "$RDS_SPOOL/req-$n"
for _ in $(seq 1 3000); do
  if [ -e "$RDS_SPOOL/resp-$n" ]; then
    code=$(head -n 1 "$RDS_SPOOL/resp-$n")
    tail -n +2 "$RDS_SPOOL/resp-$n" >&2
    exit "$code"
  fi
  sleep 0.02
done
echo "systemctl shim: no answer" >&2
exit 1
"""


def cred_helper(name: str, kind: str) -> str:
    """A ``docker-credential-<name>`` (docker-credential-helpers' protocol: ``get`` reads
    the server on stdin; errors go to stdout with exit 1). ``keychain``: a file below
    $HOME holds what ``store`` gave; ``answers``: USERNAME/PASSWORD for every server;
    ``locked``: every action fails (exit 1, "the keyring is locked")."""
    return f"""#!{sys.executable} -I
import json, os, sys
action = sys.argv[1] if len(sys.argv) > 1 else ""
data = sys.stdin.read()
path = os.path.join(os.environ.get("HOME", "/"), ".keychain-{name}.json")
try:
    with open(path) as f:
        items = json.load(f)
except (OSError, ValueError):
    items = {{}}
def save():
    with open(path, "w") as f:
        json.dump(items, f)
if {kind!r} == "locked":
    print("error: the keyring is locked")
    sys.exit(1)
if action == "get":
    server = data.strip()
    if {kind!r} == "answers":
        items[server] = {{"ServerURL": server, "Username": {USERNAME!r}, "Secret": {PASSWORD!r}}}
    if server not in items:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps(items[server]))
elif action == "store":
    entry = json.loads(data)
    items[entry["ServerURL"]] = entry
    save()
elif action == "erase":
    items.pop(data.strip(), None)
    save()
elif action == "list":
    print(json.dumps({{k: v.get("Username", "") for k, v in items.items()}}))
else:
    print("unknown action: " + action)
    sys.exit(1)
"""


def _write_exec(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _leaf(
    auth: Authorities, reg: Registry, names: list[str], directory: Path, *, renewed: bool = False
) -> CertKey:
    """The registry's certificate; ``renewed``: the one its operator issues to fix an
    expired certificate or one for another name (valid, for the right names)."""
    now = dt.datetime.now(dt.UTC)
    day = dt.timedelta(days=1)
    kind = "tls" if renewed else reg.kind
    issuer = auth.other if kind == "untrusted" else _trusted(auth.pki)
    dns = ["wrong-name.test"] if kind == "wrong_host" else names
    ips = [] if kind == "wrong_host" else [reg.ip]
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    not_before, not_after = (
        (now - 30 * day, now - day)
        if kind == "expired"
        else (
            now - day,
            now + 365 * day,
        )
    )
    pair = harness_pki._make_leaf(
        issuer, dns[0], x509.SubjectAlternativeName(sans), not_before, not_after
    )
    directory.mkdir(parents=True, exist_ok=True)
    return harness_pki._save_pair(directory, f"leaf-{reg.key}", pair)


@contextlib.contextmanager
def build(scenario: Scenario, auth: Authorities) -> Iterator[World]:
    names = dict(scenario.names)
    with open_sandbox(names) as sb:
        world = World(scenario, sb, auth)
        _node_files(world)
        kube.write_state(world.kube_state, scenario)
        dns = SandboxDns(sb).start()
        need_daemons = any(c in scenario.clients for c in ("docker", "containerd", "kubernetes"))
        if "kubernetes" in scenario.clients:
            # one containerd with its CRI plugin serves ctr, dockerd and the kubelet's path
            world.containerd = harness_cri.start_cri_containerd(sb)
        elif need_daemons:
            world.containerd = start_containerd(sb)
        peers: list[object] = [dns]
        storage = sb.root / "storage"
        htpasswd = write_htpasswd(sb.root / "htpasswd", USERNAME, PASSWORD)
        hub_first = sorted(scenario.registries, key=lambda r: r.content == "proxy")
        for reg in hub_first:
            if reg.kind == "none":
                sb.add_addresses(reg.ip)
                continue
            known = {**names, **scenario.proxy_names}  # proxy-only names too
            reg_names = [n for n, ip in known.items() if ip == reg.ip] or [reg.ip]
            tls = _leaf(auth, reg, reg_names, sb.root / "certs") if reg.tls else None
            # behind a front (rate limiting): the registry speaks HTTP on 127.0.0.2
            front = reg.kind == "token_ratelimit"
            options = RegistryOptions(
                tls=None if front else tls, htpasswd=htpasswd if reg.kind == "basic" else None
            )
            behind = reg.delay_s or front
            host, port = (reg.ip, reg.port) if not behind else ("127.0.0.2", reg.port + 10000)
            own = sb.root / f"storage-{reg.key}"
            registry = SandboxRegistry(
                sb,
                reg.key,
                host,
                port,
                storage if reg.content == "shared" else own,
                options,
                remote=f"https://{HUB}" if reg.content == "proxy" else None,
                remote_ca=auth.pki.ca_file if reg.content == "proxy" else None,
            )
            if reg.content == "proxy":
                # a pull-through cache pings its upstream when it starts
                wait_ready(*peers)
                peers = []
            registry.start()
            peers.append(registry)
            world.registries[reg.key] = registry
            if reg.delay_s:
                sb.add_addresses(reg.ip)
                peers.append(DelayProxy(sb, (reg.ip, reg.port), (host, port), reg.delay_s))
            if front:
                assert tls is not None
                peers.append(start_front(sb, (reg.ip, reg.port), (host, port), tls))
        wait_ready(*peers)
        world_proxy.start(world)
        _push(world)
        _token_auth(world)
        require_client_certs(world)
        world_storage.redirect_blobs(world)
        if need_daemons:
            assert world.containerd is not None
            world.dockerd = Dockerd(sb, world.containerd)
            world.dockerd.env = dict(world.unit_env.get("docker", {}))
            if "docker" in scenario.clients:
                daemon_json = scenario.daemon_json if scenario.daemon_json is not None else {}
                started = world.dockerd.start(daemon_json, check=False)
                world.docker_started = started.started
                world.docker_start_log = started.log
        yield world


def _node_files(world: World) -> None:
    sc, sb = world.scenario, world.sandbox
    home = sb.config_root / NODE_HOME.lstrip("/")
    (home / ".docker").mkdir(parents=True)
    run_containers = sb.config_root / "run" / "containers"
    run_containers.mkdir(parents=True)
    # root podman's saved short-name aliases: the sandbox's, never the host's
    alias_cache = sb.config_root / "var" / "cache" / "containers"
    alias_cache.mkdir(parents=True)
    mounts = (
        f"mkdir -p /run/containers && mount --bind {shlex.quote(str(run_containers))} "
        f"/run/containers && mount --bind {shlex.quote(str(home.parent))} /home && "
        f"mkdir -p /var/cache/containers && "
        f"mount --bind {shlex.quote(str(alias_cache))} /var/cache/containers"
    )
    out = sb.run(["sh", "-ec", mounts])
    if not out.ok:
        raise RuntimeError(f"binding the node's home: {out.stderr}")
    if sc.docker_config is not None:
        (home / ".docker" / "config.json").write_text(json.dumps(sc.docker_config, indent=2))
    for absolute, content in sc.node_files.items():
        assert absolute.startswith((f"{NODE_HOME}/", "/run/containers/", "/var/cache/containers/"))
        target = sb.config_root / absolute.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    if sc.cred_helpers:
        helpers = sb.root / "helpers"
        helpers.mkdir()
        for name, kind in sc.cred_helpers.items():
            _write_exec(helpers / f"docker-credential-{name}", cred_helper(name, kind))
    if sc.containerd_config:
        sb.write_etc("containerd/config.toml", CONTAINERD_CONFIG_TOML)
    if sc.hub_trusted:
        sb.set_system_ca(world.auth.pki.ca_file)
    for rel, which in sc.certs.items():
        sb.write_etc(rel, world.auth.file(which).read_bytes())
    for rel, text in sc.etc_files.items():
        sb.write_etc(rel, text)
    world.bindir = sb.root / "bin"
    world.bindir.mkdir()
    world.spool = sb.root / "systemctl-spool"
    world.spool.mkdir()
    _write_exec(world.bindir / "sudo", _SUDO.replace("# GUARD\n", _no_secret_in_argv("sudo")))
    _write_exec(world.bindir / "systemctl", _SYSTEMCTL)
    for name, argv in (
        ("docker", DOCKER_BIN),
        ("podman", " ".join(shlex.quote(a) for a in world._podman_argv())),
        ("ctr", CTR_BIN),
    ):
        _write_exec(world.bindir / name, f'#!/bin/sh\n{_no_secret_in_argv(name)}exec {argv} "$@"\n')
    kubectl = kube.KUBECTL.replace("PYTHON", sys.executable).replace("@PASSWORD@", repr(PASSWORD))
    _write_exec(world.bindir / "kubectl", kubectl)


def _token_auth(world: World) -> None:
    """``token`` registries: pushed to without auth, then restarted with bearer-token
    auth from a token server in the sandbox: realm ``https://auth.test:PORT/token``
    (``token_http``: ``http://``)
    (``auth.test`` is the sandbox's 127.0.0.1; its certificate from the harness CA, which
    a token scenario installs in the system store)."""
    tokens = [r for r in world.scenario.registries if r.kind in TOKEN_KINDS]
    if not tokens:
        return
    from tests.harness.token_server import ISSUER, SERVICE, TokenServer, make_signing_key

    signing = make_signing_key(world.sandbox.root / "token")
    leaf = realm_leaf(world, TOKEN_HOST)
    plain = all(r.kind == "token_http" for r in tokens)  # one realm scheme per scenario
    server = TokenServer(
        tls=None if plain else leaf,
        signing=signing,
        username=USERNAME,
        password=PASSWORD,
        url_host=TOKEN_HOST,
    )
    world.sandbox.call(server.start)  # its socket lives in the sandbox's namespace
    world.sandbox.on_stop(server.stop)
    world.token_server = server
    for reg in tokens:
        registry = world.registries[reg.key]
        registry.stop()
        registry.options = replace(
            registry.options,
            token=TokenAuthConfig(
                # token_dead_realm: a realm port nothing listens on (connection refused)
                realm=server.url(TOKEN_KINDS[reg.kind]).replace(f":{server.port}/", ":1/")
                if reg.kind == "token_dead_realm"
                else server.url(TOKEN_KINDS[reg.kind]),
                service=SERVICE,
                issuer=ISSUER,
                rootcertbundle=signing.rootcertbundle,
            ),
        )
        registry.start()
        wait_ready(registry)


#: What a push of each content set (``stale`` or not) left in a fresh registry's storage,
#: kept from the first scenario of the session that pushed it: the pushed bytes are
#: deterministic (tests/harness/content.py), so later scenarios copy these files into
#: the storage of their registry, which reads them from disk as if it had been pushed
#: to (the same files, 0.1 s of HTTP pushes saved per scenario).
_PUSHED: dict[bool, Path] = {}


def _pushed_copy(stale: bool, storage: Path) -> bool:
    """Copy the kept content set into ``storage``; whether there was one to copy."""
    kept = _PUSHED.get(stale)
    if kept is None:
        return False
    shutil.copytree(kept, storage, dirs_exist_ok=True)
    return True


def _keep_pushed(stale: bool, storage: Path) -> None:
    import atexit
    import tempfile

    kept = Path(tempfile.mkdtemp(prefix="rdh-pushed-")) / "storage"
    shutil.copytree(storage, kept)
    atexit.register(shutil.rmtree, kept.parent, True)
    _PUSHED[stale] = kept


def _push(world: World) -> None:
    """One content set per scenario: ``team/app:1.2`` and ``library/nginx:latest`` to the
    shared storage (through the first registry that has it), an older nginx to each
    ``stale`` registry. Pushed over HTTP once per session, then copied (:data:`_PUSHED`)."""
    for reg in world.scenario.registries:
        registry = world.registries.get(reg.key)
        if registry is None or reg.content == "proxy":
            continue
        if reg.content == "shared" and world.pushed:
            continue
        if reg.content == "shared":
            world.pushed = True
        stale = reg.content == "stale"
        if _pushed_copy(stale, registry.storage_root):
            continue
        creds = (USERNAME, PASSWORD) if reg.kind == "basic" else None

        def push(
            registry: SandboxRegistry = registry,
            stale: bool = reg.content == "stale",
            creds: tuple[str, str] | None = creds,
        ) -> None:
            with registry.http_client(creds) as client:
                pusher = Pusher(client)
                if stale:
                    pusher.image("library/nginx", "latest", "/nginx-old")
                else:
                    pusher.image("team/app", "1.2", "/app")
                    pusher.image("library/nginx", "latest", "/nginx")
                    # an index without linux/amd64 (this machine's platform)
                    pusher.index(ARM_ONLY[0], ARM_ONLY[1], ("arm64",))

        world.sandbox.call(push)
        _keep_pushed(stale, registry.storage_root)


def docker_auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()
