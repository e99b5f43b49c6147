"""``regdoctor serve`` in the image on two nodes, mounted as the DaemonSet mounts a node,
scraped over /metrics; then the PrometheusRule's alerts, tested by ``promtool test rules``
on exactly those scrapes.

Node A trusts the CA of the ``tls`` registry (its /etc/docker/certs.d has it); node B
does not: the planted fault. Both check ``tls``, ``tls_expired`` (a certificate that
expired yesterday) and ``tls_expiring`` (expires in 5 days).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from regdoctor.cli.main import build_parser
from tests.cli.test_serve import Served
from tests.deploy.conftest import (
    DEPLOY,
    Image,
    as_podman,
    make_node,
    podman,
    podman_env,
    record,
    world_readable,
)

NODES = ("node-a", "node-b")


def serve_command(args: list[str], targets: list[str]) -> list[str]:
    """The DaemonSet's args with its own targets replaced by the harness's, the listen
    port by 0 (host network: two nodes share this machine's loopback), judged as podman."""
    parsed = build_parser().parse_args(args)
    assert parsed.command == "serve"
    options = args[: len(args) - len(parsed.targets)]
    assert options[options.index("--listen") + 1] == "127.0.0.1:9877"
    options[options.index("--listen") + 1] = "127.0.0.1:0"
    # the harness's TLS registries listen on loopback, where containerd 1.6 speaks plain
    # HTTP by default and dockerd skips verification: judge as podman (strict, and it
    # reads /etc/docker/certs.d too), so that only the planted fault shows
    return [*options, "--runtime", "podman", *targets]


@pytest.fixture(scope="module")
def scrapes(image: Image, testbed, tmp_path_factory) -> dict[str, str]:
    """node name -> the /metrics text its container served after its first check."""
    targets = [testbed.endpoints[n].hostport for n in ("tls", "tls_expired", "tls_expiring")]
    procs: dict[str, subprocess.Popen[str]] = {}
    names = {node: f"regdoctor-test-{os.getpid()}-{node}" for node in NODES}
    out: dict[str, str] = {}
    try:
        started = time.monotonic()
        for node in NODES:
            root = make_node(tmp_path_factory.mktemp(node))
            if node == "node-a":
                for name in ("tls", "tls_expired", "tls_expiring"):
                    hostport = testbed.endpoints[name].hostport
                    testbed.make_cert_dir(root / "etc/docker/certs.d" / hostport)
            world_readable(root)
            pod = as_podman(root, node)
            procs[node] = subprocess.Popen(
                [
                    "podman",
                    "run",
                    "--rm",
                    "--name",
                    names[node],
                    *pod.flags,
                    image.name,
                    *serve_command(pod.args, targets),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=podman_env(),
            )
        served = {node: Served(proc) for node, proc in procs.items()}
        listening = time.monotonic() - started
        for node, server in served.items():
            server.wait_for(lambda s=server: s.checks() >= 1, timeout=60)
            out[node] = server.get("/metrics")[1]
        record(
            "serve_in_container",
            {
                "two_nodes_listening_s": round(listening, 2),
                "two_nodes_first_metrics_s": round(time.monotonic() - started, 2),
            },
        )
        # SIGTERM (what the kubelet sends) ends it gracefully, exit 0
        for node in NODES:
            podman("stop", "--time", "20", names[node], timeout=60)
            assert procs[node].wait(timeout=30) == 0, served[node].log
    finally:
        for node, proc in procs.items():
            if proc.poll() is None:
                podman("kill", names[node], check=False)
                proc.kill()
    return out


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def test_serve_in_the_container_exposes_the_planted_fault(scrapes, testbed):
    tls = testbed.endpoints["tls"].hostport
    expired = testbed.endpoints["tls_expired"].hostport
    success = {
        node: {
            s.labels["target"]: s.value
            for s in samples(text)
            if s.name == "regdoctor_probe_success"
        }
        for node, text in scrapes.items()
    }
    # node A read its mounted certs.d: tls is healthy there; node B lacks the CA
    assert success["node-a"][tls] == 1.0
    assert success["node-b"][tls] == 0.0
    assert success["node-a"][expired] == 0.0 and success["node-b"][expired] == 0.0
    findings = {
        node: {
            (s.labels["target"], s.labels["category"], s.labels["severity"])
            for s in samples(text)
            if s.name == "regdoctor_finding" and s.value == 1
        }
        for node, text in scrapes.items()
    }
    assert not any(t == tls and sev == "error" for t, _, sev in findings["node-a"])
    assert any(t == tls and sev == "error" for t, _, sev in findings["node-b"]), findings
    assert any(t == expired and sev == "error" for t, _, sev in findings["node-a"]), findings
    for text in scrapes.values():
        assert any(s.name == "regdoctor_checks_total" and s.value >= 1 for s in samples(text))


# -- the PrometheusRule, tested with promtool on those scrapes -----------------------------

EVAL_MINUTES = 80


def series(scrapes: dict[str, str], *, checking: bool) -> tuple[list[dict], dict[str, float]]:
    """promtool input series: every scraped sample, labelled with its node as the
    ServiceMonitor's relabeling does, constant for EVAL_MINUTES minutes. Unix timestamps
    are rebased so that the scrape is promtool's time 0 (its clock starts at the epoch);
    with ``checking`` the last-check timestamp advances a minute per minute (the exporter
    keeps checking), without it it stays (the exporter is stuck)."""
    out, scrape_times = [], {}
    for node, text in scrapes.items():
        found = samples(text)
        now = next(s.value for s in found if s.name == "regdoctor_last_check_timestamp_seconds")
        scrape_times[node] = now
        for s in found:
            labels = {**s.labels, "node": node}
            name = s.name
            value = s.value
            if name in (
                "regdoctor_last_check_timestamp_seconds",
                "regdoctor_tls_cert_not_after_seconds",
            ):
                value -= now
            inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            if name == "regdoctor_last_check_timestamp_seconds" and checking:
                values = f"{value:g}+60x{EVAL_MINUTES}"
            else:
                values = f"{value:g}x{EVAL_MINUTES}"
            out.append({"series": f"{name}{{{inner}}}", "values": values})
    return out, scrape_times


def rules() -> list[dict]:
    (doc,) = [
        d
        for d in yaml.safe_load_all((DEPLOY / "prometheusrule.yaml").read_text())
        if d["kind"] == "PrometheusRule"
    ]
    return [r for group in doc["spec"]["groups"] for r in group["rules"]]


def expected(alert: str, labels: dict[str, str]) -> dict:
    """An alert as promtool reports it: the series' labels plus the rule's, annotations
    rendered (the rules use only ``{{ $labels.NAME }}``)."""
    (rule,) = [r for r in rules() if r["alert"] == alert]
    all_labels = {**labels, **rule["labels"]}
    annotations = {
        k: re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), v)
        for k, v in rule["annotations"].items()
    }
    return {"exp_labels": all_labels, "exp_annotations": annotations}


