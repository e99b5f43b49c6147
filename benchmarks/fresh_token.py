"""A registry on loopback whose token server issues a fresh token per request, as Docker
Hub does: the peer that made ``regdoctor serve`` leak (issue #13).

``/v2/`` and every manifest answer 401 with a Bearer challenge unless the request
carries a token this server issued; ``/token`` issues a new JWT-shaped token (about 1,250
bytes) every time; manifests are a small OCI image manifest. Nothing is recorded, so the
peer itself stays flat for hours.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "1" * 64,
            "size": 2,
        },
        "layers": [],
    }
).encode()


def _token(pad_bytes: int = 300) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    header = part(b'{"alg":"RS256","typ":"JWT"}')
    pad = os.urandom(pad_bytes).hex()
    payload = part(json.dumps({"jti": os.urandom(16).hex(), "pad": pad}).encode())
    return f"{header}.{payload}.{part(os.urandom(256))}"


class FreshTokenRegistry:
    def __init__(self, host: str = "127.0.0.1", *, pad_bytes: int = 300) -> None:
        """``pad_bytes``: random bytes in each token's payload (300: tokens of about
        1,250 characters; more fills a client's bounded token registry sooner)."""
        self.issued = 0
        self._valid: set[str] = set()
        self._lock = threading.Lock()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/token":
                    token = _token(pad_bytes)
                    with registry._lock:
                        registry.issued += 1
                        registry._valid.add(token)
                        if len(registry._valid) > 5000:
                            registry._valid.clear()
                    body = json.dumps({"token": token, "expires_in": 300}).encode()
                    self._send(200, body, {"Content-Type": "application/json"})
                    return
                auth = self.headers.get("Authorization", "")
                token = auth[7:] if auth.startswith("Bearer ") else ""
                with registry._lock:
                    ok = token in registry._valid
                common = {"Docker-Distribution-API-Version": "registry/2.0"}
                if not ok:
                    host, port = self.server.server_address[:2]
                    realm = f'Bearer realm="http://{host}:{port}/token",service="fresh"'
                    if "/manifests/" in path:
                        repo = path[4 : path.index("/manifests/")]
                        realm += f',scope="repository:{repo}:pull"'
                    headers = {**common, "WWW-Authenticate": realm}
                    headers["Content-Type"] = "application/json"
                    self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', headers)
                elif path == "/v2/":
                    self._send(200, b"{}", {**common, "Content-Type": "application/json"})
                elif "/manifests/" in path:
                    headers = {
                        **common,
                        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
                        "Docker-Content-Digest": "sha256:" + "2" * 64,
                    }
                    self._send(200, MANIFEST, headers)
                elif "/blobs/" in path:
                    body = b'{"architecture":"amd64","os":"linux"}'
                    self._send(200, body, {**common, "Content-Type": "application/octet-stream"})
                else:
                    self._send(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}', common)

            do_HEAD = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.server = Server((host, 0), Handler)
        self.hostport = f"{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FreshTokenRegistry:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
