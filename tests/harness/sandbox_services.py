"""Peers inside a :class:`~tests.harness.sandbox.Sandbox`: registries at chosen addresses,
dnsmasq on the sandbox's 127.0.0.1:53, a delaying TCP proxy, and leaves for sandbox names.

They reuse the loopback harness (``registry.build_config``, ``dns.dnsmasq_argv``,
``content.Pusher``, the session PKI's CA); what differs is where they listen (any address
of the sandbox, e.g. ``198.18.0.10:443`` for a fake ``registry-1.docker.io``) and that
readiness is probed from inside the namespace (:meth:`Sandbox.call`).
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.harness import dns as harness_dns
from tests.harness import pki as harness_pki
from tests.harness import procs
from tests.harness.content import Pusher, TestImages
from tests.harness.pki import CertKey, Pki
from tests.harness.registry import REGISTRY_BIN, RegistryOptions, build_config
from tests.harness.sandbox import Sandbox, _enter_netns

# -- certificates ------------------------------------------------------------------


def issue_leaf(
    pki: Pki, directory: Path, stem: str, dns_names: Iterable[str], ips: Iterable[str] = ()
) -> CertKey:
    """A valid server leaf from the session's trusted CA for the given names and IPs."""
    ca = harness_pki._Authority(
        x509.load_pem_x509_certificate(pki.ca_file.read_bytes()),
        serialization.load_pem_private_key(pki.ca_key.read_bytes(), None),  # type: ignore[arg-type]
    )
    names = list(dict.fromkeys(dns_names))
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in dict.fromkeys(ips)]
    now = dt.datetime.now(dt.UTC)
    pair = harness_pki._make_leaf(
        ca,
        names[0] if names else "regdoctor sandbox",
        x509.SubjectAlternativeName(sans),
        now - dt.timedelta(days=1),
        now + dt.timedelta(days=365),
    )
    directory.mkdir(parents=True, exist_ok=True)
    return harness_pki._save_pair(directory, stem, pair)


def sandbox_leaf(sandbox: Sandbox, pki: Pki, stem: str = "sandbox-leaf") -> CertKey:
    """A leaf valid for every name and address the sandbox knows, plus 127.0.0.1/localhost."""
    return issue_leaf(
        pki,
        sandbox.root / "certs",
        stem,
        [*sandbox.names, "localhost"],
        ["127.0.0.1", *sandbox.names.values()],
    )


# -- registries --------------------------------------------------------------------


