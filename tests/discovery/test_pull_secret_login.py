"""`check` logs in with a workload's imagePullSecret, as the kubelet would, against the
real basic-auth registry: a secret with the right password passes, a stale one is
`auth.unauthorized`, and the password never appears in any output."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.testbed import PASSWORD, USERNAME, Testbed

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  template:
    spec:
      imagePullSecrets: [{{name: regcred}}]
      containers:
        - name: web
          image: {image}
"""


def _secret(hostport: str, password: str) -> str:
    auth = base64.b64encode(f"{USERNAME}:{password}".encode()).decode()
    config = {"auths": {hostport: {"auth": auth}}}
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    return (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred, namespace: shop}\n"
        f"type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {encoded}\n"
    )


def _check(testbed: Testbed, tmp_path: Path, password: str) -> tuple[int, dict, str]:
    endpoint = testbed.endpoints["tls_basic"]
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    image = testbed.images.app.ref(endpoint.hostport)
    (manifests / "deploy.yaml").write_text(DEPLOYMENT.format(image=image))
    (manifests / "secret.yaml").write_text(_secret(endpoint.hostport, password))
    (tmp_path / "root").mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "regdoctor",
            "check",
            "--format",
            "json",
            "--debug",
            "--root",
            str(tmp_path / "root"),
            "--runtime",
            "kubernetes",
            "--kube-manifests",
            str(manifests),
            "--ca-file",
            str(testbed.ca_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout), proc.stdout + proc.stderr


@pytest.mark.parametrize(("password", "code"), [(PASSWORD, 0), ("stale-password", 2)])
def test_check_logs_in_with_the_pull_secret(testbed, tmp_path, password, code):
    exit_code, document, everything = _check(testbed, tmp_path, password)
    assert exit_code == code, document["findings"]
    registry = next(
        t for t in document["targets"] if t["spec"].get("kind", "registry") == "registry"
    )
    auth = next(o for o in registry["observations"] if o["kind"] == "auth.result")
    assert auth["facts"]["has_credentials"] is True
    assert "shop/regcred" in auth["facts"]["credential_source"]
    if code:
        assert document["findings"][0]["category"] == "auth.unauthorized"
        assert auth["facts"]["outcome"] == "rejected_credentials"
    assert password not in everything
    pair = base64.b64encode(f"{USERNAME}:{password}".encode()).decode()
    assert pair not in everything
