"""The run's SSL context is ``ssl.create_default_context()``'s, with the system trust
store loaded by the first TLS connection instead of when it is made (a plain-HTTP run
never pays for it)."""

from __future__ import annotations

import ssl

from regdoctor.net.network import Network
from regdoctor.options import CheckOptions


def test_trust_store_loaded_on_first_use_only() -> None:
    reference = ssl.create_default_context()
    context = Network(CheckOptions()).ssl_context("registry.test:443", enforced=True)
    assert context.verify_mode == reference.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is reference.check_hostname is True
    assert context.options == reference.options
    assert context.minimum_version == reference.minimum_version
    assert context.cert_store_stats()["x509_ca"] == 0  # not loaded yet
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="registry.test")
    assert context.cert_store_stats() == reference.cert_store_stats()
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="registry.test")
    assert context.cert_store_stats() == reference.cert_store_stats()  # loaded once


def test_insecure_context_does_not_verify() -> None:
    context = Network(CheckOptions()).ssl_context("registry.test:443", enforced=False)
    assert context.verify_mode == ssl.CERT_NONE and context.check_hostname is False