@dataclass
class SandboxRegistry:
    """One ``docker-registry serve`` inside the sandbox, at ``host:port``."""

    sandbox: Sandbox
    name: str
    host: str
    port: int
    storage_root: Path
    options: RegistryOptions = field(default_factory=RegistryOptions)
    remote: str | None = None
    """``proxy.remoteurl``: a pull-through mirror of this upstream."""
    remote_ca: Path | None = None
    """The CA the pull-through proxy trusts for ``remote`` (its ``SSL_CERT_FILE``)."""
    proc: subprocess.Popen[bytes] | None = None
    ready: bool = False

    @property
    def workdir(self) -> Path:
        return self.sandbox.root / f"registry-{self.name}"

    @property
    def scheme(self) -> str:
        return "https" if self.options.tls is not None else "http"

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.hostport}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "registry.log"

    def start(self) -> SandboxRegistry:
        """Write the config and spawn (no waiting: :meth:`check_ready`)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sandbox.add_addresses(self.host)
        config = build_config(self.port, self.storage_root, self.options)
        config["http"]["addr"] = self.hostport
        if self.remote is not None:
            config["proxy"] = {"remoteurl": self.remote}
        path = self.workdir / "config.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        extra = {"SSL_CERT_FILE": str(self.remote_ca)} if self.remote_ca else {}
        self.proc = self.sandbox.spawn(
            [REGISTRY_BIN, "serve", str(path)],
            self.log_path,
            self.sandbox.env(extra, home=self.workdir),
        )
        self.sandbox.on_stop(self.stop)
        self.ready = False
        return self

    def check_ready(self) -> bool:
        if self.ready:
            return True
        assert self.proc is not None, "start() first"
        if self.proc.poll() is not None:
            log = procs.tail(self.log_path)
            raise RuntimeError(f"registry {self.name} exited ({self.proc.returncode}):\n{log}")
        self.ready = self.sandbox.call(
            _answers_http,
            self.host,
            self.port,
            self.options.tls is not None,
            self.options.probe_client,
        )
        return self.ready

    def http_client(self, auth: tuple[str, str] | None = None) -> httpx.Client:
        """An httpx client for this registry; use it only inside :meth:`Sandbox.call`."""
        return httpx.Client(
            base_url=self.url, verify=False, timeout=10.0, trust_env=False, auth=auth
        )

    def push_test_images(self, auth: tuple[str, str] | None = None) -> TestImages:
        """Push ``team/app:1.2``, ``library/nginx:latest``, ``team/multi:latest`` here."""

        def push() -> TestImages:
            with self.http_client(auth) as client:
                pusher = Pusher(client)
                return TestImages(
                    app=pusher.image("team/app", "1.2", "/app"),
                    multi=pusher.index("team/multi", "latest"),
                    nginx=pusher.image("library/nginx", "latest", "/nginx"),
                )

        return self.sandbox.call(push)

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)


def _answers_http(host: str, port: int, tls: bool, client: CertKey | None = None) -> bool:
    conn: http.client.HTTPConnection
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if client is not None:  # a registry that requires mutual TLS
            ctx.load_cert_chain(str(client.cert), str(client.key))
        conn = http.client.HTTPSConnection(host, port, timeout=1.0, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=1.0)
    try:
        conn.request("GET", "/v2/")
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def wait_ready(*checks: object, timeout_s: float = 15.0) -> None:
    """Poll many sandbox peers (anything with ``check_ready``) in one loop."""
    procs.poll_all(
        {f"{type(c).__name__} {getattr(c, 'name', '')}": c.check_ready for c in checks},  # type: ignore[attr-defined]
        timeout_s,
    )


# -- DNS -----------------------------------------------------------------------------


@dataclass
class SandboxDns:
    """dnsmasq on the sandbox's ``127.0.0.1:53`` (what its /etc/resolv.conf names).

    It answers the loopback testbed's records (``registry.test``..., NXDOMAIN for other
    ``*.test``, timeouts under ``timeout.test``, SERVFAIL under ``servfail.test``) plus
    the sandbox's names, which win over the testbed's.
    """

    sandbox: Sandbox
    records: Mapping[str, str] = field(default_factory=dict)
    port: int = 53
    proc: subprocess.Popen[bytes] | None = None
    _upstreams: list[object] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "dnsmasq"

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def workdir(self) -> Path:
        return self.sandbox.root / "dns"

    @property
    def log_path(self) -> Path:
        return self.workdir / "dnsmasq.log"

    def start(self) -> SandboxDns:
        self.workdir.mkdir(parents=True, exist_ok=True)
        records = {**self.sandbox.names, **self.records}
        # The upstream sockets are created inside the namespace, so dnsmasq reaches them.
        silent = self.sandbox.call(harness_dns._SilentUpstream)
        servfail = self.sandbox.call(harness_dns._ServfailUpstream)
        self._upstreams = [silent, servfail]
        argv = harness_dns.dnsmasq_argv(self.port, self.workdir, silent.port, servfail.port)
        argv = [a for a in argv if not any(a.startswith(f"--host-record={n},") for n in records)]
        argv += [f"--host-record={n},{ip}" for n, ip in records.items()]
        self.proc = self.sandbox.spawn(argv, self.log_path)
        self.sandbox.on_stop(self.stop)
        return self

    def check_ready(self) -> bool:
        assert self.proc is not None, "start() first"
        if self.proc.poll() is not None:
            raise RuntimeError(f"dnsmasq exited:\n{procs.tail(self.log_path)}")

        def probe() -> bool:
            try:
                harness_dns.make_resolver("127.0.0.1", self.port, 0.2).resolve("registry.test", "A")
            except dns.exception.DNSException:
                return False
            return True

        return self.sandbox.call(probe)

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)
        for upstream in self._upstreams:
            upstream.close()  # type: ignore[attr-defined]
        self._upstreams = []


# -- a slow registry ---------------------------------------------------------------------


class DelayProxy:
    """A TCP proxy inside the sandbox that holds every answer for ``delay_s``.

    Each time the upstream starts sending after the client has sent something (an HTTP
    response, but also each TLS handshake flight), the proxy waits ``delay_s`` before
    forwarding: a registry that is slow on every round trip. ``connect_delay_s`` delays
    the upstream connect (a slow accept). ``close()`` cuts everything.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        listen: tuple[str, int],
        target: tuple[str, int],
        delay_s: float,
        connect_delay_s: float = 0.0,
    ) -> None:
        self.sandbox = sandbox
        self.listen = listen
        self.target = target
        self.delay_s = delay_s
        self.connect_delay_s = connect_delay_s
        self.accepted = 0
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        sandbox.add_addresses(listen[0])
        self._listener: socket.socket = sandbox.call(self._bind)
        self._netns = f"/proc/{sandbox.pid}/ns/net"
        threading.Thread(target=self._accept, name="rdh-delay-proxy", daemon=True).start()
        sandbox.on_stop(self.close)

    @property
    def name(self) -> str:
        return f"{self.listen[0]}:{self.listen[1]}"

    def check_ready(self) -> bool:
        return True

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self.listen)
        sock.listen(128)
        return sock

    def _accept(self) -> None:
        # Threads inherit the namespaces of the thread that starts them: the per-connection
        # threads below dial the upstream inside the sandbox.
        _enter_netns(self._netns)
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.connect_delay_s and self._closed.wait(self.connect_delay_s):
            client.close()
            return
        try:
            # This thread was started by the accept thread, so it is in the sandbox too.
            upstream = socket.create_connection(self.target, 5)
        except OSError:
            client.close()
            return
        with self._lock:
            self._sockets += [client, upstream]
        pending = threading.Event()
        threading.Thread(
            target=self._pipe, args=(client, upstream, pending, False), daemon=True
        ).start()
        self._pipe(upstream, client, pending, True)

    def _pipe(
        self, src: socket.socket, dst: socket.socket, pending: threading.Event, answers: bool
    ) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not answers:
                    pending.set()
                elif pending.is_set():
                    pending.clear()
                    if self._closed.wait(self.delay_s):  # the delay is the behaviour under test
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.close()
                except OSError:
                    pass
            self._sockets.clear()
