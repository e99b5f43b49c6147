"""A pull secret whose account may not pull (the real token registry ``token_less``
grants it nothing): image-access-denied's kubernetes fix edits the Secret the workload
names, in its namespace, at the entry the kubelet used; never a guessed ``regcred``, never
a delete. The password of the secret is in no output format."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from tests.harness.testbed import PASSWORD, USERNAME, Testbed

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: ci}}
spec:
  template:
    spec:
      imagePullSecrets: [{{name: team-pull}}]
      containers:
        - name: web
          image: {image}
"""


def _secret(key: str) -> str:
    auth = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    encoded = base64.b64encode(json.dumps({"auths": {key: {"auth": auth}}}).encode()).decode()
    return (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: team-pull, namespace: ci}\n"
        f"type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {encoded}\n"
    )


def _check(testbed: Testbed, tmp_path: Path, fmt: str) -> str:
    endpoint = testbed.endpoints["token_less"]
    manifests = tmp_path / "manifests"
    if not manifests.exists():
        manifests.mkdir()
        image = testbed.images.app.ref(endpoint.hostport)
        (manifests / "deploy.yaml").write_text(DEPLOYMENT.format(image=image))
        # the key as an old docker login wrote it: the fix must edit that entry
        (manifests / "secret.yaml").write_text(_secret(f"http://{endpoint.hostport}/v1/"))
        (tmp_path / "root").mkdir()
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "regdoctor", "check", "--format", fmt),
            *("--root", str(tmp_path / "root"), "--runtime", "kubernetes"),
            *("--kube-manifests", str(manifests), "--ca-file", str(testbed.ca_file)),
            testbed.images.app.ref(endpoint.hostport),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_the_denied_account_s_fix_edits_the_pod_s_own_secret(testbed, tmp_path):
    hostport = testbed.endpoints["token_less"].hostport
    document = json.loads(_check(testbed, tmp_path, "json"))
    (finding,) = [f for f in document["findings"] if f["rule"] == "image-access-denied"]
    command = finding["remediation"][0]["commands"]["kubernetes"]
    assert "kubectl get secret team-pull -n ci -o json" in command
    assert f"' http://{hostport}/v1/ | kubectl apply -f -" in command
    assert "regcred" not in command and "delete" not in command
    assert "NAMESPACE" not in command and "SECRET" not in command
    assert "team-pull -n ci" in finding["remediation"][0]["checks"]["kubernetes"]


def test_no_output_format_shows_the_pull_secret_s_password(testbed, tmp_path):
    pair = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    for fmt in ("json", "plain", "markdown"):
        output = _check(testbed, tmp_path, fmt)
        assert "image-access-denied" in output or "denied" in output.lower(), fmt
        assert PASSWORD not in output, fmt
        assert pair not in output, fmt


def test_no_output_format_shows_a_rejected_login_s_password(testbed, tmp_path):
    """--password-stdin with a wrong password (the real basic-auth registry refuses it):
    every runtime's login fix (ctr's under script, kubectl's from stdin) and every
    format keep the password out."""
    wrong = "Wr0ng-pw-5ecret"
    endpoint = testbed.endpoints["tls_basic"]
    image = testbed.images.app.ref(endpoint.hostport)
    (tmp_path / "root").mkdir()
    pair = base64.b64encode(f"{USERNAME}:{wrong}".encode()).decode()
    for fmt in ("json", "plain", "markdown"):
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "regdoctor", "check", "--format", fmt),
                *("--root", str(tmp_path / "root"), "--ca-file", str(testbed.ca_file)),
                *("--runtime", "all"),
                *("--username", USERNAME, "--password-stdin", image),
            ],
            input=wrong + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode == 2, output
        if fmt == "json":
            (finding,) = [
                f
                for f in json.loads(proc.stdout)["findings"]
                if f["rule"] == "auth-rejected-credentials"
            ]
            commands = finding["remediation"][0]["commands"]
            assert "script -qe -E never" in commands["containerd"]
            assert "--from-file" not in commands["kubernetes"]  # the pod's secret is edited
        assert wrong not in output, fmt
        assert pair not in output, fmt


def test_a_pod_secret_without_the_registry_gets_the_entry(testbed, tmp_path):
    """The workload's imagePullSecret ``team-pull`` (namespace ``ci``) has an entry for
    another registry only: the kubelet pulls anonymously and passes none of the service
    account's secrets (the pod names its own), so the credentials fix adds the entry to
    team-pull, in ci (``pod_secret_unmatched`` now covers ``no_entry``), instead of a new
    Secret on the service account. The other entry's password shows in no format."""
    endpoint = testbed.endpoints["tls_basic"]
    image = testbed.images.app.ref(endpoint.hostport)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "deploy.yaml").write_text(DEPLOYMENT.format(image=image))
    (manifests / "secret.yaml").write_text(_secret("other.test"))
    (tmp_path / "root").mkdir()
    pair = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    for fmt in ("json", "plain", "markdown"):
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "regdoctor", "check", "--format", fmt),
                *("--root", str(tmp_path / "root"), "--runtime", "kubernetes"),
                *("--kube-manifests", str(manifests), "--ca-file", str(testbed.ca_file)),
                image,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode == 2, output
        assert PASSWORD not in output and pair not in output, fmt
        if fmt != "json":
            continue
        (finding,) = [
            f
            for f in json.loads(proc.stdout)["findings"]
            if f["rule"] == "auth-missing-credentials"
        ]
        command = finding["remediation"][0]["commands"]["kubernetes"]
        assert "kubectl get secret team-pull -n ci -o json" in command, command
        assert f"' {endpoint.hostport} | kubectl apply -f -" in command, command
        assert "kubectl create" not in command and "serviceaccount" not in command
        assert "NEW_SECRET" not in command and "NAMESPACE" not in command


def test_a_pod_without_a_pull_secret_gets_one_on_its_own_service_account(testbed, tmp_path):
    """Review of h-fixcmd3: a workload that names no imagePullSecret pulls with its
    service account's secrets; the credentials fix patched ``serviceaccount default``
    whatever the pod's ``serviceAccountName``, and for any other account the new Secret
    was never used. It now patches the pod's own account, in the pod's namespace."""
    endpoint = testbed.endpoints["tls_basic"]
    image = testbed.images.app.ref(endpoint.hostport)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: ci}\n"
        "spec:\n  template:\n    spec:\n      serviceAccountName: builder\n"
        f"      containers:\n        - name: web\n          image: {image}\n"
    )
    (tmp_path / "root").mkdir()
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
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (finding,) = [
        f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "auth-missing-credentials"
    ]
    command = finding["remediation"][0]["commands"]["kubernetes"]
    assert "kubectl patch serviceaccount builder -n ci" in command, command
    assert "serviceaccount default" not in command
