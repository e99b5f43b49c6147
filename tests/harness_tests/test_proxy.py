"""The test forward proxy (tests/harness/proxy.py) forwards plain-HTTP requests in
absolute form, as real proxies do: origin form upstream, its own headers stripped, a
407 in ``auth`` mode, an HTML page of its own in ``error_page`` mode, loopback only.

The client is real curl (``--proxy``: it sends ``GET http://host:port/path`` to the
proxy and resolves nothing itself); the upstream is a small HTTP server on loopback
that records what reached it.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.harness.proxy import ConnectProxy

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")

LOGIN = ("pxuser", "px@pw")


@dataclass
class Upstream:
    port: int
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    record = Upstream(0)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            record.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Docker-Distribution-API-Version", "registry/2.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    record.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield record
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_proxy() -> Iterator[object]:
    started: list[ConnectProxy] = []

    def make(mode: str, hosts: dict[str, str] | None = None) -> ConnectProxy:
        credentials = LOGIN if mode == "auth" else None
        proxy = ConnectProxy(hosts or {"upstream.test": "127.0.0.1"}, mode, credentials)
        started.append(proxy.start())
        return proxy

    yield make
    for proxy in started:
        proxy.stop()


def curl(proxy_url: str, url: str, *extra: str) -> tuple[int, dict[str, str], str]:
    """Status, response headers (lower-case names) and body of one proxied request."""
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "-i",
            "--noproxy",
            "",
            "--proxy",
            proxy_url,
            "--max-time",
            "5",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    status_line, *lines = head.split("\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def test_plain_request_is_forwarded_in_origin_form(make_proxy, upstream):
    proxy = make_proxy("ok")
    status, headers, body = curl(proxy.url, f"http://upstream.test:{upstream.port}/v2/?n=1")
    assert (status, body) == (200, '{"ok": true}')
    assert headers["docker-distribution-api-version"] == "registry/2.0"
    assert proxy.requests == [f"GET http://upstream.test:{upstream.port}/v2/?n=1 HTTP/1.1"]
    path, seen = upstream.seen[0]
    assert path == "/v2/?n=1"
    assert seen["host"] == f"upstream.test:{upstream.port}"
    assert seen["connection"] == "close"
    assert "proxy-connection" not in seen


def test_auth_mode_answers_407_then_forwards_with_the_login(make_proxy, upstream):
    proxy = make_proxy("auth")
    url = f"http://upstream.test:{upstream.port}/v2/"
    status, headers, _ = curl(proxy.url, url)
    assert status == 407
    assert headers["proxy-authenticate"] == 'Basic realm="proxy"'
    assert upstream.seen == []
    login = f"http://{LOGIN[0]}:px%40pw@127.0.0.1:{proxy.port}"
    status, _, body = curl(login, url)
    assert (status, body) == (200, '{"ok": true}')
    # the proxy's credentials stop at the proxy
    assert "proxy-authorization" not in upstream.seen[0][1]
    assert curl(f"http://{LOGIN[0]}:wrong@127.0.0.1:{proxy.port}", url)[0] == 407


def test_error_page_mode_answers_with_its_own_html(make_proxy, upstream):
    proxy = make_proxy("error_page")
    url = f"http://upstream.test:{upstream.port}/v2/"
    status, headers, body = curl(proxy.url, url)
    assert status == 403
    assert headers["content-type"].startswith("text/html")
    assert headers["x-squid-error"] == "ERR_ACCESS_DENIED 0"
    assert "docker-distribution-api-version" not in headers
    assert body.startswith("<!DOCTYPE html>") and "Access Denied" in body
    assert int(headers["content-length"]) == len(body.encode())
    status, headers, body = curl(proxy.url, url, "--head")
    assert status == 403 and body == ""
    assert upstream.seen == []


def test_deny_mode_refuses_plain_requests_too(make_proxy, upstream):
    proxy = make_proxy("deny")
    assert curl(proxy.url, f"http://upstream.test:{upstream.port}/v2/")[0] == 403
    assert upstream.seen == []


def test_only_loopback_upstreams_and_only_absolute_form(make_proxy, upstream):
    proxy = make_proxy("ok", {"elsewhere.test": "192.0.2.1"})
    assert curl(proxy.url, "http://elsewhere.test/v2/")[0] == 502
    # an unknown name is not resolved: it is no address, so no connection either
    assert curl(proxy.url, f"http://unknown.test:{upstream.port}/v2/")[0] == 502
    # an origin-form request is for a server, not for a proxy
    status = curl("", f"http://127.0.0.1:{proxy.port}/v2/")[0]
    assert status == 405
    assert upstream.seen == []