def expected_alerts(scrapes: dict[str, str]) -> dict[str, list[dict]]:
    """What should fire at EVAL_MINUTES, worked out from the scrapes themselves."""
    errors = set()  # (node, target, category, rule)
    failing = set()  # (node, target)
    checked: dict[str, set[str]] = {}
    expiry: dict[tuple[str, str], float] = {}
    bad_files = set()  # (node, file): configuration files are not targets
    for node, text in scrapes.items():
        found = samples(text)
        now = next(s.value for s in found if s.name == "regdoctor_last_check_timestamp_seconds")
        for s in found:
            lab = s.labels
            if s.name == "regdoctor_finding" and lab["severity"] == "error" and s.value == 1:
                errors.add((node, lab["target"], lab["category"], lab["rule"]))
            if s.name == "regdoctor_config_ok" and s.value == 0:
                bad_files.add((node, lab["file"]))
            if s.name == "regdoctor_probe_success":
                checked.setdefault(lab["target"], set()).add(node)
                if s.value == 0:
                    failing.add((node, lab["target"]))
            if s.name == "regdoctor_tls_cert_not_after_seconds":
                key = (lab["target"], lab["subject"])
                expiry[key] = min(expiry.get(key, float("inf")), s.value - now)
    some_nodes = {
        (target, category)
        for _, target, category, _ in errors
        if len({n for n, t, c, _ in errors if (t, c) == (target, category)}) < len(checked[target])
    }
    return {
        "RegistryCheckFailing": [
            expected("RegistryCheckFailing", {"node": n, "target": t}) for n, t in sorted(failing)
        ],
        "RegistryFinding": [
            expected("RegistryFinding", {"node": n, "target": t, "category": c, "rule": r})
            for n, t, c, r in sorted(errors)
        ],
        "RegistryFindingOnSomeNodesOnly": [
            expected("RegistryFindingOnSomeNodesOnly", {"target": t, "category": c})
            for t, c in sorted(some_nodes)
        ],
        "RegistryCertificateExpiringSoon": [
            expected("RegistryCertificateExpiringSoon", {"target": t, "subject": s})
            for (t, s), left in sorted(expiry.items())
            if left - EVAL_MINUTES * 60 < 14 * 86400
        ],
        "RegistryRateLimitLow": [],
        "RegistryConfigurationError": [
            expected("RegistryConfigurationError", {"node": n, "file": f})
            for n, f in sorted(bad_files)
        ],
        "RegdoctorNotChecking": [],
    }


