"""The ``kubernetes`` verdict of a command-line image authenticates as the kubelet
would (real basic-auth registry): with the workload's imagePullSecret (the CRI
``AuthConfig``), else containerd's ``registry.configs."<host>".auth``, which the CRI
plugin 1.6 uses with or without ``config_path``; never ``~/.docker/config.json``.
tests/scenarios/runtimes (cri-pull-secret-*, cri-configs-auth-with-config-path) checks
the same against the real CRI plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.discovery.test_pull_secret_login import DEPLOYMENT, _secret
from tests.harness.testbed import PASSWORD, USERNAME, Testbed


def _check(testbed: Testbed, root: Path, *extra: str) -> tuple[int, dict, str]:
    endpoint = testbed.endpoints["tls_basic"]
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "regdoctor", "check", "--format", "json"),
            *("--root", str(root), "--runtime", "kubernetes"),
            *("--ca-file", str(testbed.ca_file), *extra),
            testbed.images.app.ref(endpoint.hostport),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout), proc.stdout + proc.stderr


def _node(root: Path, hostport: str, ca_file: Path, auth: bool = False) -> Path:
    """config.toml with config_path (and ``configs.auth``), and a hosts.toml: containerd
    would dial a loopback registry with plain HTTP by default."""
    config = root / "etc/containerd/config.toml"
    config.parent.mkdir(parents=True)
    text = (
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n'
    )
    if auth:
        text += (
            f'[plugins."io.containerd.grpc.v1.cri".registry.configs."{hostport}".auth]\n'
            f'  username = "{USERNAME}"\n  password = "{PASSWORD}"\n'
        )
    config.write_text(text)
    hosts = root / f"etc/containerd/certs.d/{hostport}/hosts.toml"
    hosts.parent.mkdir(parents=True, exist_ok=True)
    (hosts.parent / "ca.crt").write_bytes(ca_file.read_bytes())
    hosts.write_text(
        f'server = "https://{hostport}"\n\n[host."https://{hostport}"]\n'
        '  capabilities = ["pull", "resolve"]\n'
        f'  ca = "/etc/containerd/certs.d/{hostport}/ca.crt"\n'
    )
    return config


def _auth(document: dict) -> dict:
    target = document["targets"][0]
    return next(o for o in target["observations"] if o["kind"] == "auth.result")["facts"]


def test_the_image_is_checked_with_the_workloads_pull_secret(testbed, tmp_path):
    endpoint = testbed.endpoints["tls_basic"]
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    image = testbed.images.app.ref(endpoint.hostport)
    (manifests / "deploy.yaml").write_text(DEPLOYMENT.format(image=image))
    (manifests / "secret.yaml").write_text(_secret(endpoint.hostport, PASSWORD))
    _node(tmp_path / "root", endpoint.hostport, testbed.ca_file)
    code, document, everything = _check(
        testbed, tmp_path / "root", "--kube-manifests", str(manifests)
    )
    assert code == 0, document["findings"]
    assert document["targets"][0]["runtimes"]["kubernetes"]["status"] == "ok"
    assert "shop/regcred" in _auth(document)["credential_source"]
    assert PASSWORD not in everything


def test_the_cri_registry_configs_auth_is_used(testbed, tmp_path):
    hostport = testbed.endpoints["tls_basic"].hostport
    config = _node(tmp_path / "root", hostport, testbed.ca_file, auth=True)
    code, document, everything = _check(testbed, tmp_path / "root")
    # warnings about the file only: the password in plain text, the deprecated table
    assert code == 1, document["findings"]
    assert document["targets"][0]["runtimes"]["kubernetes"]["status"] == "ok"
    facts = _auth(document)
    assert facts["has_credentials"] is True
    assert f'registry.configs."{hostport}".auth' in facts["credential_source"]
    assert PASSWORD not in everything
    # docker's login is not the kubelet's
    config.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n'
    )
    docker = tmp_path / "root/root/.docker/config.json"
    docker.parent.mkdir(parents=True)
    docker.write_text(json.dumps({"auths": {hostport: {"auth": "dGVzdGVyOnMzY3JldA=="}}}))
    code, document, _ = _check(testbed, tmp_path / "root")
    assert code == 2
    assert document["targets"][0]["runtimes"]["kubernetes"]["status"] == "error"
