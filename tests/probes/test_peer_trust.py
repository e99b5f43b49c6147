"""The token realm's certificate is checked against the *registry's* trust: its
certs.d directory (and ``--ca-file``), not one named after the realm's host. The
runtimes fetch the token with the registry's own HTTP client (moby v20.10.24
distribution/registry.go, containerd v1.6.20 remotes/docker/config/hosts.go, containers/
image v5.23.1 docker/docker_client.go); the runtime table's
``token-realm-ca-beside-registry-ca``: docker, the CRI and podman pull with the realm's CA
only beside the registry's. Real testbed: an HTTP registry whose realm is TLS from the
testbed CA, which no system store holds.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from regdoctor.check.plan import plan
from regdoctor.check.request import CheckRequest
from regdoctor.model import Secret
from tests.harness.testbed import PASSWORD, USERNAME, Testbed


def _realm_verify(testbed: Testbed, root: Path) -> dict[str, object]:
    hostport = testbed.endpoints["token"].hostport
    report = asyncio.run(
        plan(
            CheckRequest(
                targets=("http://" + testbed.images.app.ref(hostport),),
                username=USERNAME,
                password=Secret(PASSWORD),
                runtime="docker",
                root=str(root),
                dns_server=testbed.dns_server,
            )
        ).run()
    )
    observations = report.targets[0].observations
    verify = next(o for o in observations if o.kind == "tls.verify" and o.facts["role"] == "realm")
    return {"ok": verify.ok, **verify.facts}


def test_the_realm_ca_beside_the_registrys_is_trusted(
    testbed: Testbed, isolate_env: object, tmp_path: Path
) -> None:
    hostport = testbed.endpoints["token"].hostport
    certs = tmp_path / "etc" / "docker" / "certs.d" / hostport
    certs.mkdir(parents=True)
    shutil.copyfile(testbed.ca_file, certs / "realm-ca.crt")
    verify = _realm_verify(testbed, tmp_path)
    assert verify["ok"] is True, verify
    assert any(str(certs / "realm-ca.crt") in str(s) for s in verify["ca_sources"]), verify


def test_the_realm_ca_in_a_directory_named_after_the_realm_is_not(
    testbed: Testbed, isolate_env: object, tmp_path: Path
) -> None:
    realm = testbed.endpoints["token"].realm
    assert realm is not None
    realm_hostport = realm.split("://", 1)[1].split("/", 1)[0]
    certs = tmp_path / "etc" / "docker" / "certs.d" / realm_hostport
    certs.mkdir(parents=True)
    shutil.copyfile(testbed.ca_file, certs / "ca.crt")
    verify = _realm_verify(testbed, tmp_path)
    assert verify["ok"] is False and verify["reason"] == "unknown_authority", verify
