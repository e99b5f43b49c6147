"""The session testbed: every peer regdoctor is tested against, started once, torn down once.

:func:`start_testbed` builds the PKI, starts the token server, spawns all registry
variants and dnsmasq at once, opens the socket-level helper servers while those boot,
polls everything in one loop, pushes the test images and yields a :class:`Testbed`.
Whatever happens (including a failed start), leaving the ``with`` block stops every
process and thread it started.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness import procs
from tests.harness.content import TestImages, push_test_images
from tests.harness.dns import DnsServer
from tests.harness.pki import CertKey, Pki, generate_pki, install_cert_dir
from tests.harness.registry import (
    Registry,
    RegistryOptions,
    TokenAuthConfig,
    write_htpasswd,
)
from tests.harness.servers import Blackhole, ClosedPort, NotRegistry, Silent
from tests.harness.token_server import ISSUER, SERVICE, TokenServer, make_signing_key

USERNAME = "tester"
PASSWORD = "s3cret-Passw0rd"


@dataclass(frozen=True)
class Endpoint:
    """One peer a test can point regdoctor at."""

    name: str
    scheme: str
    """What to dial: ``http`` or ``https`` (socket-level peers say ``https``, the usual
    registry dial; they fail before the scheme matters)."""
    port: int
    host: str = "127.0.0.1"
    notes: str = ""
    auth: str = "none"
    """``none``, ``basic`` or ``token``."""
    server_cert: CertKey | None = None
    """The TLS leaf the server presents, if any."""
    ca_file: Path | None = None
    """The CA that signed ``server_cert`` (the *untrusted* CA for ``tls_untrusted``)."""
    client_ca_file: Path | None = None
    """Set when the server requires a client certificate signed by this CA."""
    realm: str | None = None
    """The token realm URL for ``token*`` endpoints."""

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.hostport}"

    @property
    def is_registry(self) -> bool:
        return self.name not in SOCKET_PEERS


SOCKET_PEERS = ("closed", "blackhole", "silent", "not_registry")


@dataclass(frozen=True)
class _Variant:
    """How to build one registry endpoint."""

    leaf: str | None = None
    auth: str = "none"
    token_mode: str | None = None
    mtls: bool = False
    notes: str = ""


REGISTRY_VARIANTS: dict[str, _Variant] = {
    "plain": _Variant(
        notes="HTTP, no auth; /v2/ answers 200. Dialled with https:// it is the "
        "'HTTP on a TLS port' case (Testbed.http_on_tls_port)."
    ),
    "tls": _Variant(leaf="valid", notes="TLS, valid cert from the trusted CA, no auth."),
    "tls_basic": _Variant(
        leaf="valid", auth="basic", notes="TLS + htpasswd (bcrypt); /v2/ 401 without creds."
    ),
    "tls_expired": _Variant(leaf="expired", notes="Cert expired yesterday; SANs otherwise fine."),
    "tls_wrong_host": _Variant(leaf="wrong_host", notes="Cert SAN is DNS wrong-name.test only."),
    "tls_cn_only": _Variant(leaf="cn_only", notes="Cert subject CN=127.0.0.1, no SAN at all."),
    "tls_untrusted": _Variant(
        leaf="untrusted", notes="Valid SANs, signed by a CA nobody trusts (untrusted_ca_file)."
    ),
    "tls_expiring": _Variant(leaf="expiring_soon", notes="Valid cert that expires in 5 days."),
    "tls_mtls": _Variant(
        leaf="valid", mtls=True, notes="Requires a client cert from client_ca_file."
    ),
    "token": _Variant(
        auth="token", token_mode="token", notes="HTTP registry; token realm grants on creds."
    ),
    "token_refuse": _Variant(
        auth="token", token_mode="refuse", notes="Realm answers 401 + JSON error, always."
    ),
    "token_error": _Variant(auth="token", token_mode="error", notes="Realm answers 503."),
    "token_badjson": _Variant(
        auth="token", token_mode="badjson", notes="Realm answers 200 with '{not json'."
    ),
    "token_wrongaud": _Variant(
        auth="token",
        token_mode="wrongaud",
        notes="Realm issues a token for another service; the registry answers 401.",
    ),
    "token_less": _Variant(
        auth="token",
        token_mode="less",
        notes="Realm grants no actions; /v2/ ok with the token, pulls answer 401.",
    ),
}


@dataclass
class Testbed:
    """What the ``testbed`` fixture returns. Read-only for tests, by convention."""

    __test__ = False

    workdir: Path
    pki: Pki
    dns: DnsServer
    token_server: TokenServer
    images: TestImages
    endpoints: dict[str, Endpoint]
    storage_root: Path
    username: str = USERNAME
    password: str = PASSWORD
    token_service: str = SERVICE
    token_issuer: str = ISSUER
    startup_s: float = 0.0
    registries: dict[str, Registry] = field(default_factory=dict)

    @property
    def ca_file(self) -> Path:
        """The trusted CA bundle (PEM)."""
        return self.pki.ca_file

    @property
    def untrusted_ca_file(self) -> Path:
        return self.pki.untrusted_ca_file

    @property
    def client_ca_file(self) -> Path:
        return self.pki.client_ca_file

    @property
    def client_cert(self) -> Path:
        return self.pki.client_cert

    @property
    def client_key(self) -> Path:
        return self.pki.client_key

    @property
    def dns_server(self) -> str:
        """``"127.0.0.1:PORT"`` of the loopback dnsmasq."""
        return self.dns.server

    @property
    def http_on_tls_port(self) -> Endpoint:
        """The plain HTTP registry described as an https:// endpoint (TLS to an HTTP port)."""
        plain = self.endpoints["plain"]
        return Endpoint(
            name="http_on_tls_port",
            scheme="https",
            port=plain.port,
            notes="The plain HTTP registry, dialled with TLS: the handshake gets an HTTP reply.",
        )

    def log_path(self, name: str) -> Path:
        """Where the registry variant ``name`` logs (handy in assertion messages)."""
        return self.registries[name].log_path

    def make_cert_dir(self, directory: Path, *, ca: bool = True, client: bool = False) -> Path:
        """A certs.d-style directory (``ca.crt``, ``client.cert``, ``client.key``)."""
        return install_cert_dir(
            directory,
            ca_file=self.ca_file if ca else None,
            client_cert=self.client_cert if client else None,
            client_key=self.client_key if client else None,
        )


