"""A misbehaving registry on loopback: one hostile behaviour per server.

The hardening suite (``tests/hardening/``) points ``regdoctor check`` at these servers
and checks that the run still ends in time, in bounded memory, with a finding, and that
nothing the server says reaches the terminal unescaped.

:class:`HostileServer` is a raw-socket server (one thread per connection, so a handler
may block, dribble bytes or never answer) that records every request it received
(:attr:`HostileServer.requests`), which is how the tests prove that credentials did not
follow a redirect to another host. It listens on any 127.0.0.0/8 address (``127.0.0.2``
is "another host" without DNS) and can speak TLS with any certificate chain.

A handler is ``handler(conn, request)``; it writes what it likes with ``conn.send`` and
returns. The connection is then closed. Handlers that stream must stop when
:attr:`Conn.stopping` is set or the peer goes away (``send`` returns False).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import json
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_HEADERS = {
    "Docker-Distribution-API-Version": "registry/2.0",
    "Content-Type": "application/json",
}
_MAX_REQUEST_HEAD = 64 * 1024


@dataclass
class RawRequest:
    """One request as it arrived: the request line, lower-cased headers, raw bytes."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    server: str  # "host:port" of the listener that got it

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class Conn:
    """The accepted connection, as a handler sees it."""

    def __init__(self, sock: socket.socket | ssl.SSLSocket, stopping: threading.Event) -> None:
        self.sock = sock
        self.stopping = stopping

    def send(self, data: bytes) -> bool:
        """Send ``data``; False when the peer has gone or the server is stopping."""
        if self.stopping.is_set():
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def dribble(self, data: bytes, interval_s: float) -> bool:
        """Send ``data`` one byte at a time, ``interval_s`` apart (slowloris)."""
        for i in range(len(data)):
            if not self.send(data[i : i + 1]):
                return False
            if self.stopping.wait(interval_s):
                return False
        return True

    def hold(self, seconds: float = 30.0) -> None:
        """Keep the connection open and silent."""
        self.stopping.wait(seconds)

    def respond(
        self,
        status: int,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        body: bytes | str = b"",
        *,
        reason: str = "X",
        content_length: bool = True,
    ) -> bool:
        data = body.encode() if isinstance(body, str) else body
        items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        lines = [f"HTTP/1.1 {status} {reason}".encode()]
        for name, value in items:
            lines.append(f"{name}: {value}".encode("latin-1", "replace"))
        if content_length:
            lines.append(f"Content-Length: {len(data)}".encode())
        lines.append(b"Connection: close")
        return self.send(b"\r\n".join(lines) + b"\r\n\r\n" + data)


Handler = Callable[[Conn, RawRequest], None]


@dataclass
class HostileServer:
    """Serve ``handler`` on ``host`` (any 127/8 address), optionally over TLS."""

    handler: Handler
    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    raw: bool = False  # call the handler at once, without reading a request
    requests: list[RawRequest] = field(default_factory=list)
    port: int = 0
    _stopping: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None
    _conns: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> HostileServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        conn_sock: socket.socket | ssl.SSLSocket = sock
        try:
            sock.settimeout(10)
            if self.raw:
                self.handler(Conn(sock, self._stopping), RawRequest("", "", {}, b"", ""))
                return
            if self.tls is not None:
                conn_sock = self.tls.wrap_socket(sock, server_side=True)
            head = _read_head(conn_sock)
            if head is None:
                return
            request = _parse_head(head, self.hostport)
            with self._lock:
                self.requests.append(request)
            self.handler(Conn(conn_sock, self._stopping), request)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn_sock.close()


