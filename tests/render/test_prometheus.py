"""`--format prometheus`: parsed back with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from regdoctor.model import (
    Finding,
    Observation,
    PhaseResult,
    PhaseStatus,
    Report,
    Severity,
    Target,
    TargetReport,
)
from regdoctor.render.prometheus import METRICS, prometheus_text
from tests.harness.testbed import Testbed
from tests.helpers.reports import cli

LABELS = {name: set(labels) for name, (_, _, labels) in METRICS.items()}


def parse(text: str) -> dict[str, list]:
    """metric family name -> samples; asserts every family is known, typed and labelled."""
    families: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        assert family.name in METRICS, family.name
        assert family.type == "gauge"
        assert family.documentation
        for sample in family.samples:
            assert set(sample.labels) == LABELS[family.name], (family.name, sample.labels)
        families[family.name] = family.samples
    return families


def by_target(samples: list, target: str) -> list:
    return [s for s in samples if s.labels.get("target") == target]


def test_healthy_and_failing_target(healthy_and_failing):
    report, healthy, failing = healthy_and_failing
    families = parse(prometheus_text(report))
    success = {s.labels["target"]: s.value for s in families["regdoctor_probe_success"]}
    assert success == {healthy: 1.0, failing: 0.0}

    phases = {
        (s.labels["target"], s.labels["phase"])
        for s in families["regdoctor_phase_duration_seconds"]
    }
    assert {(healthy, p) for p in ("dns", "tcp", "tls", "http", "auth", "image")} <= phases
    assert (failing, "tcp") in phases
    assert (failing, "http") not in phases  # skipped phases have no duration
    assert all(s.value >= 0 for s in families["regdoctor_phase_duration_seconds"])

    findings = families["regdoctor_finding"]
    # plain HTTP on loopback is only an info note: the target stays healthy
    assert {s.labels["severity"] for s in by_target(findings, healthy)} <= {"info"}
    failing_findings = by_target(findings, failing)
    assert {s.labels["category"] for s in failing_findings} == {"tcp.refused"}
    assert all(s.value == 1.0 for s in failing_findings)
    assert {s.labels["severity"] for s in failing_findings} <= {"error", "warning", "info"}

    (duration,) = families["regdoctor_check_duration_seconds"]
    assert duration.labels == {} and 0 < duration.value < 60


def test_tls_certificate_expiry(testbed: Testbed, isolate_env):
    from tests.helpers.reports import run_report

    endpoint = testbed.endpoints["tls"]
    report = run_report([endpoint.hostport], ca_file=testbed.ca_file)
    families = parse(prometheus_text(report))
    certs = families["regdoctor_tls_cert_not_after_seconds"]
    assert certs, "the TLS registry's chain gives at least its leaf"
    import time

    assert all(s.value > time.time() for s in certs)
    assert {s.labels["target"] for s in certs} == {endpoint.hostport}


def _synthetic(**facts) -> Report:
    target = Target(raw="reg.test/app:1", registry="reg.test", host="reg.test", port=443)
    observations = (
        Observation("http.response", target.raw, True, "http", "v2", {"ratelimit_remaining": 7}),
        Observation(
            "ratelimit.status", target.raw, True, "image", None, {"limit": 100, "remaining": 3}
        ),
        Observation(
            "http.response",
            target.raw,
            False,
            "image",
            "manifest.get",
            facts,
            error="boom\nsecond line",
        ),
    )
    finding = Finding(
        rule="image-server-error",
        category="server.error",
        severity=Severity.ERROR,
        confidence="high",
        target=target.raw,
        phase="image",
        title="digest sha256:1234 and a URL http://x/?token=abc",
        explanation="",
    )
    tr = TargetReport(
        target=target,
        endpoint={},
        phases=(PhaseResult("image", PhaseStatus.FAILED, 12.0, error="x"),),
        observations=observations,
        findings=(finding, finding),
        duration_ms=20.0,
    )
    return Report((tr,), "2025-01-01T00:00:00+00:00", 25.0, "0.1.0")


def test_labels_stay_bounded_and_ratelimit_is_the_last_seen():
    families = parse(prometheus_text(_synthetic(url="http://x/?token=abc")))
    (remaining,) = families["regdoctor_ratelimit_remaining"]
    assert remaining.value == 3
    findings = families["regdoctor_finding"]
    assert len(findings) == 1  # one sample per (category, severity, rule)
    labels = findings[0].labels
    assert labels == {
        "target": "reg.test/app:1",
        "category": "server.error",
        "severity": "error",
        "rule": "image-server-error",
    }
    # Titles, errors, URLs and digests never become labels.
    text = prometheus_text(_synthetic())
    assert "sha256" not in text and "boom" not in text and "token" not in text


def test_metric_names_are_exactly_the_issues():
    assert set(METRICS) == {
        "regdoctor_probe_success",
        "regdoctor_phase_duration_seconds",
        "regdoctor_finding",
        "regdoctor_tls_cert_not_after_seconds",
        "regdoctor_ratelimit_remaining",
        "regdoctor_config_ok",
        "regdoctor_config_finding",
        "regdoctor_check_duration_seconds",
    }
    assert LABELS["regdoctor_finding"] == {"target", "category", "severity", "rule"}
    assert LABELS["regdoctor_tls_cert_not_after_seconds"] == {"target", "subject"}


def test_cli_format_prometheus(testbed: Testbed):
    healthy = testbed.images.app.ref(testbed.endpoints["plain"].hostport)
    failing = testbed.endpoints["closed"].hostport
    # a plain-HTTP loopback registry pulls as docker does
    proc = cli(
        "check", "--format", "prometheus", "--runtime", "docker", "--timeout", "3", healthy, failing
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.endswith("\n")
    families = parse(proc.stdout)
    success = {s.labels["target"]: s.value for s in families["regdoctor_probe_success"]}
    assert success == {healthy: 1.0, failing: 0.0}
