"""Blob storage on another host: a small HTTPS file server that serves a registry's
storage directory, as object storage or a CDN behind distribution's ``redirect``
storage middleware (``RegistryOptions.redirect``) would: ``GET /docker/registry/v2/
blobs/sha256/<xx>/<digest>/data``.
"""

from __future__ import annotations

import ssl
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Files(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""


class _TLSFiles(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any, context: ssl.SSLContext) -> None:
        super().__init__(address, handler)
        self.context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # a client that does not trust the certificate
        with tls:
            super().finish_request(tls, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that hangs up mid-blob is its own business."""


class StorageServer:
    """HTTPS on ``address`` (port 0: a free one, in :attr:`port`) serving ``root``.

    :meth:`bind` creates the socket (call it inside a sandbox's namespace when it must
    live there); :meth:`start` binds if needed and serves in a daemon thread."""

    def __init__(self, root: Path, cert: Path, key: Path, address: tuple[str, int]) -> None:
        self.root = root
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(str(cert), str(key))
        self.address = address
        self._server: _TLSFiles | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "bind() first"
        return int(self._server.server_address[1])

    def bind(self) -> StorageServer:
        handler = partial(_Files, directory=str(self.root))
        self._server = _TLSFiles(self.address, handler, self.context)
        return self

    def start(self) -> StorageServer:
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
