"""A small Docker registry token server (the ``auth.token.realm`` of the token variants).

No Debian or PyPI package provides one, and the failure modes regdoctor must diagnose
live in the token step, so one server serves them all, chosen by URL path:

========== ==============================================================
``/token``    normal: checks Basic credentials, grants what was asked
``/refuse``   401 with a JSON error body, whatever the request
``/error``    503
``/badjson``  200 with a body that is not JSON
``/wrongaud`` a well-signed token for another service (registry answers 401)
``/less``     a token granting no actions (registry answers 401 on a pull)
``/private``  a private repository: anonymous requests get a token granting nothing,
              the right credentials a full one
``/ratelimit`` anonymous requests get a pull token (subject ""), the right
              credentials one in the user's name: the rate-limiting front
              (``tests/harness/ratelimit_proxy.py``) tells them apart; the second
              account :data:`LIMITED` logs in, and its pulls are limited too
``/scoped``   ``/private`` with a second account, :data:`READER`: a valid login
              whose tokens grant nothing (the right password, the wrong account
              for the repository: the registry answers 401 insufficient_scope)
========== ==============================================================

Tokens are ES256 JWTs; distribution 2.8 finds the verification key through the header
``kid``, which must be the libtrust key id of a public key in its ``rootcertbundle``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.harness.pki import CertKey, write_cert

SERVICE = "regdoctor-testbed-registry"
ISSUER = "regdoctor-testbed-token-issuer"
WRONG_AUDIENCE = "some-other-registry"
TOKEN_TTL_S = 300
MODES = (
    "token",
    "refuse",
    "error",
    "badjson",
    "wrongaud",
    "less",
    "private",
    "ratelimit",
    "scoped",
)
#: ``/scoped``'s second account: it logs in, and may pull nothing.
READER = ("reader", "reader-pw")
#: ``/ratelimit``'s second account: it logs in, and the front limits its pulls as it
#: does anonymous ones (an account over its own limit).
LIMITED = ("limited", "limited-pw")

REFUSE_BODY = {
    "errors": [
        {
            "code": "UNAUTHORIZED",
            "message": "authentication required",
            "detail": "the token server refuses every request",
        }
    ]
}
BAD_CREDENTIALS_BODY = {
    "errors": [{"code": "UNAUTHORIZED", "message": "incorrect username or password"}]
}


def libtrust_key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The libtrust key id distribution 2.8 matches against the JWT ``kid`` header.

    base32 of the first 30 bytes of SHA-256 over the DER SubjectPublicKeyInfo, in 12
    groups of 4 characters joined by ``:``.
    """
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, 48, 4))


@dataclass(frozen=True)
class SigningKey:
    """The token signing key and the self-signed certificate that wraps its public key."""

    key: ec.EllipticCurvePrivateKey
    kid: str
    rootcertbundle: Path


