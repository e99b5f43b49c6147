"""Blob storage on another host (``probes/blob_storage.py``): a distribution registry on
loopback whose blob requests answer 307 to another port (its ``redirect`` storage
middleware, as with S3 or a CDN), where nothing listens or where an HTTPS file server
has a certificate from a CA the check does not trust. ``/v2/`` and the manifest work;
every runtime fails at the first blob (the runtime table's ``blob-storage-*``
scenarios), and so must the check, naming the storage host.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.hardening.runner import Run, run
from tests.harness import pki as harness_pki
from tests.harness import procs
from tests.harness.content import Pusher
from tests.harness.registry import Registry, RegistryOptions, wait_all_ready
from tests.harness.storage_server import StorageServer


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """team/app:1.2 pushed, then the registry restarted without a redirect yet."""
    reg = Registry("blob-storage", tmp_path / "registry", tmp_path / "storage", RegistryOptions())
    reg.start()
    try:
        wait_all_ready([reg])
        with httpx.Client(base_url=reg.url, timeout=10.0, trust_env=False) as client:
            Pusher(client).image("team/app", "1.2", "/app")
        yield reg
    finally:
        reg.stop()


def _redirect(reg: Registry, base: str) -> None:
    reg.restart(replace(reg.options, redirect=base))
    wait_all_ready([reg])


def _check(reg: Registry, *extra: str) -> Run:
    args = ["check", "--format", "json", "--timeout", "3", "--runtime", "docker", *extra]
    return run([*args, f"127.0.0.1:{reg.port}/team/app:1.2"])


def _storage_tls(tmp_path: Path, root: Path) -> tuple[StorageServer, Path]:
    """HTTPS on 127.0.0.1 serving ROOT, its leaf from a fresh CA (returned as a file)."""
    ca = harness_pki._make_ca("blob storage test CA")
    ca_file = harness_pki.write_cert(ca.cert, tmp_path / "storage-ca.crt")
    now = dt.datetime.now(dt.UTC)
    pair = harness_pki._save_pair(
        tmp_path,
        "storage",
        harness_pki._make_leaf(
            ca,
            "127.0.0.1",
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=365),
        ),
    )
    return StorageServer(root, pair.cert, pair.key, ("127.0.0.1", 0)).start(), ca_file


def test_no_redirect_no_blob_observation(registry: Registry) -> None:
    result = _check(registry)
    assert result.code == 0, result.stdout[-2000:]
    assert not [o for o in result.observations() if o["kind"] == "image.blob"]


def test_storage_port_refused_is_an_error_naming_the_storage(registry: Registry) -> None:
    port = procs.free_tcp_port()
    _redirect(registry, f"https://127.0.0.1:{port}")
    result = _check(registry)
    where = result.stdout[-3000:] + result.stderr[-1000:]
    assert result.code == 2, where
    blob = next(o for o in result.observations() if o["kind"] == "image.blob")
    assert blob["ok"] is False and blob["facts"]["status"] == 307, where
    assert blob["facts"]["storage_hostport"] == f"127.0.0.1:{port}"
    finding = next(f for f in result.findings if f["rule"] == "tcp-storage-refused")
    assert finding["category"] == "tcp.refused" and f"127.0.0.1:{port}" in finding["title"]


def test_storage_certificate_checked_with_the_registrys_trust(
    registry: Registry, tmp_path: Path
) -> None:
    server, ca_file = _storage_tls(tmp_path, registry.storage_root)
    try:
        _redirect(registry, f"https://127.0.0.1:{server.port}")
        untrusted = _check(registry)
        where = untrusted.stdout[-3000:] + untrusted.stderr[-1000:]
        assert untrusted.code == 2, where
        assert "tls-storage-unknown-authority" in untrusted.rules, where
        verify = next(
            o
            for o in untrusted.observations()
            if o["kind"] == "tls.verify" and o["facts"]["role"] == "storage"
        )
        assert verify["facts"]["port"] == server.port
        trusted = _check(registry, "--ca-file", str(ca_file))
        assert trusted.code == 0, trusted.stdout[-3000:]
        blob = next(o for o in trusted.observations() if o["kind"] == "image.blob")
        assert blob["ok"] is True and blob["facts"]["outcome"] == "reached"
    finally:
        server.stop()
