"""The ``tls.hostname_mismatch`` fix for a registry addressed by IP, applied against a
real client: a registry serves a certificate without an IP SAN, skopeo (trusting the
test CA) refuses it, the remediation's certificate commands are run as regdoctor prints
them, the registry is restarted with the new certificate, and skopeo pulls."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import procs
from tests.harness.pki import CertKey
from tests.harness.registry import Registry, RegistryOptions
from tests.harness.skopeo import run_skopeo
from tests.harness.testbed import Testbed
from tests.scenarios.test_check_scenarios import regdoctor


@pytest.fixture
def ip_registry(testbed: Testbed, tmp_path: Path) -> Iterator[Registry]:
    """A registry on 127.0.0.1 whose certificate names only ``wrong-name.test``."""
    storage = tmp_path / "storage"
    shutil.copytree(testbed.storage_root, storage)
    leaf = testbed.pki.leaves["wrong_host"]
    registry = Registry("ip-san", tmp_path / "registry", storage, RegistryOptions(tls=leaf))
    registry.start()
    try:
        procs.poll_all({"ip-san registry": registry.check_ready}, timeout_s=20.0)
        yield registry
    finally:
        registry.stop()


def _skopeo_pull(image: str, cert_dir: Path) -> subprocess.CompletedProcess[str]:
    """``skopeo inspect``: the manifest and the image's config blob, verified TLS."""
    return run_skopeo(
        ["inspect", f"docker://{image}"], tls_verify=True, cert_dir=cert_dir, timeout_s=10
    )


def test_the_ip_san_fix_works_as_written(testbed: Testbed, ip_registry: Registry, tmp_path):
    cert_dir = testbed.make_cert_dir(tmp_path / "certs")
    image = testbed.images.app.ref(f"127.0.0.1:{ip_registry.port}")
    before = _skopeo_pull(image, cert_dir)
    assert before.returncode != 0
    assert "doesn't contain any IP SANs" in before.stderr, before.stderr

    result = regdoctor("--runtime", "podman", "--ca-file", str(testbed.ca_file), image)
    assert result.leading["category"] == "tls.hostname_mismatch", result.categories
    (step,) = [s for s in result.leading["remediation"] if s.get("commands")]
    assert "IP SAN" in step["text"]
    commands = step["commands"]["podman"]
    assert "subjectAltName = IP:" in commands

    # where the CA's files are, as the step says; the commands run as printed
    work = tmp_path / "reissue"
    work.mkdir()
    shutil.copy(testbed.pki.ca_file, work / "ca.crt")
    shutil.copy(testbed.pki.ca_key, work / "ca.key")
    run = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", commands],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "IP Address:127.0.0.1" in run.stdout, run.stdout

    ip_registry.restart(
        RegistryOptions(tls=CertKey(cert=work / "registry.crt", key=work / "registry.key"))
    )
    procs.poll_all({"ip-san registry, new certificate": ip_registry.check_ready}, 20.0)
    image = testbed.images.app.ref(f"127.0.0.1:{ip_registry.port}")
    after = _skopeo_pull(image, cert_dir)
    assert after.returncode == 0, after.stderr
    assert '"Digest"' in after.stdout
    fixed = regdoctor("--runtime", "podman", "--ca-file", str(testbed.ca_file), image)
    assert fixed.code == 0, fixed.categories
