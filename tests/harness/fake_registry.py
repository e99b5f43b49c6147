"""A small fake registry for what distribution 2.8.2 does not do: tags/list
pagination (``n``, ``last``, ``Link``), a ``Link`` loop, the OCI referrers API and
``RateLimit-*`` headers. Threaded ``http.server`` on 127.0.0.1; HEAD/GET of manifests by
tag answer a fixed digest per tag.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def digest_of(tag: str) -> str:
    return "sha256:" + hashlib.sha256(tag.encode()).hexdigest()


class FakeRegistry:
    """``mode``: ``link`` (Link headers, honours n/last), ``last`` (honours n/last, no
    Link), ``loop`` (Link always points back at the first page), ``ignore`` (all tags,
    like distribution 2.8.2)."""

    def __init__(
        self,
        tags: list[str],
        *,
        mode: str = "link",
        referrers: dict[str, list[dict[str, Any]]] | None = None,
        ratelimit: tuple[int, int, int] | None = None,
        no_digest: set[str] | None = None,
    ) -> None:
        self.tags = sorted(tags)
        self.mode = mode
        self.referrers = referrers or {}
        self.ratelimit = ratelimit
        self.no_digest = no_digest or set()
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> FakeRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(
                self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                fake.requests.append(f"{self.command} {self.path}")
                parts = urlsplit(self.path)
                path, query = parts.path, parse_qs(parts.query)
                if path == "/v2/":
                    return self._send(200, b"{}", {"Content-Type": "application/json"})
                segments = path.split("/")
                if path.endswith("/tags/list"):
                    return self._tags(path, query)
                if "/manifests/" in path:
                    tag = segments[-1]
                    if tag not in fake.tags:
                        return self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
                    body = json.dumps({"schemaVersion": 2, "tag": tag}).encode()
                    headers = {"Content-Type": DOCKER_MANIFEST}
                    if tag not in fake.no_digest:
                        headers["Docker-Content-Digest"] = digest_of(tag)
                    if fake.ratelimit:
                        limit, remaining, window = fake.ratelimit
                        headers["RateLimit-Limit"] = f"{limit};w={window}"
                        headers["RateLimit-Remaining"] = f"{remaining};w={window}"
                        headers["RateLimit-Reset"] = str(window // 2)
                    return self._send(200, body, headers)
                if "/referrers/" in path:
                    digest = segments[-1]
                    entries = fake.referrers.get(digest)
                    if entries is None and not fake.referrers:
                        return self._send(
                            404, b"404 page not found\n", {"Content-Type": "text/plain"}
                        )
                    body = json.dumps(
                        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries or []}
                    ).encode()
                    return self._send(200, body, {"Content-Type": OCI_INDEX})
                return self._send(404, b"{}")

            def _tags(self, path: str, query: dict[str, list[str]]) -> None:
                name = path[len("/v2/") : -len("/tags/list")]
                tags = fake.tags
                link = {}
                if fake.mode != "ignore":
                    n = int(query.get("n", ["100"])[0])
                    last = query.get("last", [None])[0]
                    start = (
                        0
                        if last is None
                        else next((i + 1 for i, t in enumerate(tags) if t == last), len(tags))
                    )
                    if fake.mode == "loop":
                        start = 0
                    page = tags[start : start + n]
                    more = start + n < len(tags)
                    if fake.mode == "loop":
                        link = {"Link": f'</v2/{name}/tags/list?n={n}&last={page[-1]}>; rel="next"'}
                        if last is not None:  # the next page links back to the first
                            link = {"Link": f'</v2/{name}/tags/list?n={n}>; rel="next"'}
                    elif fake.mode == "link" and more:
                        link = {"Link": f'</v2/{name}/tags/list?n={n}&last={page[-1]}>; rel="next"'}
                    tags = page
                body = json.dumps({"name": name, "tags": tags}).encode()
                self._send(200, body, {"Content-Type": "application/json", **link})

        return Handler
