"""`regdoctor check` with no TARGET, given a --root holding a machine's configuration that
points at the running test registries: it checks every registry and mirror found, uses
the CA, the insecure flag and the credentials the configuration gives them (credentials
through real credential helper programs), and reports the planted faults with the right
categories. No secret appears in any output, --debug included.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.discovery.helpers import ANSWERING, FAILING, helper_env, write_helper
from tests.harness.testbed import PASSWORD, USERNAME, Testbed


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def build_root(testbed: Testbed, root: Path) -> dict[str, str]:
    """A machine's files below ``root``: Docker daemon and client, containerd."""
    ep = testbed.endpoints
    tls, basic, plain = ep["tls"].hostport, ep["tls_basic"].hostport, ep["plain"].hostport
    token, closed = ep["token"].hostport, ep["closed"].hostport
    # Docker daemon: a Hub mirror (marked insecure although its certificate is valid),
    # and an insecure-registries entry written as a URL.
    _write(
        root / "etc/docker/daemon.json",
        json.dumps(
            {
                "registry-mirrors": [f"https://{tls}"],
                "insecure-registries": [tls, f"http://{plain}"],
                "max-concurrent-downloads": 3,
            },
            indent=2,
        ),
    )
    for hostport in (tls, basic):  # Docker's per-registry CA directory
        shutil.copy(testbed.ca_file, _write(root / f"etc/docker/certs.d/{hostport}/ca.crt", ""))
    # Docker client: a stale Desktop store, a helper that answers, one that fails, one
    # that is not installed, and a password in plain text.
    plain_auth = base64.b64encode(b"someone:plain-text-password").decode()
    _write(
        root / "root/.docker/config.json",
        json.dumps(
            {
                "auths": {plain: {"auth": plain_auth}},
                "credsStore": "desktop",
                "credHelpers": {basic: "rdtest", token: "rdfail", "missing.invalid": "rdmissing"},
            },
            indent=2,
        ),
    )
    # containerd: hosts.toml for the basic-auth registry with a mirror that is down.
    _write(
        root / "etc/containerd/config.toml",
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n',
    )
    hosts_dir = root / f"etc/containerd/certs.d/{basic}"
    _write(
        hosts_dir / "hosts.toml",
        f'server = "https://{basic}"\nca = "ca.crt"\n\n'
        f'[host."https://{closed}"]\n  capabilities = ["pull", "resolve"]\n  ca = "ca.crt"\n',
    )
    shutil.copy(testbed.ca_file, hosts_dir / "ca.crt")
    return {"tls": tls, "basic": basic, "plain": plain, "token": token, "closed": closed}


