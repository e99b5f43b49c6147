"""Blob storage on another host (``Registry.storage``): the registry answers every blob
request with 307 to ``https://storage.test:9443/docker/registry/v2/blobs/...``
(distribution's ``redirect`` storage middleware, as with S3 or a CDN in front of it).

``refused``: nothing listens at the storage address. ``untrusted``: a small HTTPS file
server there serves the registry's storage directory with a certificate from the CA
nobody trusts; a fix finds that CA as ``./storage-ca.crt``.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509

from tests.harness import pki as harness_pki
from tests.harness.sandbox_services import wait_ready
from tests.scenarios.runtimes.scenario import STORAGE_HOST, STORAGE_IP, STORAGE_PORT

if TYPE_CHECKING:
    from tests.scenarios.runtimes.world import World

STORAGE_URL = f"https://{STORAGE_HOST}:{STORAGE_PORT}"


def redirect_blobs(world: World) -> None:
    """Registries with ``storage``: pushed to as usual, then restarted with the redirect
    middleware; the storage address gets its server (``untrusted``) or none."""
    for reg in world.scenario.registries:
        if not reg.storage:
            continue
        world.sandbox.add_addresses(STORAGE_IP)
        registry = world.registries[reg.key]
        if reg.storage == "untrusted":
            _serve_storage(world, registry.storage_root)
        _restart(registry, STORAGE_URL)


def stop_redirecting(world: World) -> None:
    """The operator's fix for storage nobody can reach: blobs served by the registry."""
    for reg in world.scenario.registries:
        if reg.storage:
            _restart(world.registries[reg.key], None)


def _restart(registry: Any, redirect: str | None) -> None:
    registry.stop()
    registry.options = replace(registry.options, redirect=redirect)
    registry.start()
    wait_ready(registry)


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


def _serve_storage(world: World, root: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    pair = harness_pki._save_pair(
        world.sandbox.root / "certs",
        "storage-untrusted",
        harness_pki._make_leaf(
            world.auth.other,
            STORAGE_HOST,
            x509.SubjectAlternativeName([x509.DNSName(STORAGE_HOST)]),
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=365),
        ),
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(pair.cert), str(pair.key))

    def start() -> _TLSFiles:
        # bound inside the sandbox's namespace (the call runs there)
        return _TLSFiles((STORAGE_IP, STORAGE_PORT), partial(_Files, directory=str(root)), context)

    server: _TLSFiles = world.sandbox.call(start)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    world.sandbox.on_stop(stop)
