"""The system CA store is read when a TLS handshake starts, not when a context is made:
a plain-HTTP check never waits for it, and a TLS check still verifies against it.

The real runs point OpenSSL's default store at the testbed's CA with ``SSL_CERT_FILE``
(both the stdlib's and pyOpenSSL's OpenSSL honour it): with it and no ``--ca-file`` the
TLS registry is trusted, which it can only be if the deferred store was loaded before
the server's certificate was verified; without it the same registry is untrusted."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys

import pytest

from regdoctor.net.network import DeferredTrustContext
from tests.harness import Testbed


def test_context_matches_create_default_context_but_loads_the_store_on_first_use():
    reference = ssl.create_default_context()
    context = DeferredTrustContext()
    assert context.verify_mode == reference.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname and reference.check_hostname
    assert context.options == reference.options
    assert context.minimum_version == reference.minimum_version
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing read yet
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="registry.test")
    assert context.cert_store_stats() == reference.cert_store_stats()


def test_a_context_that_does_not_verify_never_reads_the_store():
    context = DeferredTrustContext()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())
    assert context.cert_store_stats()["x509_ca"] == 0


def _run(argv: list[str], cert_file: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SSL_CERT_DIR", None)
    if cert_file is None:
        env.pop("SSL_CERT_FILE", None)
    else:
        env["SSL_CERT_FILE"] = cert_file
    return subprocess.run(
        [sys.executable, "-m", "regdoctor", *argv],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )


def test_tls_check_trusts_the_default_store_loaded_on_the_handshake(
    testbed: Testbed, isolate_env: object
) -> None:
    """By name (``registry.test``, through the testbed's DNS server): docker verifies it
    (a loopback address it would treat as insecure)."""
    port = testbed.endpoints["tls"].port
    argv = ["check", "--format", "json", "--runtime", "docker", "--dns-server"]
    argv += [testbed.dns_server, f"registry.test:{port}/team/app:1.2"]
    trusted = _run(argv, str(testbed.ca_file))
    assert trusted.returncode == 0, trusted.stdout[-3000:] + trusted.stderr[-2000:]
    report = json.loads(trusted.stdout)
    assert [t["status"] for t in report["targets"]] == ["ok"]
    # the TLS probe's own handshake (pyOpenSSL) verified the chain against that store
    assert report["findings"] == [], report["findings"]
    untrusted = _run(argv, None)  # the system store: the testbed's CA is not in it
    categories = {f["category"] for f in json.loads(untrusted.stdout)["findings"]}
    assert "tls.unknown_authority" in categories, untrusted.stdout[-3000:]


def test_tag_scan_over_tls_verifies_with_the_deferred_store(
    testbed: Testbed, isolate_env: object
) -> None:
    """The tag scan's keep-alive connections (asyncio's own TLS, ``wrap_bio``)."""
    port = testbed.endpoints["tls"].port
    argv = ["tags", "--format", "json", "--dns-server", testbed.dns_server]
    argv.append(f"https://registry.test:{port}/{testbed.images.app.repository}")
    trusted = _run(argv, str(testbed.ca_file))
    assert trusted.returncode in (0, 1), trusted.stdout[-3000:] + trusted.stderr[-2000:]
    assert json.loads(trusted.stdout)["resolution"]["resolved"] >= 1
    untrusted = _run(argv, None)
    assert untrusted.returncode == 2, untrusted.stdout[-3000:]


def test_plain_http_check_never_reads_the_store(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted, not replaced: the real method still runs if anything calls it."""
    from tests.helpers.reports import run_report

    calls: list[ssl.SSLContext] = []
    real = ssl.SSLContext.load_default_certs

    def counted(self: ssl.SSLContext, *args: object) -> None:
        calls.append(self)
        real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", counted)
    ep = testbed.endpoints["plain"]
    report = run_report([testbed.images.app.ref(ep.hostport)])
    manifest = [o for t in report.targets for o in t.observations if o.kind == "image.manifest"]
    assert manifest and manifest[0].facts["outcome"] == "found"  # it did go over HTTP
    assert calls == []


@pytest.mark.parametrize("endpoint", ["plain", "tls"])
def test_the_tls_probe_waits_for_the_system_store_only_for_a_tls_answer(
    testbed: Testbed, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    """The TLS probe's handshake against a plain-HTTP registry (it answers the
    ClientHello with an HTTP error) and against a TLS one. The system store is read in
    a worker thread while the ClientHello is in flight: the plain-HTTP answer is
    reported while that thread is still held; the TLS answer is fed to OpenSSL only
    once the store is in the context."""
    import asyncio
    import threading

    from OpenSSL import SSL

    from regdoctor.net import handshake
    from regdoctor.net.trust import TrustCache

    events: list[str] = []
    release = threading.Event()
    real = handshake.load_system_store

    def held(context: object) -> None:
        release.wait(10)
        real(context)
        events.append("store loaded")

    real_write = SSL.Connection.bio_write

    def bio_write(self: SSL.Connection, data: bytes) -> int:
        events.append("server data to OpenSSL")
        return real_write(self, data)

    monkeypatch.setattr(handshake, "load_system_store", held)
    monkeypatch.setattr(SSL.Connection, "bio_write", bio_write)
    port = testbed.endpoints[endpoint].port
    trust = TrustCache()

    async def run() -> handshake.HandshakeResult:
        task = asyncio.create_task(
            handshake.handshake(
                "registry.test", "127.0.0.1", port, client=None, ca_files=[], budget=5.0,
                trust=trust,
            )
        )  # fmt: skip
        if endpoint == "plain":
            result = await task  # the store's thread is still held
            assert not release.is_set()
            release.set()
            return result
        release.set()
        return await task

    try:
        result = asyncio.run(run())
    finally:
        release.set()
        trust.close()
    assert result.outcome == ("plain_http" if endpoint == "plain" else "ok"), result
    assert trust.counts["system store loads"] == 1  # started beside the ClientHello
    if endpoint == "tls":
        assert events[0] == "store loaded", events
        # the system store does not hold the testbed CA
        assert any(depth == 0 for _errnum, depth, _text in result.verify_errors)
    else:
        assert "server data to OpenSSL" not in events