def make_signing_key(directory: Path) -> SigningKey:
    """Create the signing key and write its certificate as the registry's rootcertbundle."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    bundle = write_cert(cert, directory / "token-signing.crt")
    return SigningKey(key=key, kid=libtrust_key_id(key.public_key()), rootcertbundle=bundle)


def parse_scope(scope: str) -> dict[str, Any]:
    """``repository:team/app:pull,push`` -> ``{type, name, actions}``.

    The name sits between the first and the last colon, because it may itself contain
    one (``host:5000/repo``).
    """
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


@dataclass(frozen=True)
class TokenRequest:
    """One request the token server received, for assertions in tests."""

    method: str
    path: str
    mode: str
    has_authorization: bool
    username: str | None
    service: str | None
    scopes: tuple[str, ...]
    status: int


@dataclass
class TokenServer:
    """The threaded TLS token server; see the module docstring for its paths.

    With ``tls=None`` it speaks plain HTTP (a realm a registry must not have); its URLs
    name ``url_host``, which a test's DNS server resolves to 127.0.0.1."""

    tls: CertKey | None
    signing: SigningKey
    username: str
    password: str
    allow_anonymous: bool = False
    """Whether requests without credentials get a (pull-only) token."""
    url_host: str = "127.0.0.1"
    port: int = 0
    _requests: list[TokenRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: _TLSServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        ctx = None
        if self.tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(self.tls.cert), str(self.tls.key))
        self._httpd = _TLSServer(("127.0.0.1", 0), _Handler, ctx, self)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="token-server",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def url(self, mode: str = "token") -> str:
        """The realm URL for one mode (``token``, ``refuse``, ...)."""
        if mode not in MODES:
            raise ValueError(f"unknown token server mode {mode!r}")
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.url_host}:{self.port}/{mode}"

    @property
    def requests(self) -> list[TokenRequest]:
        """A copy of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @contextlib.contextmanager
    def anonymous_allowed(self, allowed: bool = True) -> Iterator[None]:
        """Temporarily change :attr:`allow_anonymous` (the server is session-wide)."""
        before, self.allow_anonymous = self.allow_anonymous, allowed
        try:
            yield
        finally:
            self.allow_anonymous = before

    def record(self, request: TokenRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def issue(self, subject: str, scopes: list[str], audience: str, grant: bool) -> str:
        """Sign a token; ``grant=False`` keeps every requested resource with no actions."""
        now = int(dt.datetime.now(dt.UTC).timestamp())
        access = [parse_scope(s) for s in scopes]
        if not grant:
            access = [{**a, "actions": []} for a in access]
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": audience,
            "exp": now + TOKEN_TTL_S,
            "nbf": now - 1,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(
            claims, self.signing.key, algorithm="ES256", headers={"kid": self.signing.kid}
        )


class _TLSServer(ThreadingHTTPServer):
    """Does the TLS handshake in the per-request thread, so one stuck client blocks nobody."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        ssl_context: ssl.SSLContext | None,
        owner: TokenServer,
    ) -> None:
        super().__init__(address, handler)
        self.ssl_context = ssl_context
        self.owner = owner

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        try:
            tls_sock = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # a client that does not trust us, or hung up: its own business
        with tls_sock:
            super().finish_request(tls_sock, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep the pytest output clean; a request that crashed simply has no record."""


class _Handler(BaseHTTPRequestHandler):
    server: _TLSServer
    server_version = "regdoctor-token-server/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_GET(self) -> None:
        self._dispatch(parse_qs(urlsplit(self.path).query))

    def do_POST(self) -> None:
        """The OAuth2 form flow some clients use; same parameters, in the body."""
        form = parse_qs(self._body().decode(errors="replace"))
        credentials = None
        if form.get("grant_type") == ["password"] and "username" in form:
            # the password grant (containerd tries it first when it has credentials)
            credentials = (form["username"][0], (form.get("password") or [""])[0])
        self._dispatch({**parse_qs(urlsplit(self.path).query), **form}, credentials)

    def _body(self) -> bytes:
        """The request body, also when it is chunked (Go's net/http sends a body set
        after NewRequest that way: containers/image's OAuth2 refresh-token POST); an
        unread body would make the close a TCP reset."""
        if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return body
            body += self.rfile.read(size)
            self.rfile.readline()  # the chunk's CRLF

    def _dispatch(self, params: dict[str, list[str]], form: tuple[str, str] | None = None) -> None:
        mode = urlsplit(self.path).path.strip("/")
        user, password = form or self._basic_credentials()
        status = self._respond(mode, params, user, password)
        self.server.owner.record(
            TokenRequest(
                method=self.command,
                path=urlsplit(self.path).path,
                mode=mode,
                has_authorization="Authorization" in self.headers,
                username=user,
                service=next(iter(params.get("service", [])), None),
                scopes=tuple(params.get("scope", [])),
                status=status,
            )
        )

    def _respond(
        self, mode: str, params: dict[str, list[str]], user: str | None, password: str | None
    ) -> int:
        owner = self.server.owner
        if mode not in MODES:
            return self._send(404, b"404 page not found\n", "text/plain")
        if mode == "refuse":
            return self._send_json(401, REFUSE_BODY)
        if mode == "error":
            return self._send(503, b"503 Service Unavailable\n", "text/plain")
        if mode == "badjson":
            return self._send(200, b"{not json", "application/json")
        open_modes = ("private", "ratelimit", "scoped")
        if user is None and not owner.allow_anonymous and mode not in open_modes:
            return self._send_json(401, BAD_CREDENTIALS_BODY)
        logins = {(owner.username, owner.password)} | {
            "scoped": {READER},
            "ratelimit": {LIMITED},
        }.get(mode, set())
        if user is not None and (user, password) not in logins:
            return self._send_json(401, BAD_CREDENTIALS_BODY)
        scopes = params.get("scope", [])
        if user is None:
            scopes = [_pull_only(s) for s in scopes]
        audience = WRONG_AUDIENCE if mode == "wrongaud" else SERVICE
        grant = mode != "less" and not (mode == "private" and user is None)
        grant = grant and not (mode == "scoped" and user != owner.username)
        token = owner.issue(user or "", scopes, audience, grant=grant)
        return self._send_json(200, _token_body(token))

    def _basic_credentials(self) -> tuple[str | None, str | None]:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None, None
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", None  # present but garbled: counts as wrong credentials
        return user, password

    def _send_json(self, status: int, body: dict[str, Any]) -> int:
        return self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> int:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status


def _pull_only(scope: str) -> str:
    parsed = parse_scope(scope)
    actions = ",".join(a for a in parsed["actions"] if a == "pull")
    return f"{parsed['type']}:{parsed['name']}:{actions}"


def _token_body(token: str) -> dict[str, Any]:
    issued = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    return {"token": token, "access_token": token, "expires_in": TOKEN_TTL_S, "issued_at": issued}
