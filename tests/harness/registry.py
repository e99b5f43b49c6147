"""Real CNCF distribution registries (``docker-registry serve``), one process per variant.

Each variant gets its own config in its own directory, bound to 127.0.0.1 on a free
port; all variants share one storage root, so content pushed once through the plain
registry is visible through every TLS/auth variant. Debian's default config listens on
all interfaces and must never be used.

Processes are started without waiting; :func:`wait_all_ready` then polls every pending
registry in one loop, so N registries come up in roughly the time of one.
"""

from __future__ import annotations

import http.client
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.harness import procs
from tests.harness.pki import CertKey

REGISTRY_BIN = "/usr/bin/docker-registry"
HTPASSWD_REALM = "regdoctor-testbed"
_MAX_PORT_RETRIES = 3


@dataclass(frozen=True)
class TokenAuthConfig:
    """The ``auth.token`` section: where clients get tokens and how they are verified."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


@dataclass(frozen=True)
class RegistryOptions:
    """What makes a variant: TLS, mTLS, and at most one auth method."""

    tls: CertKey | None = None
    client_ca: Path | None = None
    probe_client: CertKey | None = None
    """A client certificate the readiness probe presents when ``client_ca`` is set."""
    htpasswd: Path | None = None
    token: TokenAuthConfig | None = None
    redirect: str | None = None
    """Blob GETs and HEADs answer 307 to this base URL + the blob's storage path
    (distribution's ``redirect`` storage middleware: blob storage on another host)."""


def write_htpasswd(path: Path, username: str, password: str) -> Path:
    """Write a bcrypt htpasswd file: distribution accepts bcrypt only."""
    out = subprocess.run(
        ["htpasswd", "-Bbn", username, password],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    path.write_text(out.strip() + "\n")
    return path


def build_config(port: int, storage_root: Path, options: RegistryOptions) -> dict[str, Any]:
    """The registry config for one variant, as a dict ready for YAML."""
    http_section: dict[str, Any] = {
        "addr": f"127.0.0.1:{port}",
        # A fixed secret avoids the per-process random one (and its warning); the
        # variants never share upload state across processes anyway.
        "secret": "regdoctor-testbed-secret",
    }
    if options.tls is not None:
        tls: dict[str, Any] = {
            "certificate": str(options.tls.cert),
            "key": str(options.tls.key),
        }
        if options.client_ca is not None:
            tls["clientcas"] = [str(options.client_ca)]
        http_section["tls"] = tls
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "formatter": "text"},
        "storage": {
            "filesystem": {"rootdirectory": str(storage_root)},
            "delete": {"enabled": True},
            # Fifteen processes must not all walk the shared root at start-up.
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": http_section,
        "health": {"storagedriver": {"enabled": False}},
    }
    if options.redirect is not None:
        config["middleware"] = {
            "storage": [{"name": "redirect", "options": {"baseurl": options.redirect}}]
        }
    auth = _auth_section(options)
    if auth:
        config["auth"] = auth
    return config


def _auth_section(options: RegistryOptions) -> dict[str, Any]:
    if options.htpasswd is not None and options.token is not None:
        raise ValueError("a registry has one auth method")
    if options.htpasswd is not None:
        return {"htpasswd": {"realm": HTPASSWD_REALM, "path": str(options.htpasswd)}}
    if options.token is not None:
        return {
            "token": {
                "realm": options.token.realm,
                "service": options.token.service,
                "issuer": options.token.issuer,
                "rootcertbundle": str(options.token.rootcertbundle),
            }
        }
    return {}


@dataclass
class Registry:
    """One ``docker-registry`` process for one variant."""

    name: str
    workdir: Path
    storage_root: Path
    options: RegistryOptions = field(default_factory=RegistryOptions)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    ready: bool = False
    _restarts: int = 0

    @property
    def scheme(self) -> str:
        return "https" if self.options.tls is not None else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "config.yml"

    @property
    def log_path(self) -> Path:
        return self.workdir / "registry.log"

    def start(self) -> None:
        """Write the config for a fresh free port and spawn the process (no waiting)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = procs.free_tcp_port()
        self._spawn()

    def restart(self, options: RegistryOptions) -> None:
        """Stop, then serve again with ``options`` (a new certificate) on the same port,
        as an operator restarts a registry after changing its config (no waiting; should
        the port be taken meanwhile, ``check_ready`` moves it like ``start``)."""
        self.stop()
        self.options = options
        self._spawn()

    def _spawn(self) -> None:
        config = build_config(self.port, self.storage_root, self.options)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.proc = procs.spawn(
            [REGISTRY_BIN, "serve", str(self.config_path)],
            self.log_path,
            procs.clean_env(self.workdir),
        )
        self.ready = False

    def check_ready(self) -> bool:
        """One readiness probe: True once ``GET /v2/`` answers with any HTTP status.

        A process that died of a port race is restarted on a new port; any other death
        raises with the log tail, so a broken config fails fast instead of timing out.
        """
        if self.ready:
            return True
        assert self.proc is not None, "start() first"
        if self.proc.poll() is not None:
            self._handle_exit()
            return False
        self.ready = _answers_http(self)
        return self.ready

    def _handle_exit(self) -> None:
        log = procs.tail(self.log_path)
        if "address already in use" in log and self._restarts < _MAX_PORT_RETRIES:
            self._restarts += 1
            self.start()
            return
        code = self.proc.returncode if self.proc else None
        raise RuntimeError(f"registry {self.name} exited ({code}):\n{log}")

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)


def _ssl_context(registry: Registry) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    probe_client = registry.options.probe_client
    if probe_client is not None:
        # The mTLS variant refuses the handshake without a client certificate.
        ctx.load_cert_chain(str(probe_client.cert), str(probe_client.key))
    return ctx


def _answers_http(registry: Registry) -> bool:
    conn: http.client.HTTPConnection
    if registry.options.tls is not None:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", registry.port, timeout=1.0, context=_ssl_context(registry)
        )
    else:
        conn = http.client.HTTPConnection("127.0.0.1", registry.port, timeout=1.0)
    try:
        conn.request("GET", "/v2/")
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def wait_all_ready(registries: list[Registry], timeout_s: float = 15.0) -> None:
    """Poll every registry in one loop until all answer; raise naming the laggards."""
    procs.poll_all(
        {f"registry {r.name} ({r.log_path})": r.check_ready for r in registries}, timeout_s
    )
