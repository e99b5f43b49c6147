"""A registry front that rate-limits anonymous pulls, as Docker Hub does: HTTPS on the
registry's address, every request forwarded to the registry behind it (plain HTTP on
another address), except a manifest request whose bearer token was issued to nobody
(the token server's ``/ratelimit`` realm gives anonymous clients a token with subject
``""``): that one gets Docker Hub's answer, 429 with ``TOOMANYREQUESTS`` and the
``ratelimit-*`` headers (and ``Retry-After: 0``, so that podman's retries of a 429 take
no time). Pulls with credentials go through, except those of the account
``token_server.LIMITED`` (over its own limit).
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.harness.pki import CertKey
from tests.harness.sandbox import Sandbox
from tests.harness.token_server import LIMITED

MANIFEST = re.compile(r"^/v2/.+/manifests/[^/]+$")
RATE_LIMITED = {
    "errors": [
        {
            "code": "TOOMANYREQUESTS",
            "message": "You have reached your pull rate limit. You may increase the limit "
            "by authenticating.",
        }
    ]
}


def token_subject(authorization: str) -> str | None:
    """The ``sub`` claim of a bearer token (unverified: the registry verifies it)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    return str(claims.get("sub", "")) if isinstance(claims, dict) else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listen: tuple[str, int], context: ssl.SSLContext, front: RateLimitFront):
        super().__init__(listen, _Handler)
        self.context = context
        self.front = front

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        with tls:
            super().finish_request(tls, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer is its own business."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def do_GET(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def _forward(self) -> None:
        front = self.server.front
        path = self.path.split("?", 1)[0]
        subject = token_subject(self.headers.get("Authorization", ""))
        if MANIFEST.match(path) and subject in ("", LIMITED[0]):
            front.limited += 1
            body = json.dumps(RATE_LIMITED).encode()
            self.send_response(429)
            self.send_header("Content-Type", "application/json")
            self.send_header("RateLimit-Limit", "100;w=21600")
            self.send_header("RateLimit-Remaining", "0;w=21600")
            # podman (containers/image) retries a 429 five times, waiting Retry-After or
            # 2 s doubling, and podman pull itself three times: minutes without this
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        upstream = http.client.HTTPConnection(*front.backend, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            upstream.request(self.command, self.path, headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(key, value)
        # a HEAD answer has no body but the length of the GET's
        length = answer.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class RateLimitFront:
    """Start with :meth:`start` inside the namespace that should own its socket."""

    def __init__(self, listen: tuple[str, int], backend: tuple[str, int], tls: CertKey) -> None:
        self.listen = listen
        self.backend = backend
        self.tls = tls
        self.limited = 0
        self._server: _Server | None = None

    @property
    def name(self) -> str:
        return f"{self.listen[0]}:{self.listen[1]}"

    def check_ready(self) -> bool:
        return self._server is not None

    def start(self) -> RateLimitFront:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.tls.cert), str(self.tls.key))
        self._server = _Server(self.listen, context, self)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def start_front(
    sandbox: Sandbox, listen: tuple[str, int], backend: tuple[str, int], tls: CertKey
) -> RateLimitFront:
    """A :class:`RateLimitFront` listening in ``sandbox``'s namespace, stopped with it."""
    sandbox.add_addresses(listen[0])
    front = RateLimitFront(listen, backend, tls)
    sandbox.call(front.start)
    sandbox.on_stop(front.stop)
    return front
