"""JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters, Azure, CircleCI).

Shape (the common denominator every major CI reads)::

    <testsuites name="regdoctor" tests= failures= errors= skipped= time=>
      <testsuite name="TARGET" tests= failures= errors= skipped= time= timestamp=>
        <properties><property name="status" value="error"/>...</properties>
        <testcase classname="regdoctor.phase" name="TARGET: dns" time=>        (one per phase)
          <failure type="tcp.refused" message="...">remediation</failure>      (phase failed)
          <error .../>                                                          (phase crashed)
          <skipped message="not run because the tcp phase failed"/>
        </testcase>
        <testcase classname="regdoctor.rule" name="TARGET: tcp-refused">       (one per rule
          <failure type="tcp.refused" message="[error] ...">...</failure>       that fired)
        </testcase>
      </testsuite>
    </testsuites>

Error and warning findings are failures (``--fail-on`` decides whether a warning fails
the job, through the exit code); info findings pass with their text in
``<system-out>``. Everything goes through the redactor; characters XML 1.0 cannot carry
are escaped visibly.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

from rich.console import Console

from regdoctor.escape import clip, safe_text
from regdoctor.model import Finding, PhaseStatus, Report, ReportContext, Severity, TargetReport
from regdoctor.redact.secrets import Redactor, redact
from regdoctor.render.commands import step_groups

__all__ = ["junit_xml", "render_junit"]

_MESSAGE_CHARS = 500
_TEXT_CHARS = 8000
# Not allowed in XML 1.0 even as references (safe_text already escapes C0/C1 controls).
_XML_ILLEGAL = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _seconds(ms: float | None) -> str:
    if ms is None or not isinstance(ms, int | float) or not math.isfinite(ms):
        return "0"
    return f"{ms / 1000:.3f}"


class _JUnit:
    def __init__(self, redactor: Redactor | None) -> None:
        self.redact: Callable[[str], str] = redactor.redact if redactor is not None else redact

    def text(self, value: object, limit: int = _TEXT_CHARS, *, newlines: bool = True) -> str:
        if value is None:
            return ""
        raw = value if isinstance(value, str) else str(value)
        cleaned = safe_text(self.redact(raw), keep_newlines=newlines)
        return clip(_XML_ILLEGAL.sub("?", cleaned), limit)

    def attr(self, value: object, limit: int = _MESSAGE_CHARS) -> str:
        return self.text(value, limit, newlines=False)

    def build(self, report: Report) -> ET.Element:
        root = ET.Element("testsuites", name="regdoctor")
        totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for target in (*report.probed, *report.configs):
            suite = self.suite(target, report)
            root.append(suite)
            for key in totals:
                totals[key] += int(suite.get(key, "0"))
        for key, value in totals.items():
            root.set(key, str(value))
        root.set("time", _seconds(report.duration_ms))
        root.set("timestamp", self.attr(report.started_at))
        return root

    def suite(self, target: TargetReport, report: Report) -> ET.Element:
        name = self.attr(target.target.raw)
        suite = ET.Element("testsuite", name=name)
        suite.set("timestamp", self.attr(report.started_at))
        suite.set("time", _seconds(target.duration_ms))
        properties = ET.SubElement(suite, "properties")
        for key, value in (
            ("status", target.status),
            ("kind", target.target.kind),  # "config": a configuration file, not a target
            ("registry", target.target.registry),
            ("regdoctor_version", report.version),
        ):
            ET.SubElement(properties, "property", name=key, value=self.attr(value))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        by_phase: dict[str, list[Finding]] = {}
        for finding in target.findings:
            by_phase.setdefault(finding.phase, []).append(finding)
        for phase in target.phases:
            case = ET.SubElement(
                suite,
                "testcase",
                classname="regdoctor.phase",
                name=self.attr(f"{target.target.raw}: {phase.name}"),
                time=_seconds(phase.duration_ms),
            )
            counts["tests"] += 1
            related = [f for f in by_phase.get(phase.name, []) if f.severity is not Severity.INFO]
            category = related[0].category if related else "other"
            if phase.status is PhaseStatus.FAILED:
                counts["failures"] += 1
                why = phase.error or (related[0].title if related else "")
                failure = ET.SubElement(
                    case,
                    "failure",
                    type=self.attr(category),
                    message=self.attr(f"{phase.name} failed: {why}"),
                )
                failure.text = self.details(related)
            elif phase.status is PhaseStatus.CRASHED:
                counts["errors"] += 1
                error = ET.SubElement(
                    case, "error", type="probe.crashed", message=self.attr(phase.error or "crashed")
                )
                error.text = self.details(related)
            elif phase.status in (PhaseStatus.SKIPPED, PhaseStatus.NOT_APPLICABLE):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=self.attr(phase.reason or str(phase.status)))
        for finding in target.findings:
            case = ET.SubElement(
                suite,
                "testcase",
                classname="regdoctor.rule",
                name=self.attr(f"{target.target.raw}: {finding.rule}"),
                time="0",
            )
            counts["tests"] += 1
            if finding.severity is Severity.INFO:
                out = ET.SubElement(case, "system-out")
                out.text = self.details([finding])
                continue
            counts["failures"] += 1
            failure = ET.SubElement(
                case,
                "failure",
                type=self.attr(finding.category),
                message=self.attr(f"[{finding.severity}] {finding.category}: {finding.title}"),
            )
            failure.text = self.details([finding])
        for key, count in counts.items():
            suite.set(key, str(count))
        return suite

    def details(self, findings: list[Finding]) -> str:
        parts: list[str] = []
        for finding in findings:
            parts.append(
                f"[{finding.severity}] {finding.category} ({finding.rule}): {finding.title}"
            )
            if finding.explanation:
                parts.append(finding.explanation.strip())
            for number, step in enumerate(finding.remediation, 1):
                parts.append(f"fix {number}. {step.text}")
                # checks, then the fix; runtimes with the same command together; each
                # command below its label, flush left (a heredoc in it still ends)
                shown, folded = step_groups(step)
                for group in shown + folded:
                    parts.append(f"    {group.label}:")
                    parts.append(group.command)
            parts.append("")
        return self.text("\n".join(parts).strip())


def junit_xml(report: Report, *, redactor: Redactor | None = None) -> str:
    """The JUnit XML document for ``report``."""
    root = _JUnit(redactor).build(report)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def render_junit(
    report: Report,
    console: Console,
    *,
    verbose: bool = False,
    redactor: Redactor | None = None,
    context: ReportContext | None = None,
) -> None:
    """Write the JUnit XML to ``console`` verbatim."""
    del context  # the context belongs to the ticket (markdown)
    del verbose
    console.out(junit_xml(report, redactor=redactor).rstrip("\n"), highlight=False)
