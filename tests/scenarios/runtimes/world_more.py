"""World pieces beyond :mod:`.world` (kept apart: that module is long enough): registries
that require a client certificate (``mtls``), the token realm's certificate."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from tests.harness import pki as harness_pki
from tests.harness.pki import CertKey
from tests.harness.sandbox_services import issue_leaf, wait_ready

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


def realm_leaf(world: World, host: str) -> CertKey:
    """The token server's certificate: from the harness CA, or with the scenario's
    ``realm_ca = "other_ca"`` from the CA nobody trusts (an untrusted realm)."""
    directory: Path = world.sandbox.root / "certs"
    if world.scenario.realm_ca != "other_ca":
        return issue_leaf(world.auth.pki, directory, "auth", [host])
    now = dt.datetime.now(dt.UTC)
    pair = harness_pki._make_leaf(
        world.auth.other,
        host,
        x509.SubjectAlternativeName([x509.DNSName(host)]),
        now - dt.timedelta(days=1),
        now + dt.timedelta(days=365),
    )
    directory.mkdir(parents=True, exist_ok=True)
    return harness_pki._save_pair(directory, "auth-untrusted", pair)