def _read_head(sock: socket.socket | ssl.SSLSocket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > _MAX_REQUEST_HEAD:
            return None
    return data.split(b"\r\n\r\n", 1)[0]


def _parse_head(head: bytes, server: str) -> RawRequest:
    lines = head.decode("latin-1").split("\r\n")
    method, path, *_ = ([*lines[0].split(" "), "", ""])[:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawRequest(method, path, headers, head, server)


# ------------------------------------------------------------------ behaviours


#: A valid Docker image manifest (v2 schema 2) with one layer, what ``registry_ok``
#: serves for every manifest: a run against it is healthy, so each hostile case that
#: deviates from it is judged for its own fault.
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 2,
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 32,
                "digest": "sha256:" + "5" * 64,
            }
        ],
    }
).encode()
MANIFEST_HEADERS = {
    **REGISTRY_HEADERS,
    "Content-Type": MANIFEST_TYPE,
    "Docker-Content-Digest": "sha256:" + hashlib.sha256(MANIFEST).hexdigest(),
}


def registry_answer(conn: Conn, request: RawRequest, headers: dict[str, str] | None = None) -> None:
    """What a healthy registry answers: the manifest for a manifest URL, ``{}`` else."""
    if "/manifests/" in request.path:
        conn.respond(200, {**MANIFEST_HEADERS, **(headers or {})}, MANIFEST)
    else:
        conn.respond(200, {**REGISTRY_HEADERS, **(headers or {})}, b"{}")


def registry_ok(conn: Conn, request: RawRequest) -> None:
    """A well-behaved, anonymous registry (the baseline the hostile ones deviate from)."""
    registry_answer(conn, request)


def endless_body(conn: Conn, request: RawRequest) -> None:
    """``/v2/`` answers 200 and a body that never ends (claimed size: 5 GB)."""
    head = (
        b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: registry/2.0\r\n"
        b"Content-Type: application/json\r\nContent-Length: 5368709120\r\n\r\n"
    )
    if not conn.send(head):
        return
    chunk = b"{" + b" " * 65535
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and conn.send(chunk):
        pass


def huge_header_line(conn: Conn, request: RawRequest) -> None:
    """One header line of 1 MB."""
    conn.respond(200, {**REGISTRY_HEADERS, "X-Huge": "a" * (1024 * 1024)}, b"{}")


def many_headers(conn: Conn, request: RawRequest) -> None:
    """10,000 headers."""
    base = MANIFEST_HEADERS if "/manifests/" in request.path else REGISTRY_HEADERS
    headers = list(base.items()) + [(f"X-H{i}", "v") for i in range(10_000)]
    conn.respond(200, headers, MANIFEST if "/manifests/" in request.path else b"{}")


