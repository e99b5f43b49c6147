"""Blob storage on another host (``Registry.storage``): the registry answers every blob
request with 307 to ``https://storage.test:9443/docker/registry/v2/blobs/...``
(distribution's ``redirect`` storage middleware, as with S3 or a CDN in front of it).

``refused``: nothing listens at the storage address. ``untrusted``: a small HTTPS file
server there serves the registry's storage directory with a certificate from the CA
nobody trusts; a fix finds that CA as ``./storage-ca.crt``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509

from tests.harness import pki as harness_pki
from tests.harness.sandbox_services import wait_ready
from tests.harness.storage_server import StorageServer
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
    server = StorageServer(root, pair.cert, pair.key, (STORAGE_IP, STORAGE_PORT))
    world.sandbox.call(server.bind)  # its socket lives in the sandbox's namespace
    server.start()
    world.sandbox.on_stop(server.stop)