def machine_env(bin_dir: Path) -> dict[str, str]:
    """The helpers on PATH; HOME=/root, read below --root (<root>/root/.docker)."""
    env = helper_env(bin_dir)
    env["HOME"] = "/root"
    for name in ("DOCKER_CONFIG", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE"):
        env.pop(name, None)
    return env


def run_check(
    root: Path, bin_dir: Path, testbed: Testbed, *extra: str
) -> subprocess.CompletedProcess:
    env = machine_env(bin_dir)
    argv = [
        sys.executable,
        "-m",
        "regdoctor",
        "check",
        "--root",
        str(root),
        "--dns-server",
        testbed.dns_server,
        "--ca-file",
        str(testbed.ca_file),  # for the token server (realm) only; registries use certs.d
        "--timeout",
        "3",
        "--deadline",
        "40",
        *extra,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, env=env, check=False)


@pytest.fixture
def machine(testbed: Testbed, tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    root = tmp_path / "root"
    bin_dir = tmp_path / "bin"
    hosts = build_root(testbed, root)
    write_helper(bin_dir, "rdtest", ANSWERING, known={hosts["basic"]: [USERNAME, PASSWORD]})
    write_helper(bin_dir, "rdfail", FAILING)
    return root, bin_dir, hosts


def _schema_check(document: dict) -> None:
    from jsonschema import Draft202012Validator

    from regdoctor.schemas import load_schema

    errors = list(Draft202012Validator(load_schema("check-v3")).iter_errors(document))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_check_without_target_checks_the_configuration(testbed: Testbed, machine) -> None:
    root, bin_dir, hosts = machine
    proc = run_check(root, bin_dir, testbed, "--format", "json")
    assert proc.returncode == 2, proc.stderr
    document = json.loads(proc.stdout)
    _schema_check(document)
    reports = {t["target"]: t for t in document["targets"]}

    # every registry and mirror the configuration names was checked
    registries = {
        t["spec"]["host"] + ":" + str(t["spec"]["port"])
        for t in document["targets"]
        if t["spec"]["kind"] == "registry"
    }
    expected = {hosts[k] for k in ("tls", "basic", "plain", "token", "closed")}
    assert expected <= registries, registries
    assert not any("docker.io" in r for r in registries), (
        "Docker Hub is only checked when nothing is configured"
    )

    def target_for(hostport: str) -> dict:
        return next(
            t
            for t in document["targets"]
            if t["spec"]["kind"] == "registry"
            and f"{t['spec']['host']}:{t['spec']['port']}" == hostport
        )

    def categories(report: dict) -> set[str]:
        return {f["category"] for f in report["findings"]}

    # 1. the basic-auth registry authenticated through the helper; the source is named
    basic = target_for(hosts["basic"])
    assert basic["spec"]["credential"]["helper"] == "rdtest"
    result = next(o for o in basic["observations"] if o["kind"] == "auth.result")
    assert result["facts"]["outcome"] == "authenticated", result
    assert "credHelpers" in result["facts"]["credential_source"]
    assert "docker-credential-rdtest" in result["facts"]["credential_source"]
    fetched = next(o for o in basic["observations"] if o["kind"] == "config.credential")
    assert fetched["facts"]["outcome"] == "found" and fetched["phase"] == "config"
    # it pulls for every runtime (containerd after its dead mirror: a warning)
    assert basic["status"] in ("ok", "warning"), basic["findings"]
    assert all(v["status"] != "error" for v in basic["runtimes"].values()), basic["runtimes"]

    # 2. the daemon.json mirror is marked insecure although its certificate verifies
    mirror = target_for(hosts["tls"])
    assert mirror["spec"]["mirror_of"] == "docker.io" and mirror["spec"]["insecure"]
    assert "tls.verification_disabled" in categories(mirror)

    # 3. the hosts.toml mirror is down while its upstream works
    down = target_for(hosts["closed"])
    assert down["spec"]["mirror_of"] == hosts["basic"] and down["spec"]["runtime"] == "containerd"
    assert {"mirror.unreachable", "tcp.refused"} <= categories(down)

    # 4. the failing helper: the registry asked, the helper failed, and that leads
    token = target_for(hosts["token"])
    assert token["findings"][0]["category"] == "auth.credential_helper", token["findings"]

    # 5. configuration files judged on their own, apart from the targets (schema 3)
    assert all(t["spec"]["kind"] == "registry" for t in document["targets"])
    assert all(c["spec"]["kind"] == "config" for c in document["configs"])
    assert document["summary"]["targets"] == len(document["targets"])
    assert document["summary"]["configs"] == len(document["configs"]) >= 3
    reports = {c["target"]: c for c in document["configs"]}
    daemon = reports[str(root / "etc/docker/daemon.json")]
    assert daemon["spec"]["kind"] == "config"
    assert "config.invalid" in categories(daemon)  # insecure-registries entry with http://
    client = reports[str(root / "root/.docker/config.json")]
    rules = {f["rule"] for f in client["findings"]}
    assert {
        "config-credential-store-stale",
        "config-credential-helper-missing",
        "config-plaintext-credentials",
    } <= rules, rules
    hosts_file = reports[str(root / f"etc/containerd/certs.d/{hosts['basic']}/hosts.toml")]
    assert hosts_file["status"] == "ok"


def test_plain_output_and_debug_never_show_a_secret(testbed: Testbed, machine) -> None:
    root, bin_dir, _hosts = machine
    pair = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    for extra in (("--format", "json", "--debug"), ("-v", "--debug"), ("--format", "json", "-v")):
        proc = run_check(root, bin_dir, testbed, *extra)
        assert proc.returncode == 2, proc.stderr
        for text in (proc.stdout, proc.stderr):
            assert PASSWORD not in text
            assert pair not in text
            assert "plain-text-password" not in text
            assert base64.b64encode(b"someone:plain-text-password").decode() not in text
    assert "docker-credential-rdtest" in proc.stdout  # the source is named, in plain too


def test_command_line_credentials_win_over_the_helper(testbed: Testbed, machine) -> None:
    root, bin_dir, hosts = machine
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "regdoctor",
            "check",
            "--root",
            str(root),
            "--format",
            "json",
            "--dns-server",
            testbed.dns_server,
            "--timeout",
            "3",
            "--username",
            USERNAME,
            "--password-stdin",
            hosts["basic"],
        ],
        input=PASSWORD,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=machine_env(bin_dir),
    )
    document = json.loads(proc.stdout)
    registry = document["targets"][0]
    assert registry["spec"]["credential"]["helper"] == "rdtest"  # known to the configuration
    result = next(o for o in registry["observations"] if o["kind"] == "auth.result")
    assert result["facts"]["outcome"] == "authenticated"
    assert result["facts"]["credential_source"] == "--username/--password-stdin"
    assert not any(o["kind"] == "config.credential" for o in registry["observations"])


