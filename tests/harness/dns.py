"""A loopback dnsmasq with the names regdoctor's DNS probes need, plus two bad upstreams.

The system resolver is not on loopback here, so tests must never call ``getaddrinfo``
for test names; they point dnspython (or the product's resolver parameter) at
:attr:`DnsServer.server` instead.

Records (all answered by dnsmasq itself unless noted):

- ``registry.test`` and :data:`HOST_NAMES` -> A 127.0.0.1
- anything under ``wild.registry.test`` (and the name itself) -> A 127.0.0.1
- ``alias.registry.test`` -> CNAME registry.test
- ``v6.registry.test`` -> AAAA ::1 only (an A query answers NOERROR with no records)
- any other name under ``test`` and anything under ``invalid`` -> NXDOMAIN
- anything under ``timeout.test`` -> forwarded to a socket that never answers: times out
- anything under ``servfail.test`` -> forwarded to a responder that answers SERVFAIL
- names outside ``test``/``invalid`` -> REFUSED (no upstream: nothing leaves loopback)
"""

from __future__ import annotations

import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.rcode
import dns.resolver

from tests.harness import procs

DNSMASQ_BIN = "/usr/sbin/dnsmasq"
HOST_NAMES = (
    "registry.test",
    "mirror.registry.test",
    "auth.registry.test",
    "tls.registry.test",
)
WILDCARD_ZONE = "wild.registry.test"
CNAME_NAME = "alias.registry.test"
V6_ONLY_NAME = "v6.registry.test"
TIMEOUT_NAME = "slow.timeout.test"
SERVFAIL_NAME = "broken.servfail.test"
NXDOMAIN_NAME = "nosuch.invalid"


class _SilentUpstream:
    """A UDP+TCP port on 127.0.0.1 that takes DNS queries and never answers them.

    The TCP side listens but never accepts, so dnsmasq's TCP fallback hangs too.
    """

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        port = procs.free_tcp_udp_port()
        self.udp.bind(("127.0.0.1", port))
        self.tcp.bind(("127.0.0.1", port))
        self.tcp.listen(64)
        self.port = port

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()


class _ServfailUpstream:
    """A UDP DNS responder on 127.0.0.1 that answers every query with SERVFAIL."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)  # lets the thread notice close() promptly
        self.port = int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns-servfail", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                reply = dns.message.make_response(dns.message.from_wire(data))
            except dns.exception.DNSException:
                continue
            reply.set_rcode(dns.rcode.SERVFAIL)
            self.sock.sendto(reply.to_wire(), addr)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def dnsmasq_argv(port: int, workdir: Path, timeout_port: int, servfail_port: int) -> list[str]:
    """The full dnsmasq command line: no config file, no system resolver, loopback only."""
    argv = [
        DNSMASQ_BIN,
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        f"--port={port}",
        f"--pid-file={workdir / 'dnsmasq.pid'}",
        "--log-facility=-",
        "--log-queries",
        # Stay root:root. Switching user or group would also clear the PDEATHSIG that
        # takes dnsmasq down with a killed pytest (the kernel resets it on a uid/gid change).
        "--user=root",
        "--group=root",
        "--local=/invalid/",
        "--local=/test/",
        f"--address=/{WILDCARD_ZONE}/127.0.0.1",
        f"--cname={CNAME_NAME},registry.test",
        f"--host-record={V6_ONLY_NAME},::1",
        f"--server=/timeout.test/127.0.0.1#{timeout_port}",
        f"--server=/servfail.test/127.0.0.1#{servfail_port}",
    ]
    argv += [f"--host-record={name},127.0.0.1" for name in HOST_NAMES]
    return argv


def make_resolver(host: str, port: int, lifetime_s: float = 1.0) -> dns.resolver.Resolver:
    """A dnspython resolver that asks only the given server (never /etc/resolv.conf)."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    resolver.lifetime = lifetime_s
    resolver.timeout = lifetime_s
    return resolver


@dataclass
class DnsServer:
    """dnsmasq on 127.0.0.1:<port> plus its silent and SERVFAIL upstreams."""

    workdir: Path
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    _silent: _SilentUpstream | None = None
    _servfail: _ServfailUpstream | None = None
    _restarts: int = 0

    @property
    def server(self) -> str:
        """``"127.0.0.1:PORT"``: what the product takes as its resolver."""
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "dnsmasq.log"

    def start(self) -> None:
        """Open the upstreams and spawn dnsmasq (no waiting; see :meth:`check_ready`)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._silent = _SilentUpstream()
        self._servfail = _ServfailUpstream()
        self._spawn()

    def _spawn(self) -> None:
        assert self._silent is not None and self._servfail is not None
        self.port = procs.free_tcp_udp_port()
        argv = dnsmasq_argv(self.port, self.workdir, self._silent.port, self._servfail.port)
        self.proc = procs.spawn(argv, self.log_path, procs.clean_env(self.workdir))

    def resolver(self, lifetime_s: float = 1.0) -> dns.resolver.Resolver:
        return make_resolver(self.host, self.port, lifetime_s)

    def check_ready(self) -> bool:
        """True once ``registry.test`` resolves; raises if dnsmasq died."""
        assert self.proc is not None, "start() first"
        if self.proc.poll() is not None:
            log = procs.tail(self.log_path)
            if "in use" in log and self._restarts < 3:  # lost a port race: new port
                self._restarts += 1
                self._spawn()
                return False
            raise RuntimeError(f"dnsmasq exited:\n{log}")
        try:
            self.resolver(lifetime_s=0.2).resolve("registry.test", "A")
        except dns.exception.DNSException:
            return False
        return True

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)
        if self._servfail is not None:
            self._servfail.close()
        if self._silent is not None:
            self._silent.close()
