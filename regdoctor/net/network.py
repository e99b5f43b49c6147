"""The network a run uses: one DNS resolver, address pinning, TLS contexts and HTTP
clients (``net/http_client.py``) whose connections go to the addresses the DNS phase
found.

With ``--dns-server`` nothing goes through the system resolver: HTTP connections dial
the addresses regdoctor resolved itself (pinned per host), and hosts that were not
pinned (a token realm, a redirect) are resolved through the same server.

Making a :class:`Network` and resolving and connecting through it import no httpcore:
the HTTP client and its backend (``net/http_client.py``, ``net/pinned.py``,
``net/streams.py``) are imported by the run's idle work once the first bytes are on the
link (:func:`prepare_requests`, net/idle.py), so that they delay neither the first packet
nor, on a slow link, the first request.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from regdoctor.discovery import locations
from regdoctor.model import Target
from regdoctor.net import roundtrips
from regdoctor.net.handover import Handover
from regdoctor.net.idle import IdleWork
from regdoctor.net.realm_hints import RealmHints
from regdoctor.net.trust import TrustCache
from regdoctor.options import CheckOptions

if TYPE_CHECKING:
    from regdoctor.discovery.env import ProxyEnv
    from regdoctor.net.http_client import HttpClient


class ClientState(Protocol):
    """What :meth:`Network.client_for` reads of one target's run state (the probes'
    ``TargetState``): where the client is kept, and how TLS is to be verified."""

    extra: dict[str, Any]
    ssl_context: ssl.SSLContext | None
    verify_enforced: bool


@dataclass(frozen=True)
class Lookup:
    """The answer of one DNS query type."""

    outcome: str  # answer, nodata, nxdomain, servfail, timeout, unreachable, refused, error
    addresses: tuple[str, ...] = ()
    rcode: str | None = None
    error: str | None = None
    duration_ms: float = 0.0


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


class Resolver:
    """A dnspython resolver: the one from ``--dns-server``, or the system's
    /etc/resolv.conf. Answers are never cached between runs."""

    def __init__(self, server: tuple[str, int] | None, timeout: float) -> None:
        from regdoctor.net.lean_dns import dns  # dnspython without importlib.metadata

        self.server = server
        if server is not None:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [server[0]]
            self._resolver.port = server[1]
            self.label = f"{server[0]}:{server[1]}"
        else:
            try:
                self._resolver = dns.asyncresolver.Resolver()
                self.label = "system"
            except Exception:  # no /etc/resolv.conf: use localhost like libc does
                self._resolver = dns.asyncresolver.Resolver(configure=False)
                self._resolver.nameservers = ["127.0.0.1"]
                self.label = "127.0.0.1:53 (no resolv.conf)"
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout

    async def query(self, name: str, rdtype: str, timeout: float) -> Lookup:
        import time

        import dns.asyncresolver
        import dns.exception
        import dns.resolver

        start = time.monotonic()

        def done(outcome: str, **kw: Any) -> Lookup:
            return Lookup(outcome=outcome, duration_ms=(time.monotonic() - start) * 1000, **kw)

        try:
            answer = await self._resolver.resolve(
                name, rdtype, lifetime=timeout, raise_on_no_answer=False, search=False
            )
        except dns.resolver.NXDOMAIN:
            return done("nxdomain", rcode="NXDOMAIN")
        except dns.resolver.LifetimeTimeout as exc:
            return done(_timeout_or_unreachable(exc), error=str(exc))
        except dns.resolver.NoNameservers as exc:
            text = str(exc)
            if "SERVFAIL" in text:
                return done("servfail", rcode="SERVFAIL", error=text)
            if "REFUSED" in text:
                return done("refused", rcode="REFUSED", error=text)
            return done("unreachable", error=text)
        except dns.exception.Timeout as exc:
            return done("timeout", error=str(exc))
        except (OSError, dns.exception.DNSException) as exc:
            return done("error", error=f"{type(exc).__name__}: {exc}")
        if answer.rrset is None:
            return done("nodata", rcode="NOERROR")
        addresses = tuple(sorted({rr.to_text() for rr in answer.rrset}))
        return done("answer", addresses=addresses, rcode="NOERROR")


def _timeout_or_unreachable(exc: Exception) -> str:
    """dnspython reports 'connection refused' from the resolver's port inside its
    lifetime timeout; that is an unreachable resolver, not a slow one."""
    errors = getattr(exc, "kwargs", {}).get("errors") or []
    for error in errors:
        inner = error[3] if isinstance(error, tuple) and len(error) > 3 else error
        if isinstance(inner, ConnectionRefusedError | OSError) and not isinstance(
            inner, TimeoutError
        ):
            return "unreachable"
    return "timeout"


class DeferredTrustContext(ssl.SSLContext):
    """What ``ssl.create_default_context()`` makes (TLS client, hostname checked,
    ``SSLKEYLOGFILE`` honoured), except that the system CA store is loaded on the first
    handshake (``wrap_bio``, which asyncio, anyio and httpcore use, or ``wrap_socket``),
    not when the context is made. Loading it costs tens of milliseconds, and the HTTP
    client of a plain-HTTP registry is given a context it never uses. A context that
    does not verify (``CERT_NONE``, an insecure registry) never loads it."""

    _trust_loaded = False

    def __new__(cls, protocol: int = ssl.PROTOCOL_TLS_CLIENT) -> DeferredTrustContext:
        context = super().__new__(cls, protocol)
        keylog = os.environ.get("SSLKEYLOGFILE")
        if keylog and not sys.flags.ignore_environment:
            context.keylog_filename = keylog
        return context

    def load_trust(self) -> None:
        """Load the system store now (once), if this context verifies at all."""
        if not self._trust_loaded and self.verify_mode != ssl.CERT_NONE:
            self._trust_loaded = True
            self.load_default_certs(ssl.Purpose.SERVER_AUTH)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self.load_trust()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self.load_trust()
        return super().wrap_socket(*args, **kwargs)


@dataclass
class Network:
    """Shared by all targets of a run: the resolver, the pins, the proxy settings."""

    options: CheckOptions
    pins: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _resolver: Resolver | None = None
    _clients: list[HttpClient] = field(default_factory=list)
    _handovers: list[Handover] = field(default_factory=list)
    _contexts: dict[Any, ssl.SSLContext] = field(default_factory=dict)
    #: the handshakes' pyOpenSSL contexts and the re-verification stores, one per trust
    #: set, their system store read in a worker thread (net/trust.py)
    trust: TrustCache = field(default_factory=TrustCache)
    #: first-use work done while a request is on the link (net/idle.py); its first
    #: job imports what the first HTTP request needs (:func:`prepare_requests`)
    idle: IdleWork = field(default_factory=IdleWork)
    #: the token realm each registry named last time, kept between runs (a check
    #: reaches it beside the registry: probes/realm_early.py)
    realm_hints: RealmHints = field(default_factory=RealmHints)

    #: hostport -> (CA files, client cert, client key, source) from the configuration
    _configured: dict[str, tuple[tuple[str, ...], str | None, str | None, str | None]] = field(
        default_factory=dict
    )
    #: The proxy variables of the process that pulls, when it is not this one (a
    #: daemon's systemd environment, for ``--runtime docker`` or ``kubernetes``).
    proxy_env: ProxyEnv | None = None

    def __post_init__(self) -> None:
        self.idle.add(prepare_requests)

    def configure(self, hostport: str, target: Target) -> None:
        """Remember the TLS material the effective configuration names for a target."""
        if target.ca_files or target.client_cert:
            source = dict(target.provenance).get("client_cert")
            self._configured[hostport] = (
                tuple(target.ca_files),
                target.client_cert,
                target.client_key,
                source,
            )

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = Resolver(self.options.dns_server, self.options.timeout)
        return self._resolver

    def pin(self, host: str, addresses: Iterable[str]) -> None:
        self.pins[host.lower()] = tuple(addresses)

    async def addresses_for(self, host: str, timeout: float) -> tuple[str, ...]:
        host = host.strip("[]").lower()
        if is_ip(host):
            return (host,)
        pinned = self.pins.get(host)
        if pinned:
            return pinned
        if self.options.dns_server is None:
            return (host,)  # let the system resolve it, as the runtime would
        import asyncio

        start = time.monotonic()
        lookups = await asyncio.gather(
            self.resolver.query(host, "A", timeout), self.resolver.query(host, "AAAA", timeout)
        )
        roundtrips.record("dns A+AAAA", (time.monotonic() - start) * 1000, host=host)
        found = [address for lookup in lookups for address in lookup.addresses]
        if not found:
            from regdoctor.net.lean_httpcore import httpcore

            raise httpcore.ConnectError(f"{host}: no address (via {self.resolver.label})")
        return tuple(found)

    def shell_proxy_for(self, url: str) -> str | None:
        """The proxy this process's environment (the user's shell) names for ``url``."""
        from regdoctor.discovery.env import ProxyEnv

        return ProxyEnv.from_env(os.environ).choose(url).proxy

    def proxy_for(self, url: str) -> str | None:
        """The proxy the environment names for ``url``, or None, with the semantics of
        Go's ``httpproxy.FromEnvironment`` (what docker, containerd and podman use)."""
        if self.proxy_env is not None:
            return self.proxy_env.choose(url).proxy
        import os

        from regdoctor.discovery.env import ProxyEnv

        return ProxyEnv.from_env(os.environ).choose(url).proxy

    def ssl_context(
        self,
        hostport: str,
        *,
        enforced: bool,
        client_cert: tuple[Path, Path] | None = None,
    ) -> ssl.SSLContext:
        """A context trusting the system store, ``--ca-file`` and certs.d for
        ``hostport``; with ``enforced=False`` it does not verify (insecure registry)."""
        ca_files = tuple(self.ca_files(hostport))
        key = (ca_files, enforced, client_cert)
        cached = self._contexts.get(key)
        if cached is not None:
            return cached  # loading the system store costs tens of ms: do it once
        # ssl.create_default_context(), but the system store is read only when a TLS
        # handshake starts: a plain-HTTP registry never pays for it (~25 ms)
        context = DeferredTrustContext(ssl.PROTOCOL_TLS_CLIENT)
        for ca in ca_files:
            context.load_verify_locations(cafile=str(ca))
        if not enforced:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if client_cert is not None:
            context.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
        self._contexts[key] = context
        return context

    def certs_d(self, hostport: str) -> Path:
        """Docker's per-registry directory: named ``host:port``, or ``host`` alone for
        port 443 (the registry's index name; moby registry/registry.go newTLSConfig)."""
        base = self.options.config_root / locations.DOCKER_CERTS_D.lstrip("/")
        host, _, port = hostport.rpartition(":")
        if port == "443" and host and not (base / hostport).is_dir():
            return base / host.strip("[]")
        return base / hostport

    def ca_files(self, hostport: str) -> list[Path]:
        files = list(self.options.ca_files)
        configured = self._configured.get(hostport)
        if configured is not None:
            files.extend(Path(p) for p in configured[0] if Path(p).is_file())
        directory = self.certs_d(hostport)
        try:
            files.extend(sorted(directory.glob("*.crt")))
        except OSError:
            pass
        return files

    def client_pair(self, hostport: str) -> tuple[tuple[Path, Path] | None, str | None]:
        """The client certificate to present: ``--cert/--key`` win, then certs.d's
        ``*.cert`` with the ``*.key`` of the same stem (Docker's convention)."""
        if self.options.client_cert and self.options.client_key:
            return (self.options.client_cert, self.options.client_key), "--cert/--key"
        configured = self._configured.get(hostport)
        if configured is not None and configured[1]:
            cert, key = Path(configured[1]), Path(configured[2] or configured[1])
            return (cert, key), configured[3] or str(cert)
        directory = self.certs_d(hostport)
        try:
            for cert in sorted(directory.glob("*.cert")):
                key = cert.with_suffix(".key")
                if key.exists():
                    return (cert, key), str(cert)
        except OSError:
            pass
        return None, None

    def client_for(self, hostport: str, state: ClientState) -> HttpClient:
        """The HTTP client of one target (made once, kept in ``state.extra``)."""
        from regdoctor.net.http_client import HttpClient
        from regdoctor.net.pinned import PinnedBackend

        existing = state.extra.get("http_client")
        if isinstance(existing, HttpClient):
            return existing
        context = state.ssl_context
        if context is None:
            pair, _ = self.client_pair(hostport)
            context = self.ssl_context(hostport, enforced=state.verify_enforced, client_cert=pair)
        # the connections the phases open later (a token realm's) are handed over too;
        # through a proxy a request dials the proxy, never the connection handed over
        handover = self.handover(state)
        client = HttpClient(
            proxy_for=self.proxy_for,
            backend_for=lambda proxy: PinnedBackend(self, None if proxy else handover),
            ssl_context=context,
            # the exchange's own budget (ProbeContext.http_budget) bounds each request;
            # without --timeout it is the runtimes' patience, not regdoctor's 5 s
            timeout=(
                self.options.timeout
                if self.options.timeout_given
                else max(self.options.timeout, 15.0)
            ),
            user_agent=f"regdoctor/{_version()}",
        )
        state.extra["http_client"] = client
        self._clients.append(client)
        return client

    def handover(self, state: ClientState) -> Handover:
        """The target's connections kept for its HTTP client (see net/handover.py)."""
        existing = state.extra.get("handover")
        if isinstance(existing, Handover):
            return existing
        handover = Handover()
        state.extra["handover"] = handover
        self._handovers.append(handover)
        return handover

    async def aclose(self) -> None:
        for client in self._clients:
            try:
                await client.aclose()
            except Exception:  # noqa: S110 - closing must never fail a report
                pass
        self._clients.clear()
        for handover in self._handovers:
            await handover.aclose()  # streams and spares no request took
        self._handovers.clear()
        self.trust.close()
        self.idle.close()
        self.realm_hints.save()


def prepare_requests() -> None:
    """Import what the first HTTP request and its answer need (httpcore and h11, the
    client, its backend and streams; email's date parser for the ``Date`` header): run
    by the idle worker while a TLS ClientHello is in flight (a plain-HTTP target's first
    request imports them itself); sniffio, which httpcore imports when its first lock
    is taken, if it is installed (httpcore's use of it is optional)."""
    import importlib

    for module in (
        "regdoctor.net.http_client",
        "regdoctor.net.pinned",
        "regdoctor.net.streams",
        "email.utils",
    ):
        importlib.import_module(module)
    try:
        importlib.import_module("sniffio")
    except ImportError:
        pass


def _version() -> str:
    from regdoctor import __version__

    return __version__