def test_no_configuration_means_docker_hub(tmp_path: Path) -> None:
    from regdoctor.check.plan import plan
    from regdoctor.check.request import CheckRequest

    run_plan = plan(CheckRequest(root=str(tmp_path)))
    assert [t.registry for t in run_plan.targets] == ["docker.io"]
    assert run_plan.preset == {}
    assert os.environ.get("REGDOCTOR_CONFIG_ROOT")  # isolated by the autouse fixture


def test_configuration_files_are_not_targets(testbed: Testbed, machine) -> None:
    """Plain: a section of their own, and the count counts targets; Prometheus: never a
    ``target`` label, their own ``regdoctor_config_ok``; --summary: a line for a bad one."""
    from prometheus_client.parser import text_string_to_metric_families

    root, bin_dir, _hosts = machine
    daemon = str(root / "etc/docker/daemon.json")
    proc = run_check(root, bin_dir, testbed, "--format", "json")
    document = json.loads(proc.stdout)
    n_targets, n_configs = len(document["targets"]), len(document["configs"])

    plain = run_check(root, bin_dir, testbed)
    assert plain.returncode == 2, plain.stderr
    details = plain.stdout[plain.stdout.index("\nconfiguration files:\n") :]
    assert daemon in details
    summary = plain.stdout.replace("\n    ", " ").strip().splitlines()[-1]  # unwrapped
    assert summary.startswith(f"{n_targets} targets: "), summary
    assert f"; {n_configs} configuration files, 2 with problems (exit code 2)" in summary

    metrics = run_check(root, bin_dir, testbed, "--format", "prometheus")
    samples = [s for f in text_string_to_metric_families(metrics.stdout) for s in f.samples]
    labelled = {s.labels.get("target") for s in samples if "target" in s.labels}
    assert daemon not in labelled and not any(t.startswith(str(root)) for t in labelled)
    success = [s for s in samples if s.name == "regdoctor_probe_success"]
    assert len(success) == n_targets
    config_ok = {s.labels["file"]: s.value for s in samples if s.name == "regdoctor_config_ok"}
    client = str(root / "root/.docker/config.json")  # errors: 0; daemon.json warns: 1
    assert len(config_ok) == n_configs
    assert config_ok[client] == 0.0 and config_ok[daemon] == 1.0
    assert any(s.name == "regdoctor_config_finding" and s.labels["file"] == daemon for s in samples)

    short = run_check(root, bin_dir, testbed, "--summary")
    assert short.returncode == 2
    lines = short.stdout.strip().splitlines()
    named = [line.split("  ")[1] for line in lines]  # status, target, category: cause
    assert len([n for n in named if not n.startswith(str(root))]) == n_targets, lines
    assert any(daemon in line and "config.invalid" in line for line in lines), lines
    assert any(line.startswith(f"✗ ERROR  {client}  ") for line in lines), lines


def test_groups_finish_as_the_whole_run(testbed: Testbed, machine, monkeypatch) -> None:
    """A streamed run finishes each group of dependent targets (a registry and its
    mirrors) on its own; its reports are those of finishing all targets together."""
    import asyncio

    from regdoctor.check import across, pipeline
    from regdoctor.check.plan import plan
    from regdoctor.cli.request import request_from_args
    from tests.helpers.reports import check_parser

    root, bin_dir, hosts = machine
    for name in ("DOCKER_CONFIG", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in machine_env(bin_dir).items():
        monkeypatch.setenv(name, value)
    argv = ["--root", str(root), "--dns-server", testbed.dns_server]
    argv += ["--ca-file", str(testbed.ca_file), "--timeout", "3"]
    run_plan = plan(request_from_args(check_parser().parse_args(argv)))
    groups = [
        {run_plan.targets[i].id for i in g}
        for g in across.groups_of(run_plan.targets, run_plan.routes)
    ]
    basic = next(t.id for t in run_plan.targets if t.hostport == hosts["basic"])
    closed = next(t.id for t in run_plan.targets if t.hostport == hosts["closed"])
    assert any({basic, closed} <= g for g in groups)  # the mirror with its upstream
    assert len(groups) > 1

    probed = []
    finish = pipeline.finish_reports

    def recording(reports, routes, rule_dirs=()):
        probed.extend(reports)
        return finish(reports, routes, rule_dirs)

    monkeypatch.setattr(pipeline, "finish_reports", recording)
    done = []
    report = asyncio.run(run_plan.run(on_done=done.append))
    assert sorted(r.target.id for r in done) == sorted(t.id for t in run_plan.targets)
    assert [r.target.id for r in report.targets] == [t.id for t in run_plan.targets]
    order = {t.id: i for i, t in enumerate(run_plan.targets)}
    whole = finish(
        sorted(probed, key=lambda r: order[r.target.id]),
        run_plan.routes,
        run_plan.options.rule_dirs,
    )
    assert list(report.targets) == whole
