"""The spare connection secured while the TLS phase's own handshake is in flight
(``Handover.secure_early``): it is secured without verification (nothing is judged
yet), so it may carry requests only once :meth:`Handover.pin` has seen it present the
leaf certificate the TLS phase verified. A server that shows another certificate on the
second connection (a man in the middle of that one only) gets no request."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from regdoctor.net.handover import Handover
from tests.harness.pki import Pki, generate_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return generate_pki(tmp_path_factory.mktemp("early-spare-pki"))


def _der(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(Encoding.DER)


@asynccontextmanager
async def _tls_server(pki: Pki, leaf: str) -> AsyncIterator[int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.leaves[leaf].cert, pki.leaves[leaf].key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # hold the connection until the client goes
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def _unverified() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _early_spare_then_pin(pki: Pki, served: str, verified: str | None) -> object:
    """A spare secured early against a server showing ``served``'s leaf, then pinned to
    ``verified``'s (None: the TLS phase verified no leaf); what a request then takes."""
    async with _tls_server(pki, served) as port:
        handover = Handover()
        handover.add_spare("registry.test", port, "127.0.0.1", 5.0, early=True)
        handover.secure_early("registry.test", port, _unverified(), "registry.test", 5.0)
        client_context = ssl.create_default_context(cafile=str(pki.ca_file))
        leaf = _der(pki.leaves[verified].cert) if verified else None
        handover.pin("registry.test", port, leaf, client_context)
        stream = await handover.take_spare("registry.test", port, early=True)
        taken = None
        if stream is not None:
            # a request's TLS step: the pinned spare counts as secured with the client's
            # own context, and is handed over as it is
            taken = await stream.start_tls(client_context, "registry.test", 5.0)
            assert taken is stream
            await stream.aclose()
        await handover.aclose()
        return taken


def test_a_spare_showing_the_verified_leaf_carries_requests(pki: Pki) -> None:
    assert asyncio.run(_early_spare_then_pin(pki, "valid", "valid")) is not None


def test_a_spare_showing_another_leaf_is_closed(pki: Pki) -> None:
    """The second connection shows a certificate the TLS phase never judged (here one
    from a CA nobody trusts): no request goes over it; the request dials instead."""
    assert asyncio.run(_early_spare_then_pin(pki, "untrusted", "valid")) is None


def test_without_a_verified_leaf_no_early_spare_is_used(pki: Pki) -> None:
    assert asyncio.run(_early_spare_then_pin(pki, "valid", None)) is None


def test_an_unpinned_early_spare_refuses_the_clients_handshake(pki: Pki) -> None:
    """Never pinned (the TLS phase failed, or went no further), a spare secured early
    refuses to stand for the client's own handshake: the request fails to connect
    rather than travel over a connection nothing verified."""
    from regdoctor.net.lean_httpcore import httpcore

    async def run() -> None:
        async with _tls_server(pki, "valid") as port:
            handover = Handover()
            handover.add_spare("registry.test", port, "127.0.0.1", 5.0, early=True)
            handover.secure_early("registry.test", port, _unverified(), "registry.test", 5.0)
            stream = await handover.take_spare("registry.test", port, early=True)
            assert stream is not None
            client_context = ssl.create_default_context(cafile=str(pki.ca_file))
            with pytest.raises(httpcore.ConnectError):
                await stream.start_tls(client_context, "registry.test", 5.0)
            await handover.aclose()

    asyncio.run(run())
