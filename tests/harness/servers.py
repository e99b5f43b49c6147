"""Loopback peers that fail below or beside the registry protocol.

- :class:`ClosedPort`: nothing listens; connect() is refused at once.
- :class:`Blackhole`: connect() itself times out (SYNs are dropped).
- :class:`Silent`: connect() succeeds, then not a single byte ever comes back.
- :class:`NotRegistry`: a web server that is not a registry (404 + HTML for everything).

"HTTP on a TLS port" needs no server of its own: dial the plain registry with
``https://`` (see ``Testbed.http_on_tls_port``).

How :class:`Blackhole` works: a socket listening with backlog 0 whose accept queue the
harness fills with its own connection and never drains. Linux then drops further SYNs,
so a client's connect() times out exactly as against a firewalled host. Checked on this
kernel (6.x, syncookies on): one queued connection is enough, and :meth:`Blackhole.start`
verifies it every session, failing loudly if a kernel ever behaves differently (the
fallback would be an iptables DROP rule inside a network namespace, see testbed-notes).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NOT_FOUND_HTML = b"<html><body>Not Found</body></html>"
_MAX_FILLERS = 3


def serve_each(listener: socket.socket, serve: Callable[[socket.socket], None]) -> None:
    """Accept on ``listener`` until it is closed, each connection served in a thread of
    its own (for a test's small TCP peer: run this in a daemon thread)."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


class ClosedPort:
    """A port reserved by a bound, never-listening socket, so connects get RST.

    The socket is bound without SO_REUSEADDR, so no other process can bind (and then
    listen on) the port while the session lasts.
    """

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])

    def close(self) -> None:
        self._sock.close()


def closed_port() -> ClosedPort:
    """A port nothing listens on, kept reserved until ``close()``."""
    return ClosedPort()


def connect_times_out(port: int, timeout_s: float) -> bool:
    """True if a TCP connect to 127.0.0.1:port does not complete within ``timeout_s``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s):
            return False
    except TimeoutError:
        return True
    except OSError:
        return False


class Blackhole:
    """A TCP port on 127.0.0.1 where connect() times out; see the module docstring."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._fillers: list[socket.socket] = []

    def start(self, probe_timeout_s: float = 0.1) -> None:
        """Fill the accept queue until a probe connect times out; raise if it never does."""
        for _ in range(_MAX_FILLERS):
            self._fillers.append(self._fill_one())
            if connect_times_out(self.port, probe_timeout_s):
                return
        self.close()
        raise RuntimeError("blackhole trick failed: the kernel accepts beyond the backlog")

    def _fill_one(self) -> socket.socket:
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.settimeout(1.0)
        with contextlib.suppress(OSError):
            filler.connect(("127.0.0.1", self.port))
        return filler

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._listener.close()


class Silent:
    """Accepts TCP connections and never sends a byte (nor closes, until the peer does).

    Connections are accepted (not left in the backlog) so a long session full of
    timing-out tests can never turn this into a blackhole by filling the queue.
    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.setblocking(False)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._thread = threading.Thread(target=self._serve, name="silent", daemon=True)

    def start(self) -> None:
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock: Any = key.fileobj
                if sock is self._listener:
                    self._accept()
                else:
                    self._drain(sock)
        for key in list(self._selector.get_map().values()):
            if key.fileobj is not self._listener:
                key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    def _accept(self) -> None:
        with contextlib.suppress(BlockingIOError):
            conn, _ = self._listener.accept()
            conn.setblocking(False)
            self._selector.register(conn, selectors.EVENT_READ)

    def _drain(self, conn: socket.socket) -> None:
        """Swallow what the client sends; forget the socket once the client hangs up."""
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._selector.unregister(conn)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._listener.close()


class _NotRegistryHandler(BaseHTTPRequestHandler):
    server_version = "not-a-registry/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def _not_found(self) -> None:
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(NOT_FOUND_HTML)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(NOT_FOUND_HTML)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _not_found


class NotRegistry:
    """Plain HTTP on 127.0.0.1 answering 404 with an HTML page for every path and method."""

    def __init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NotRegistryHandler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="not-registry",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=2)