def slowloris(conn: Conn, request: RawRequest) -> None:
    """The status line and headers, one byte per second."""
    conn.dribble(b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: registry/2.0\r\n", 1.0)


def never_answers(conn: Conn, request: RawRequest) -> None:
    """Accepts, reads the request, and never sends a byte."""
    conn.hold()


def redirect_loop(conn: Conn, request: RawRequest) -> None:
    """Every URL redirects to itself."""
    conn.respond(302, {"Location": request.path}, b"")


def redirect_to(url: str, status: int = 307) -> Handler:
    """Every URL redirects to ``url`` + the request path."""

    def handler(conn: Conn, request: RawRequest) -> None:
        conn.respond(status, {"Location": url.rstrip("/") + request.path}, b"")

    return handler


def basic_then_redirect(url: str) -> Handler:
    """A basic-auth registry whose authenticated ``/v2/`` redirects to ``url``: the
    client must not carry its credentials there."""

    def handler(conn: Conn, request: RawRequest) -> None:
        if request.authorization is None:
            conn.respond(
                401, {**REGISTRY_HEADERS, "WWW-Authenticate": 'Basic realm="hostile"'}, b"{}"
            )
        else:
            conn.respond(307, {"Location": url.rstrip("/") + request.path}, b"")

    return handler


def bearer_challenge(realm: str, extra: str = ',service="hostile"') -> Handler:
    """401 with a bearer challenge naming ``realm``; a token holder gets 200."""

    def handler(conn: Conn, request: RawRequest) -> None:
        if (request.authorization or "").startswith("Bearer "):
            registry_answer(conn, request)
            return
        challenge = f'Bearer realm="{realm}"{extra}'
        conn.respond(401, {**REGISTRY_HEADERS, "WWW-Authenticate": challenge}, b"{}")

    return handler


def token_server(conn: Conn, request: RawRequest) -> None:
    """Issues an opaque token to anyone."""
    conn.respond(200, {"Content-Type": "application/json"}, json.dumps({"token": "opaque-tok"}))


def challenge(header: str) -> Handler:
    """401 with the given ``WWW-Authenticate`` value (malformed, huge...)."""

    def handler(conn: Conn, request: RawRequest) -> None:
        conn.respond(401, {**REGISTRY_HEADERS, "WWW-Authenticate": header}, b"{}")

    return handler


def duplicate_challenges(conn: Conn, request: RawRequest) -> None:
    """Three WWW-Authenticate headers with duplicate, conflicting params."""
    headers = [
        *REGISTRY_HEADERS.items(),
        ("WWW-Authenticate", 'Bearer realm="http://127.0.0.1:9/a",realm="https://x/b"'),
        ("WWW-Authenticate", 'Basic realm="r", Basic realm="s"'),
        ("WWW-Authenticate", 'Bearer service="a",service="b",scope="c",scope="d"'),
    ]
    conn.respond(401, headers, b"{}")


def body(status: int, data: bytes, headers: dict[str, str] | None = None) -> Handler:
    """Every URL answers ``status`` with ``data``."""

    def handler(conn: Conn, request: RawRequest) -> None:
        conn.respond(status, {**REGISTRY_HEADERS, **(headers or {})}, data)

    return handler


def on_path(routes: dict[str, Handler], default: Handler = registry_ok) -> Handler:
    """Dispatch on the path prefix (longest first)."""

    def handler(conn: Conn, request: RawRequest) -> None:
        for prefix in sorted(routes, key=len, reverse=True):
            if request.path.startswith(prefix):
                routes[prefix](conn, request)
                return
        default(conn, request)

    return handler


def deep_json(depth: int = 100_000) -> bytes:
    return b'{"errors":' + b"[" * depth + b"]" * depth + b"}"


@functools.lru_cache(maxsize=2)
def gzip_bomb(uncompressed: int = 1 << 30) -> bytes:
    """``uncompressed`` bytes of ``[`` gzip-compressed (level 1: about 4.5 MB per GiB,
    built in about a second; cached)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: gzip container
    block = b"[" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(uncompressed // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def gzip_text(text: bytes) -> bytes:
    return gzip.compress(text)


# ---------------------------------------------------------------- certificates


def tls_context(chain_pem: bytes, key_pem: bytes, directory: Path) -> ssl.SSLContext:
    """A server context presenting ``chain_pem`` (leaf first) with ``key_pem``."""
    cert = directory / "chain.pem"
    key = directory / "key.pem"
    cert.write_bytes(chain_pem)
    key.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    return context


def long_chain(
    length: int = 50,
    *,
    sans: int = 0,
    ips: tuple[str, ...] = ("127.0.0.1", "127.0.0.2"),
    prefix: str = "hostile",
) -> tuple[bytes, bytes, bytes]:
    """A chain of ``length`` certificates (leaf, ``length - 2`` intermediates, root) and
    the leaf key and the root, as PEM. The leaf is valid for ``ips``; with ``sans``, it
    also carries that many DNS SANs."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{prefix} {cn}")])

    def build(subject: str, key, issuer: str, issuer_key, ca: bool):  # type: ignore[no-untyped-def]
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
            names += [x509.DNSName(f"n{i}.hostile.test") for i in range(sans)]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(max(length, 1))]
    certs = []
    # keys[-1] is the root; keys[i] is signed by keys[i + 1].
    for i in range(len(keys) - 1, -1, -1):
        subject = "leaf" if i == 0 else f"ca{i}"
        issuer_index = min(i + 1, len(keys) - 1)
        issuer = f"ca{issuer_index}" if issuer_index != 0 else "leaf"
        certs.insert(0, build(subject, keys[i], issuer, keys[issuer_index], ca=i != 0))
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    key_pem = keys[0].private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, key_pem, certs[-1].public_bytes(serialization.Encoding.PEM)