def _registry_options(
    variant: _Variant, pki: Pki, htpasswd: Path, token: TokenServer, rootcertbundle: Path
) -> RegistryOptions:
    token_cfg = None
    if variant.token_mode is not None:
        token_cfg = TokenAuthConfig(
            realm=token.url(variant.token_mode),
            service=SERVICE,
            issuer=ISSUER,
            rootcertbundle=rootcertbundle,
        )
    return RegistryOptions(
        tls=pki.leaves[variant.leaf] if variant.leaf else None,
        client_ca=pki.client_ca_file if variant.mtls else None,
        probe_client=CertKey(pki.client_cert, pki.client_key) if variant.mtls else None,
        htpasswd=htpasswd if variant.auth == "basic" else None,
        token=token_cfg,
    )


def _registry_endpoint(name: str, variant: _Variant, registry: Registry, pki: Pki) -> Endpoint:
    leaf = pki.leaves[variant.leaf] if variant.leaf else None
    ca = None
    if leaf is not None:
        ca = pki.untrusted_ca_file if variant.leaf == "untrusted" else pki.ca_file
    token = registry.options.token
    return Endpoint(
        name=name,
        scheme=registry.scheme,
        port=registry.port,
        notes=variant.notes,
        auth=variant.auth,
        server_cert=leaf,
        ca_file=ca,
        client_ca_file=pki.client_ca_file if variant.mtls else None,
        realm=token.realm if token else None,
    )


def _socket_peers(stack: contextlib.ExitStack) -> dict[str, Endpoint]:
    closed = ClosedPort()
    stack.callback(closed.close)
    blackhole = Blackhole()
    stack.callback(blackhole.close)
    blackhole.start()
    silent = Silent()
    stack.callback(silent.close)
    silent.start()
    not_registry = NotRegistry()
    stack.callback(not_registry.close)
    not_registry.start()
    return {
        "closed": Endpoint("closed", "https", closed.port, notes="Nothing listens: refused."),
        "blackhole": Endpoint(
            "blackhole", "https", blackhole.port, notes="SYNs dropped: connect() times out."
        ),
        "silent": Endpoint(
            "silent", "https", silent.port, notes="Accepts, never sends a byte (no TLS, no HTTP)."
        ),
        "not_registry": Endpoint(
            "not_registry",
            "http",
            not_registry.port,
            notes="Plain HTTP web server: 404 text/html for /v2/ and everything else.",
        ),
    }


@contextlib.contextmanager
def start_testbed(workdir: Path) -> Iterator[Testbed]:
    """Start everything below ``workdir``; stop everything when the block exits."""
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        pki = generate_pki(workdir / "pki")
        signing = make_signing_key(workdir / "token")
        htpasswd = write_htpasswd(workdir / "htpasswd", USERNAME, PASSWORD)
        token = TokenServer(
            tls=pki.leaves["valid"], signing=signing, username=USERNAME, password=PASSWORD
        )
        stack.callback(token.stop)
        token.start()

        storage_root = workdir / "storage"
        storage_root.mkdir(parents=True, exist_ok=True)
        registries: dict[str, Registry] = {}
        for name, variant in REGISTRY_VARIANTS.items():
            options = _registry_options(variant, pki, htpasswd, token, signing.rootcertbundle)
            registry = Registry(name, workdir / "registries" / name, storage_root, options)
            stack.callback(registry.stop)
            registry.start()
            registries[name] = registry
        dns = DnsServer(workdir / "dns")
        stack.callback(dns.stop)
        dns.start()

        peers = _socket_peers(stack)  # built while the processes boot
        checks = {f"registry {n} ({r.log_path})": r.check_ready for n, r in registries.items()}
        checks[f"dnsmasq ({dns.log_path})"] = dns.check_ready
        procs.poll_all(checks, timeout_s=20.0)

        images = push_test_images(registries["plain"].url)
        endpoints = {
            name: _registry_endpoint(name, REGISTRY_VARIANTS[name], reg, pki)
            for name, reg in registries.items()
        }
        endpoints.update(peers)
        yield Testbed(
            workdir=workdir,
            pki=pki,
            dns=dns,
            token_server=token,
            images=images,
            endpoints=endpoints,
            storage_root=storage_root,
            startup_s=time.monotonic() - started,
            registries=registries,
        )
