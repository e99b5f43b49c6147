"""World pieces beyond :mod:`.world` (kept apart: that module is long enough): registries
that require a client certificate (``mtls``)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from tests.harness.pki import CertKey
from tests.harness.sandbox_services import wait_ready

if TYPE_CHECKING:
    from tests.scenarios.runtimes.world import World


def require_client_certs(world: World) -> None:
    """``mtls`` registries: pushed to without a client certificate, then restarted with
    ``tls.clientcas`` = the harness client CA (distribution then refuses a handshake
    without a certificate from it). The readiness probe presents the harness client
    pair; a fix finds the same pair as ``./client.cert`` and ``./client.key``."""
    pki = world.auth.pki
    for reg in world.scenario.registries:
        if reg.kind != "mtls":
            continue
        registry = world.registries[reg.key]
        registry.stop()
        registry.options = replace(
            registry.options,
            client_ca=pki.client_ca_file,
            probe_client=CertKey(pki.client_cert, pki.client_key),
        )
        registry.start()
        wait_ready(registry)
