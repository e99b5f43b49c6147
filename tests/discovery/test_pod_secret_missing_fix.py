"""A pod that names an imagePullSecret its namespace does not have (the manifests hold
the namespace's other Secrets): the kubelet pulls without credentials, and passes none
of the service account's for a pod that names its own. k8s-pull-secret-missing's fix
creates that Secret; auth-missing-credentials' kubernetes fix created another one
(``NEW_SECRET``) and attached it to the service account, which changes no pull, and
under the pod's name it made k8s-pull-secret-missing's fail "already exists" (runtime
table: scenario fixcov-pod-secret-missing). Likewise for a Secret the kubelet cannot
read (type ``Opaque``: k8s-pull-secret-malformed recreates it; fixcov-pod-secret-opaque).
Now it defers to that fix. Against the
real basic-auth registry of the testbed."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.testbed import Testbed

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: ci}}
spec:
  imagePullSecrets: [{{name: team-pull}}]
  containers:
    - name: web
      image: {image}
"""


def _secret(name: str, kind: str, host: str) -> str:
    auth = base64.b64encode(b"someone:other-pw").decode()
    config = {"auths": {host: {"auth": auth}}}
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: ci}}\n"
        f"type: {kind}\ndata:\n  .dockerconfigjson: {encoded}\n"
    )


@pytest.mark.parametrize(
    ("secret", "rule"),
    [
        # the namespace's one Secret is for another registry: team-pull is missing
        (("other-pull", "kubernetes.io/dockerconfigjson", "other.test"), "k8s-pull-secret-missing"),
        # team-pull is an Opaque Secret (kubectl create secret generic without --type):
        # the kubelet reads only dockerconfigjson and dockercfg Secrets
        (("team-pull", "Opaque", "HOST"), "k8s-pull-secret-malformed"),
    ],
)
def test_the_unusable_secret_is_created_once(
    testbed: Testbed, tmp_path: Path, secret: tuple[str, str, str], rule: str
) -> None:
    endpoint = testbed.endpoints["tls_basic"]
    image = testbed.images.app.ref(endpoint.hostport)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "pod.yaml").write_text(POD.format(image=image))
    name, kind, host = secret
    (manifests / "secret.yaml").write_text(
        _secret(name, kind, endpoint.hostport if host == "HOST" else host)
    )
    # containerd 1.6 speaks plain HTTP to a loopback registry no hosts.toml names
    config = tmp_path / "root/etc/containerd/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n'
    )
    hosts = tmp_path / f"root/etc/containerd/certs.d/{endpoint.hostport}/hosts.toml"
    hosts.parent.mkdir(parents=True)
    hosts.write_text(
        f'server = "https://{endpoint.hostport}"\n\n[host."https://{endpoint.hostport}"]\n'
        '  capabilities = ["pull", "resolve"]\n'
    )
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "regdoctor", "check", "--format", "json"),
            *("--root", str(tmp_path / "root"), "--runtime", "kubernetes"),
            *("--kube-manifests", str(manifests), "--ca-file", str(testbed.ca_file)),
            image,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    document = json.loads(proc.stdout)
    errors = {f["rule"]: f for f in document["findings"] if f["severity"] == "error"}
    assert rule in errors, sorted(errors)
    creating = [
        rule
        for rule, finding in errors.items()
        for step in finding["remediation"]
        if "kubectl create secret" in step["commands"].get("kubernetes", "")
    ]
    assert creating == [rule], creating
    command = errors[rule]["remediation"][0]["commands"]["kubernetes"]
    assert "kubectl create secret generic team-pull -n ci" in command
    missing = errors["auth-missing-credentials"]["remediation"][0]["commands"]["kubernetes"]
    assert "serviceaccount" not in missing and "team-pull" in missing
