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
import shutil
import ssl
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


def _check(reg: Registry, *extra: str, runtime: str = "docker") -> Run:
    args = ["check", "--format", "json", "--timeout", "3", "--runtime", runtime, *extra]
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


def _containerd_root(tmp_path: Path, reg: Registry, *cas: Path) -> Path:
    """A --root where containerd's hosts.toml names the registry over http:// (and
    CAS as its ``ca``): the host's client verifies an https:// redirect."""
    hostport = f"127.0.0.1:{reg.port}"
    directory = tmp_path / "root" / "etc/containerd/certs.d" / hostport
    directory.mkdir(parents=True)
    ca = "".join(f'  ca = "{c}"\n' for c in cas)
    (directory / "hosts.toml").write_text(
        f'server = "http://{hostport}"\n\n[host."http://{hostport}"]\n'
        f'  capabilities = ["pull", "resolve"]\n{ca}'
    )
    return tmp_path / "root"


def _storage_verify(result: Run) -> dict:  # type: ignore[type-arg]
    return next(
        o
        for o in result.observations()
        if o["kind"] == "tls.verify" and o["facts"]["role"] == "storage"
    )


def test_storage_certificate_judged_per_runtime(registry: Registry, tmp_path: Path) -> None:
    """The storage host's certificate is judged per runtime, as each follows the
    redirect: dockerd skips verification for an insecure registry (127.0.0.0/8 is one by
    default), the redirect included (moby v20.10.24 registry/registry.go newTLSConfig:
    InsecureSkipVerify on the endpoint's TLS configuration, which the redirect uses), so
    docker pulls; containerd's host client (hosts.toml ``server = "http://..."``) verifies
    it and fails, unless --ca-file trusts it."""
    server, ca_file = _storage_tls(tmp_path, registry.storage_root)
    try:
        _redirect(registry, f"https://127.0.0.1:{server.port}")
        docker = _check(registry)
        where = docker.stdout[-3000:] + docker.stderr[-1000:]
        assert docker.code == 0, where
        assert "tls-storage-unknown-authority" not in docker.rules, where
        verify = _storage_verify(docker)
        assert verify["facts"]["reason"] == "unknown_authority", where
        assert verify["ok"] is True and verify["facts"]["runtimes"] == [], where
        assert verify["facts"]["skip_verify_by"] == ["docker"], where
        assert verify["facts"]["port"] == server.port

        root = ["--root", str(_containerd_root(tmp_path, registry))]
        containerd = _check(registry, *root, runtime="containerd")
        where = containerd.stdout[-3000:] + containerd.stderr[-1000:]
        assert containerd.code == 2, where
        rule = "tls-storage-unknown-authority"
        finding = next(f for f in containerd.findings if f["rule"] == rule)
        assert finding["runtimes"] == ["containerd"], where
        assert _storage_verify(containerd)["facts"]["runtimes"] == ["containerd"]
        trusted = _check(registry, *root, "--ca-file", str(ca_file), runtime="containerd")
        assert trusted.code == 0, trusted.stdout[-3000:]
        blob = next(o for o in trusted.observations() if o["kind"] == "image.blob")
        assert blob["ok"] is True and blob["facts"]["outcome"] == "reached"
    finally:
        server.stop()


def _tls_leaf(tmp_path: Path, ca: object, stem: str):  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC)
    return harness_pki._save_pair(
        tmp_path,
        stem,
        harness_pki._make_leaf(
            ca,  # type: ignore[arg-type]
            "127.0.0.1",
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=365),
        ),
    )


