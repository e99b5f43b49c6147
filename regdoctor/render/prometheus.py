"""Metrics in the Prometheus text exposition format (for node_exporter's textfile
collector, and for ``regdoctor serve``'s ``/metrics``), written with ``prometheus_client``.

Names follow blackbox_exporter's (``probe_success`` -> ``regdoctor_probe_success``),
plus what blackbox lacks: the finding, with its bounded reason code.

=========================================  ==================================  ==========
metric                                     labels                              value
=========================================  ==================================  ==========
``regdoctor_probe_success``                target                              1 / 0
``regdoctor_phase_duration_seconds``       target, phase                       seconds
``regdoctor_finding``                      target, category, severity, rule    1 per finding
``regdoctor_tls_cert_not_after_seconds``   target, subject                     Unix time
``regdoctor_ratelimit_remaining``          target                              pulls left
``regdoctor_config_ok``                    file                                1 / 0
``regdoctor_config_finding``               file, category, severity, rule      1 per finding
``regdoctor_check_duration_seconds``       (none)                              seconds
=========================================  ==================================  ==========

Configuration files are not targets: they never appear as a ``target`` label; each file
regdoctor judged (and each Kubernetes workload) has ``regdoctor_config_ok`` and its
findings ``regdoctor_config_finding``, labelled with the file as the report names it.

Labels never carry unbounded values: ``target`` is what the user configured, ``phase``,
``category``, ``severity`` and ``rule`` come from closed sets (the phases, the
categories, the rule catalog), ``subject`` from the few certificates of a chain. No error
text, URL, address or digest ever becomes a label. ``regdoctor_probe_success`` is 1 when
the target has no error finding (warnings do not fail a probe).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from rich.console import Console

from regdoctor.model import Report, ReportContext, TargetReport
from regdoctor.redact.secrets import Redactor, redact

__all__ = ["METRICS", "ReportCollector", "prometheus_text", "render_prometheus"]

#: name -> (type, help, label names). The contract dashboards and alerts rely on.
METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "regdoctor_probe_success": (
        "gauge",
        "1 if the target has no error finding, 0 otherwise.",
        ("target",),
    ),
    "regdoctor_phase_duration_seconds": (
        "gauge",
        "Duration of each check phase that ran, in seconds.",
        ("target", "phase"),
    ),
    "regdoctor_finding": (
        "gauge",
        "1 per active finding, by reason code (category), severity and rule.",
        ("target", "category", "severity", "rule"),
    ),
    "regdoctor_tls_cert_not_after_seconds": (
        "gauge",
        "Expiry of each certificate the registry presents, as a Unix timestamp.",
        ("target", "subject"),
    ),
    "regdoctor_ratelimit_remaining": (
        "gauge",
        "Pulls left in the registry's rate-limit window (RateLimit-Remaining).",
        ("target",),
    ),
    "regdoctor_config_ok": (
        "gauge",
        "1 if the configuration file has no error finding, 0 otherwise.",
        ("file",),
    ),
    "regdoctor_config_finding": (
        "gauge",
        "1 per active finding on a configuration file, by category, severity and rule.",
        ("file", "category", "severity", "rule"),
    ),
    "regdoctor_check_duration_seconds": (
        "gauge",
        "Duration of the whole check run, in seconds.",
        (),
    ),
}
_MAX_LABEL = 200
_MAX_SUBJECTS = 8


def _label(value: object, clean: Callable[[str], str]) -> str:
    text = clean(str(value)) if value is not None else ""
    # One line, bounded: a label value is an identifier, not a message.
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:_MAX_LABEL]


def _epoch(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _certificates(target: TargetReport) -> Iterator[tuple[str, float]]:
    seen: set[str] = set()
    for observation in target.observations:
        if observation.kind != "tls.chain":
            continue
        facts = observation.facts if isinstance(observation.facts, Mapping) else {}
        if facts.get("role", "registry") != "registry":
            continue
        certificates = facts.get("certificates")
        if not isinstance(certificates, list):
            continue
        for cert in certificates:
            if not isinstance(cert, Mapping):
                continue
            subject = str(cert.get("subject") or "")
            not_after = _epoch(cert.get("not_after"))
            if not subject or not_after is None or subject in seen:
                continue
            seen.add(subject)
            yield subject, not_after
            if len(seen) >= _MAX_SUBJECTS:
                return


def _ratelimit_remaining(target: TargetReport) -> float | None:
    found: float | None = None
    for observation in target.observations:
        facts = observation.facts if isinstance(observation.facts, Mapping) else {}
        if observation.kind == "ratelimit.status":
            value = facts.get("remaining")
        elif observation.kind == "http.response":
            value = facts.get("ratelimit_remaining")
        else:
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            found = float(value)  # the last one seen is the most recent
    return found


def _finding_keys(
    report: TargetReport, clean: Callable[[str], str]
) -> Iterator[tuple[str, str, str]]:
    """(category, severity, rule) of each finding, once."""
    active: set[tuple[str, str, str]] = set()
    for finding in report.findings:
        key = (
            _label(finding.category, clean),
            _label(str(finding.severity), clean),
            _label(finding.rule, clean),
        )
        if key not in active:
            active.add(key)
            yield key


class ReportCollector:
    """A ``prometheus_client`` collector for one report (swap ``report`` to update)."""

    def __init__(self, report: Report | None, redactor: Redactor | None = None) -> None:
        self.report = report
        self.clean: Callable[[str], str] = redactor.redact if redactor is not None else redact

    def describe(self) -> Iterable[Any]:
        return []  # collected on demand: no registration-time collect()

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        report = self.report
        if report is None:
            return
        families = {
            name: GaugeMetricFamily(name, help_text, labels=list(labels))
            for name, (_, help_text, labels) in METRICS.items()
        }
        clean = self.clean
        for config in report.configs:
            name = _label(config.target.raw, clean)
            success = 0.0 if config.status == "error" else 1.0
            families["regdoctor_config_ok"].add_metric([name], success)
            for key in _finding_keys(config, clean):
                families["regdoctor_config_finding"].add_metric([name, *key], 1.0)
        for target in report.probed:
            name = _label(target.target.raw, clean)
            success = 0.0 if target.status == "error" else 1.0  # the model's verdict
            families["regdoctor_probe_success"].add_metric([name], success)
            for phase in target.phases:
                duration = phase.duration_ms
                if isinstance(duration, int | float) and math.isfinite(duration):
                    families["regdoctor_phase_duration_seconds"].add_metric(
                        [name, _label(phase.name, clean)], duration / 1000.0
                    )
            for key in _finding_keys(target, clean):
                families["regdoctor_finding"].add_metric([name, *key], 1.0)
            for subject, not_after in _certificates(target):
                families["regdoctor_tls_cert_not_after_seconds"].add_metric(
                    [name, _label(subject, clean)], not_after
                )
            remaining = _ratelimit_remaining(target)
            if remaining is not None:
                families["regdoctor_ratelimit_remaining"].add_metric([name], remaining)
        families["regdoctor_check_duration_seconds"].add_metric([], report.duration_ms / 1000.0)
        yield from families.values()


def prometheus_text(report: Report, *, redactor: Redactor | None = None) -> str:
    """The exposition text for ``report``."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReportCollector(report, redactor))  # type: ignore[arg-type]
    return generate_latest(registry).decode("utf-8")


def render_prometheus(
    report: Report,
    console: Console,
    *,
    verbose: bool = False,
    redactor: Redactor | None = None,
    context: ReportContext | None = None,
) -> None:
    """Write the exposition text to ``console`` verbatim."""
    del context  # the context belongs to the ticket (markdown)
    del verbose
    console.out(prometheus_text(report, redactor=redactor).rstrip("\n"), highlight=False)
