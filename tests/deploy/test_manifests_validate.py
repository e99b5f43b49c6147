"""Every Kubernetes manifest in deploy/kubernetes validates against the Kubernetes API
schemas of each version regdoctor supports (strict: no unknown field), offline, with the
schemas ``kubernetes-validate`` bundles. The Prometheus Operator's kinds have no schema
there: the PrometheusRule is checked by ``promtool`` (test_prometheus_rules.py), both by
tests/deploy/test_k8s_manifests.py."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
#: The versions docs/deploy.md promises: the oldest still common in managed offerings
#: to the newest the bundled schemas know.
SUPPORTED = [f"1.{minor}.0" for minor in range(29, 38)]
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}  # monitoring.coreos.com/v1
KUSTOMIZE_KINDS = {"Kustomization"}


def documents(folder: Path = DEPLOY) -> list[tuple[str, dict]]:
    out = []
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            out.append((path.name, doc))
    return out


def kubernetes_documents() -> list[tuple[str, dict]]:
    return [(n, d) for n, d in documents() if d["kind"] not in CRD_KINDS | KUSTOMIZE_KINDS]


def credentials_daemonset() -> dict:
    """The DaemonSet with deploy/kubernetes/credentials' strategic-merge patch applied, as
    kustomize merges it: lists of named items merge by name, maps merge, scalars replace."""
    (base,) = [d for _, d in documents() if d["kind"] == "DaemonSet"]
    (patch,) = [d for _, d in documents(DEPLOY / "credentials") if d["kind"] == "DaemonSet"]
    return merge(copy.deepcopy(base), patch)


def merge(base, patch):
    if isinstance(base, dict) and isinstance(patch, dict):
        for key, value in patch.items():
            base[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return base
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in base + patch)
    ):
        by_name = {item["name"]: item for item in base}
        for item in patch:
            if item["name"] in by_name:
                merge(by_name[item["name"]], item)
            else:
                base.append(copy.deepcopy(item))
        return base
    return copy.deepcopy(patch)


@pytest.mark.parametrize("version", SUPPORTED)
def test_every_manifest_validates_strictly(version):
    docs = kubernetes_documents()
    assert {d["kind"] for _, d in docs} == {"Namespace", "DaemonSet", "Service"}
    for name, doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name} ({doc['kind']}) is invalid for Kubernetes {version}: {exc}")
    kubernetes_validate.validate(credentials_daemonset(), version, strict=True)


def test_an_invalid_manifest_is_rejected():
    """The validator is not a no-op: a misspelt field fails in strict mode."""
    (ds,) = [d for _, d in kubernetes_documents() if d["kind"] == "DaemonSet"]
    broken = copy.deepcopy(ds)
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFs"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, SUPPORTED[-1], strict=True)


def test_credentials_are_opt_in_and_only_there():
    (ds,) = [d for _, d in kubernetes_documents() if d["kind"] == "DaemonSet"]
    paths = {
        v["hostPath"]["path"] for v in ds["spec"]["template"]["spec"]["volumes"] if "hostPath" in v
    }
    assert paths == {
        "/etc/docker",
        "/etc/containerd",
        "/etc/containers",
        "/var/lib/kubelet/config.yaml",
    }
    container = ds["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["runAsUser"] != 0
    opted = credentials_daemonset()
    pod = opted["spec"]["template"]["spec"]
    assert {v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v} == paths | {
        "/root/.docker"
    }
    (c,) = pod["containers"]
    assert all(m.get("readOnly") for m in c["volumeMounts"] if m["name"] != "tmp")
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    overlay = yaml.safe_load((DEPLOY / "credentials" / "kustomization.yaml").read_text())
    assert overlay["resources"] == [".."]
    assert [p["path"] for p in overlay["patches"]] == ["daemonset-credentials.yaml"]