def test_storage_ca_in_containerds_certs_d_without_hosts_toml(tmp_path: Path) -> None:
    """containerd without a hosts.toml reads every ``*.crt`` of the registry's certs.d
    directory (v1.6.20 remotes/docker/config/hosts.go loadHostDir -> loadCertFiles) into
    the client that also follows the blob redirect: a storage CA there is trusted by
    containerd and the CRI, while podman, whose certs.d has only the registry's CA,
    fails; the finding names podman only."""
    ca = harness_pki._make_ca("registry test CA")
    ca_file = harness_pki.write_cert(ca.cert, tmp_path / "ca.crt")
    reg = Registry(
        "blob-tls",
        tmp_path / "registry",
        tmp_path / "storage",
        RegistryOptions(tls=_tls_leaf(tmp_path, ca, "registry")),
    )
    reg.start()
    server = None
    try:
        wait_all_ready([reg])
        context = ssl.create_default_context(cafile=str(ca_file))
        with httpx.Client(base_url=reg.url, timeout=10.0, trust_env=False, verify=context) as c:
            Pusher(c).image("team/app", "1.2", "/app")
        server, storage_ca = _storage_tls(tmp_path, reg.storage_root)
        _redirect(reg, f"https://127.0.0.1:{server.port}")
        hostport = f"127.0.0.1:{reg.port}"
        root = tmp_path / "root"
        for base in ("containerd", "containers"):
            (root / "etc" / base / "certs.d" / hostport).mkdir(parents=True)
            shutil.copyfile(ca_file, root / "etc" / base / "certs.d" / hostport / "ca.crt")
        shutil.copyfile(storage_ca, root / "etc/containerd/certs.d" / hostport / "storage-ca.crt")
        args = ["check", "--format", "json", "--timeout", "3", "--root", str(root)]
        both = run([*args, "--runtime", "all", f"{hostport}/team/app:1.2"])
        where = both.stdout[-4000:] + both.stderr[-1000:]
        verify = _storage_verify(both)
        assert verify["facts"]["trusted_by"]["containerd"] is True, where
        assert verify["facts"]["trusted_by"]["podman"] is False, where
        verdicts = both.document["targets"][0]["runtimes"]
        # (containerd speaks plain HTTP to a loopback registry: the runtime table's
        # blob-storage-ca-in-containerd-certs-d has its pull over TLS)
        assert verdicts["podman"]["status"] == "error", where
        assert verdicts["docker"]["status"] == "ok", where  # 127.0.0.0/8: insecure
        finding = next(f for f in both.findings if f["rule"] == "tls-storage-unknown-authority")
        assert finding["runtimes"] == ["podman"], where
    finally:
        if server is not None:
            server.stop()
        reg.stop()


def test_storage_reached_through_a_proxy_is_not_contacted(registry: Registry) -> None:
    """A storage host HTTPS_PROXY applies to is reached by the proxy, not by this
    machine: nothing is contacted (no DNS, no TCP), the outcome says so, and the
    variable that chose the proxy is a fact (the registry on loopback goes direct).
    (Before, the look said "reached" without contacting anything.)"""
    import os

    _redirect(registry, "https://storage.invalid:9443")
    # ctr pulls in the shell's own environment (the daemons' units have none here)
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    args = ["check", "--format", "json", "--timeout", "3", "--runtime", "containerd"]
    result = run([*args, f"127.0.0.1:{registry.port}/team/app:1.2"], env=env)
    blob = next(o for o in result.observations() if o["kind"] == "image.blob")
    where = str(blob)
    assert blob["ok"] is True and blob["facts"]["outcome"] == "via_proxy", where
    assert blob["facts"]["via_proxy_env"] == "HTTPS_PROXY", where
    assert blob["facts"]["via_proxy"] == "http://127.0.0.1:9", where
    assert not [o for o in result.observations() if o["facts"].get("role") == "storage"]


@pytest.mark.parametrize(
    ("host", "registry", "same"),
    [
        ("storage.registry.example", "registry.example", True),
        ("registry.example", "registry.example", True),  # another port: still the host
        ("REGISTRY.example.", "registry.example", True),
        ("s3.example", "registry.example", False),
        ("evilregistry.example", "registry.example", False),
        ("192.0.2.7", "192.0.2.7", True),
        ("198.51.100.7", "192.0.2.7", False),
    ],
)
def test_same_domain_is_where_go_keeps_the_authorization_header(
    host: str, registry: str, same: bool
) -> None:
    """Go's http.Client keeps Authorization on a redirect to the same host or a
    subdomain (net/http isDomainOrSubdomain): containerd and podman send the registry's
    token to such a storage host (fact same_domain)."""
    from regdoctor.probes.blob_storage import _same_domain

    assert _same_domain(host, registry) is same
