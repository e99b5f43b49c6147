"""deploy/kubernetes: parsed, required fields present, consistent with the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from regdoctor import __version__
from regdoctor.cli.main import build_parser
from regdoctor.render.prometheus import METRICS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
EXPORTER_METRICS = {"regdoctor_checks_total", "regdoctor_last_check_timestamp_seconds"}


def manifests() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            assert isinstance(doc, dict), path
            assert {"apiVersion", "kind"} <= set(doc), path
            if doc["kind"] != "Kustomization":
                assert doc["metadata"]["name"], path
            out[doc["kind"]] = doc
    return out


def test_every_resource_is_there_and_listed():
    docs = manifests()
    assert set(docs) == {
        "Namespace",
        "DaemonSet",
        "Service",
        "ServiceMonitor",
        "PrometheusRule",
        "Kustomization",
    }
    listed = set(docs["Kustomization"]["resources"])
    assert listed == {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    namespaces = {
        d["metadata"].get("namespace")
        for k, d in docs.items()
        if k not in ("Namespace", "Kustomization")
    }
    assert namespaces == {docs["Namespace"]["metadata"]["name"]}


def test_daemonset_host_network_read_only_mounts_and_cli_args():
    ds = manifests()["DaemonSet"]
    assert ds["apiVersion"] == "apps/v1"
    pod = ds["spec"]["template"]["spec"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pod["hostNetwork"] is True
    (container,) = pod["containers"]
    image, _, tag = container["image"].rpartition(":")
    assert image and tag == __version__, "the image tag follows the package version"

    volumes = {v["name"]: v for v in pod["volumes"]}
    env = {e["name"]: e for e in container["env"]}
    root = env["REGDOCTOR_CONFIG_ROOT"]["value"]
    host_mounts = [m for m in container["volumeMounts"] if "hostPath" in volumes[m["name"]]]
    assert {m["mountPath"] for m in host_mounts} >= {
        f"{root}/etc/docker",
        f"{root}/etc/containerd",
        f"{root}/etc/containers",
    }
    for mount in host_mounts:
        assert mount.get("readOnly") is True, mount
        assert mount["mountPath"] == root + volumes[mount["name"]]["hostPath"]["path"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True

    # The args are what `regdoctor` itself accepts (after Kubernetes expands $(VAR)).
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    argv = [re.sub(r"\$\((\w+)\)", "198.51.100.23", a) for a in container["args"]]
    args = build_parser().parse_args(argv)
    assert args.command == "serve"
    assert args.listen == ("198.51.100.23", container["ports"][0]["containerPort"])
    assert args.targets, "some registries to check"
    from regdoctor.reference.targets import parse_target

    for target in args.targets:
        parse_target(target)
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
        assert container[probe]["httpGet"]["port"] == container["ports"][0]["name"]
    assert pod["terminationGracePeriodSeconds"] > args.deadline


def test_service_and_servicemonitor_select_the_exporter():
    docs = manifests()
    pod_labels = docs["DaemonSet"]["spec"]["template"]["metadata"]["labels"]
    service = docs["Service"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    port_names = {
        p["name"] for p in docs["DaemonSet"]["spec"]["template"]["spec"]["containers"][0]["ports"]
    }
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in port_names
    monitor = docs["ServiceMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == port["name"] and endpoint["path"] == "/metrics"


def test_alert_rules_use_real_metrics_and_labels():
    rule = manifests()["PrometheusRule"]
    rules = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    exprs = " ".join(str(r["expr"]) for r in rules)
    used = set(re.findall(r"\bregdoctor_[a-z_]+", exprs))
    assert used <= set(METRICS) | EXPORTER_METRICS, used - set(METRICS) - EXPORTER_METRICS
    assert {"regdoctor_probe_success", "regdoctor_finding"} <= used
    known_labels = {name for _, _, labels in METRICS.values() for name in labels} | {"node"}
    for r in rules:
        assert {"alert", "expr", "labels", "annotations"} <= set(r), r
        for group in re.findall(r"(?:by|on)\s*\(([^)]*)\)", str(r["expr"])):
            assert {part.strip() for part in group.split(",")} <= known_labels, r["alert"]
        for label in re.findall(r"\$labels\.(\w+)", str(r["annotations"])):
            assert label in known_labels, (r["alert"], label)
