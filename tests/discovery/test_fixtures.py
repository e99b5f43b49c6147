"""The fixture trees under fixtures/config/: the healthy one gives no warning or error,
each broken one gives the finding it is about (rules over real file shapes, no network),
and `regdoctor config` shows every source with provenance, in plain and JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from regdoctor.discovery.effective import discover
from regdoctor.engine import evaluate, load_catalog
from tests.discovery.helpers import ANSWERING, fixture_paths, write_helper

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "config"
CATALOG = load_catalog()

#: tree -> rule ids that must fire (warning or error) and nothing else above info.
EXPECTED: dict[str, set[str]] = {
    "healthy": set(),
    "daemon-trailing-comma": {"config-invalid"},
    "creds-store-desktop": {"config-credential-store-stale"},
    "insecure-with-scheme": {
        "config-insecure-registry-scheme",
        "config-insecure-registry-path",
        "config-invalid",
    },
    "mirror-with-path": {"mirror-path", "config-invalid"},  # dockerd 20.10 will not start
    "containerd-mirrors-and-config-path": {"config-invalid", "mirror-legacy-shadowed"},
    "containerd-hosts-not-read": {"mirror-hosts-not-read"},
    "hosts-toml-typo": {"config-warnings", "mirror-no-pull-capability"},
    "hosts-toml-invalid": {"config-invalid"},
    "registries-conf-mixed": {"config-invalid"},
    "plaintext-auth": {"config-plaintext-credentials", "config-invalid"},
    "kubelet-parallel": {"config-invalid"},
    "kube-pull-secrets": {
        "k8s-pull-secret-missing",
        "k8s-pull-secret-malformed",
        "k8s-pull-secret-no-entry",
    },
}


def judge(tree: Path, bin_dir: Path) -> dict[str, list]:
    kube = [str(tree / "kube")] if (tree / "kube").is_dir() else []
    effective = discover(fixture_paths(tree, bin_dir), kube_inputs=kube)
    out = {}
    for target, observations in effective.observations():
        out[target.id] = evaluate(CATALOG, target, observations)
    return out


def test_every_tree_is_listed_and_documented() -> None:
    trees = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert trees == set(EXPECTED)
    for tree in trees:
        header = (FIXTURES / tree / "FIXTURE.md").read_text()
        assert header.startswith(f"# {tree}\n") and "Expected:" in header


@pytest.mark.parametrize("tree", sorted(EXPECTED))
def test_fixture_tree(tree: str, tmp_path: Path) -> None:
    write_helper(tmp_path, "pass", ANSWERING, known={})  # the healthy tree's store exists
    findings = judge(FIXTURES / tree, tmp_path)
    fired = {
        f.rule for fs in findings.values() for f in fs if f.severity.value in ("error", "warning")
    }
    assert fired == EXPECTED[tree], {k: [f.rule for f in v] for k, v in findings.items()}


def test_trailing_comma_location() -> None:
    findings = judge(FIXTURES / "daemon-trailing-comma", Path("/nonexistent"))
    (finding,) = [f for fs in findings.values() for f in fs]
    assert "line 6, column 3" in finding.title
    assert "dockerd refuses to start" in finding.explanation


def test_kube_findings_name_the_workloads() -> None:
    findings = judge(FIXTURES / "kube-pull-secrets", Path("/nonexistent"))
    by_target = {k: {f.rule for f in v} for k, v in findings.items() if v}
    assert by_target["Deployment web/app"] == {"k8s-pull-secret-missing"}
    assert by_target["Pod default/api"] == {"k8s-pull-secret-malformed"}
    assert by_target["Pod default/worker"] == {"k8s-pull-secret-malformed"}
    assert by_target["CronJob default/report"] == {"k8s-pull-secret-no-entry"}


def regdoctor_config(tree: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"HOME": "/root", "PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "200"}
    argv = [sys.executable, "-m", "regdoctor", "config", "--root", str(tree), *args]
    if (tree / "kube").is_dir():
        argv += ["--kube-manifests", str(tree / "kube")]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)


def test_config_json_shows_every_source_with_provenance() -> None:
    tree = FIXTURES / "healthy"
    proc = regdoctor_config(
        tree, "--format", "json", "docker.io", "registry.example.com:5000/team/app:1.2"
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    sources = {f["source"] for f in doc["files"]}
    assert sources == {
        "docker_daemon",
        "docker_config",
        "registries_conf",
        "containerd_config",
        "containerd_hosts",
        "kubelet",
        "kube",
    }
    plans = {(p["image"], p["runtime"]): p for p in doc["plans"]}
    assert {rt for _i, rt in plans} == {"docker", "podman", "containerd", "kubernetes"}
    hub_docker = plans[("docker.io", "docker")]["endpoints"]
    assert [e["role"] for e in hub_docker] == ["mirror", "upstream"]
    assert hub_docker[0]["source"].endswith("daemon.json#registry-mirrors[0]")
    private = plans[("registry.example.com:5000/team/app:1.2", "containerd")]["endpoints"][0]
    assert private["source"].endswith('hosts.toml#host["https://registry.example.com:5000"]')
    assert private["ca_files"][0]["path"].endswith("registry.example.com:5000/ca.crt")
    assert private["client_cert"]["source"].endswith(".client")
    docker_private = plans[("registry.example.com:5000/team/app:1.2", "docker")]["endpoints"]
    assert docker_private[0]["credential"]["helper"] == "pass"
    assert docker_private[0]["credential"]["source"].endswith(
        'config.json#credHelpers["registry.example.com:5000"] (docker-credential-pass)'
    )
    assert "registry-mirrors apply to Docker Hub images only" in " ".join(
        plans[("registry.example.com:5000/team/app:1.2", "docker")]["notes"]
    )
    kube = doc["sources"]["kubernetes"]
    assert kube["workloads"][0]["imagePullSecrets"] == ["regcred"]
    assert doc["sources"]["kubelet"]["pull_concurrency"] == 3
    assert doc["sources"]["environment"]["proxy"]["https_proxy"] is None
    assert "not-a-real-password" not in proc.stdout


def test_config_plain_output_and_exit_codes() -> None:
    proc = regdoctor_config(FIXTURES / "healthy", "nginx")
    assert proc.returncode == 0, proc.stderr
    assert "daemon.json#registry-mirrors[0]" in proc.stdout
    assert "docker-credential-pass" not in proc.stdout or "credential:" in proc.stdout
    broken = regdoctor_config(FIXTURES / "daemon-trailing-comma")
    assert broken.returncode == 2
    assert "line 6, column 3" in broken.stdout
    warned = regdoctor_config(FIXTURES / "hosts-toml-typo", "--format", "json")
    assert warned.returncode == 1
    assert json.loads(warned.stdout)["status"] == "warning"


def test_kube_manifests_from_stdin() -> None:
    text = (FIXTURES / "kube-pull-secrets" / "kube" / "secrets.yaml").read_text()
    text += "\n---\n" + (FIXTURES / "kube-pull-secrets" / "kube" / "workloads.yaml").read_text()
    env = {"HOME": "/root", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "regdoctor",
            "config",
            "--format",
            "json",
            "--runtime",
            "kubernetes",
            "--root",
            str(FIXTURES / "healthy"),
            "--kube-manifests",
            "-",
        ],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    doc = json.loads(proc.stdout)
    problems = {c["problem"] for c in doc["sources"]["kubernetes"]["pull_secret_checks"]}
    assert {"wrong_namespace", "wrong_type", "bad_base64", "key_not_matched"} <= problems