def promtool_test(tmp_path: Path, tests: list[dict]) -> subprocess.CompletedProcess:
    (tmp_path / "rules.yaml").write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {"name": g["name"], "rules": g["rules"]}
                    for d in yaml.safe_load_all((DEPLOY / "prometheusrule.yaml").read_text())
                    for g in d["spec"]["groups"]
                ]
            }
        )
    )
    check = subprocess.run(
        ["promtool", "check", "rules", str(tmp_path / "rules.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    (tmp_path / "test.yaml").write_text(
        yaml.safe_dump(
            {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests},
            sort_keys=False,
            width=1000,
        )
    )
    return subprocess.run(
        ["promtool", "test", "rules", str(tmp_path / "test.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


@pytest.fixture
def promtool() -> str:
    import shutil

    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool (Debian's prometheus package) must be installed in CI")
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return found


def test_alerts_fire_on_the_real_scrapes(scrapes, promtool, tmp_path):
    want = expected_alerts(scrapes)
    assert want["RegistryFinding"] and want["RegistryCheckFailing"]
    assert want["RegistryFindingOnSomeNodesOnly"], "node B's missing CA is on node B only"
    assert want["RegistryCertificateExpiringSoon"]
    live, _ = series(scrapes, checking=True)
    stuck, _ = series(scrapes, checking=False)
    at = f"{EVAL_MINUTES}m"
    tests = [
        {
            "interval": "1m",
            "input_series": live,
            "alert_rule_test": [
                # nothing has fired yet before each rule's `for:`
                *({"eval_time": "2m", "alertname": a, "exp_alerts": []} for a in want),
                *({"eval_time": at, "alertname": a, "exp_alerts": v} for a, v in want.items()),
            ],
        },
        {
            "interval": "1m",
            "input_series": stuck,
            "alert_rule_test": [
                {
                    "eval_time": at,
                    "alertname": "RegdoctorNotChecking",
                    "exp_alerts": [
                        {
                            "exp_labels": {"node": n, "severity": "warning"},
                            "exp_annotations": expected("RegdoctorNotChecking", {"node": n})[
                                "exp_annotations"
                            ],
                        }
                        for n in sorted(scrapes)
                    ],
                }
            ],
        },
    ]
    result = promtool_test(tmp_path, tests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    record("alerts_tested", {a: len(v) for a, v in want.items()})


def test_promtool_catches_a_wrong_expectation(scrapes, promtool, tmp_path):
    """The harness above is not vacuous: claiming an alert that does not fire fails."""
    live, _ = series(scrapes, checking=True)
    result = promtool_test(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": live,
                "alert_rule_test": [
                    {
                        "eval_time": f"{EVAL_MINUTES}m",
                        "alertname": "RegistryRateLimitLow",
                        "exp_alerts": [
                            {"exp_labels": {"target": "nowhere.invalid", "severity": "info"}}
                        ],
                    }
                ],
            }
        ],
    )
    assert result.returncode != 0
