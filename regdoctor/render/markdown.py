"""The support-ticket report (GitHub/GitLab-flavoured Markdown, also readable in Jira).

Sections: a verdict line; the environment (regdoctor, Python, OS, container runtimes
found and whether their daemons run); the effective configuration summary; per target a
phase table and the findings with their remediation; the exact command line.

Everything taken from the report or the machine goes through the redactor (secrets,
and with ``--redact-hosts`` host and user names), and untrusted text only ever appears
inside code spans or fenced code blocks whose fence is longer than any backtick run in
it: a server cannot inject links, images, HTML or headings into the ticket.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rich.console import Console

from regdoctor.escape import clip, safe_text
from regdoctor.model import (
    Finding,
    HostInfo,
    PhaseStatus,
    Report,
    ReportContext,
    Severity,
    TargetReport,
)
from regdoctor.redact.secrets import Redactor, redact

__all__ = ["markdown_text", "render_markdown"]

_STATUS_WORD = {"ok": "✅ OK", "warning": "⚠️ WARNING", "error": "❌ ERROR"}
_PHASE_WORD = {
    PhaseStatus.OK: "✅ ok",
    PhaseStatus.WARN: "⚠️ warn",
    PhaseStatus.FAILED: "❌ failed",
    PhaseStatus.SKIPPED: "⏭️ skipped",
    PhaseStatus.CRASHED: "💥 crashed",
    PhaseStatus.NOT_APPLICABLE: "n/a",
}
_CELL_CHARS = 160
_PROSE_CHARS = 3000
_EVIDENCE_CHARS = 1500


def render_markdown(
    report: Report,
    console: Console,
    *,
    verbose: bool = False,
    redactor: Redactor | None = None,
    context: ReportContext | None = None,
) -> None:
    """Write the Markdown report to ``console`` verbatim (no Rich markup, no wrapping)."""
    text = markdown_text(report, verbose=verbose, redactor=redactor, context=context)
    console.out(text.rstrip("\n"), highlight=False)


def markdown_text(
    report: Report,
    *,
    verbose: bool = False,
    redactor: Redactor | None = None,
    context: ReportContext | None = None,
) -> str:
    """The Markdown report as a string. ``context`` (host, configuration files,
    environment) is what the command collected; without it those sections are left out."""
    return _Markdown(redactor, verbose).render(report, context or ReportContext())


def _backtick_run(text: str) -> int:
    runs = [len(m) for m in re.findall(r"`+", text)]
    return max(runs, default=0)


def code(text: str) -> str:
    """An inline code span holding ``text`` literally (also inside a table cell)."""
    text = text.replace("\n", " ").replace("|", "\u2758")  # a pipe would end the cell
    if not text:
        return ""
    ticks = "`" * (_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(text: str, info: str = "") -> list[str]:
    """A fenced code block holding ``text`` literally."""
    ticks = "`" * max(3, _backtick_run(text) + 1)
    return [f"{ticks}{info}", *text.splitlines(), ticks]


def _ms(value: float | None) -> str:
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return ""
    return "<1 ms" if value < 1 else f"{value:,.0f} ms"


class _Markdown:
    def __init__(self, redactor: Redactor | None, verbose: bool) -> None:
        self.redact: Callable[[str], str] = redactor.redact if redactor is not None else redact
        self.verbose = verbose
        self.lines: list[str] = []
        #: The runtimes the report judged: their commands first, the others folded.
        self.scope: tuple[str, ...] = ()

    def clean(self, value: object, limit: int = _CELL_CHARS) -> str:
        if value is None:
            return ""
        raw = value if isinstance(value, str) else str(value)
        return clip(safe_text(self.redact(raw), keep_newlines=False), limit)

    def block(self, value: object, limit: int = _EVIDENCE_CHARS) -> str:
        raw = value if isinstance(value, str) else str(value)
        return clip(safe_text(self.redact(raw), keep_newlines=True), limit)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    # -- sections -------------------------------------------------------------------------

    def render(self, report: Report, context: ReportContext) -> str:
        self.scope = tuple(report.runtimes)
        findings = report.findings
        errors = sum(f.severity is Severity.ERROR for f in findings)
        warnings = sum(f.severity is Severity.WARNING for f in findings)
        self.add(
            f"## regdoctor report: {_STATUS_WORD.get(report.status, report.status)}",
            "",
            f"{len(report.targets)} target(s), {errors} error(s), {warnings} warning(s); "
            f"checked {self.clean(report.started_at)} in {report.duration_ms / 1000:.2f} s"
            + (" (the global deadline was reached)" if report.deadline_hit else "")
            + ".",
            "",
        )
        self.summary(report)
        if context.host is not None:
            self.environment(context.host)
        self.configuration(context)
        for target in report.targets:
            self.target(target)
        self.command(report)
        return "\n".join(self.lines).rstrip("\n") + "\n"

    def summary(self, report: Report) -> None:
        self.add("| target | status | leading finding |", "|---|---|---|")
        for target in report.targets:
            leading = next((f for f in target.findings if f.leading), None)
            lead = (
                f"{code(self.clean(leading.category))} {code(self.clean(leading.title))}"
                if leading
                else ""
            )
            self.add(
                f"| {code(self.clean(target.target.raw))} "
                f"| {_STATUS_WORD.get(target.status, target.status)} | {lead} |"
            )
        self.add("")

    def environment(self, host: HostInfo) -> None:
        self.add("### Environment", "", "| | |", "|---|---|")
        self.add(f"| regdoctor | {code(self.clean(host.regdoctor))} |")
        self.add(f"| Python | {code(self.clean(host.python))} |")
        self.add(f"| OS | {code(self.clean(host.os))} |")
        self.add(f"| kernel | {code(self.clean(f'{host.kernel} {host.machine}'.strip()))} |")
        self.add("", "| runtime | binary | version | daemon |", "|---|---|---|---|")
        for runtime in host.runtimes:
            if runtime.binary is None:
                binary, version = "not found", ""
            else:
                binary = code(self.clean(runtime.binary))
                version = code(self.clean(runtime.version)) if runtime.version else "?"
            if runtime.daemon is None:
                daemon = "(none)"
            elif runtime.daemon_running is None:
                daemon = f"{code(runtime.daemon)} unknown"
            else:
                state = "running" if runtime.daemon_running else "not running"
                daemon = f"{code(runtime.daemon)} {state}"
            self.add(f"| {runtime.name} | {binary} | {version} | {daemon} |")
        self.add("")

    def configuration(self, context: ReportContext) -> None:
        rows, env = context.config_files, context.environment
        if context.host is None and not rows and not env:
            return  # not collected for this report
        self.add("### Effective configuration", "")
        if not rows:
            self.add("No container runtime configuration file was found.", "")
        else:
            self.add("| file | read by | state | why |", "|---|---|---|---|")
            for path, kind, state, provenance in rows:
                self.add(
                    f"| {code(self.clean(path))} | {self.clean(kind)} | {self.clean(state)} "
                    f"| {self.clean(provenance)} |"
                )
            self.add("")
        if env:
            self.add("| environment | value |", "|---|---|")
            for name, value in env:
                self.add(f"| {code(self.clean(name))} | {code(self.clean(value))} |")
            self.add("")

    def target(self, target: TargetReport) -> None:
        endpoint = target.endpoint if isinstance(target.endpoint, Mapping) else {}
        status = _STATUS_WORD.get(target.status, target.status)
        self.add(f"### {status} {code(self.clean(target.target.raw))}", "")
        where = []
        if endpoint.get("scheme"):
            where.append(f"{endpoint.get('scheme')}://{target.target.hostport}")
        if endpoint.get("address"):
            where.append(f"via {endpoint.get('address')}")
        where.append(f"in {target.duration_ms / 1000:.2f} s")
        if target.target.source and target.target.source != "command line":
            where.append(f"from {target.target.source}")
        self.add(code(self.clean(" ".join(where))), "")
        self.add("| phase | status | time | detail |", "|---|---|---|---|")
        for phase in target.phases:
            detail = phase.error or phase.reason or ""
            word = _PHASE_WORD.get(phase.status, str(phase.status))
            self.add(
                f"| {self.clean(phase.name)} | {word} | {_ms(phase.duration_ms)} "
                f"| {code(self.clean(detail)) if detail else ''} |"
            )
        self.add("")
        if target.findings:
            self.add("#### Findings", "")
            for finding in target.findings:
                self.finding(finding, target)
        else:
            self.add("No findings.", "")
        if self.verbose and target.observations:
            self.observations(target)

    def finding(self, finding: Finding, target: TargetReport) -> None:
        lead = " (most likely cause)" if finding.leading else ""
        self.add(
            f"**[{self.clean(str(finding.severity))}] {code(self.clean(finding.category))} "
            f"{code(self.clean(finding.title, 300))}**{lead}  ",
            f"rule {code(self.clean(finding.rule))}, phase {self.clean(finding.phase)}, "
            f"confidence {self.clean(finding.confidence)}",
            "",
        )
        explanation = self.block(finding.explanation, _PROSE_CHARS)
        if explanation:
            self.add(*fence(explanation, "text"))
            self.add("")
        evidence = self._evidence(finding, target)
        if evidence:
            self.add("Seen:", "")
            self.add(*fence(evidence, "text"))
            self.add("")
        self.remediation(finding)
        if finding.references:
            refs = ", ".join(code(self.clean(r, 300)) for r in finding.references)
            self.add(f"References: {refs}", "")

    def remediation(self, finding: Finding) -> None:
        """The steps as prose, each followed by one ``sh`` block per group of runtimes
        with the same command (see :mod:`regdoctor.render.commands`): the report's
        runtimes first, the others in ``<details>`` unless ``--verbose``."""
        if not finding.remediation:
            return
        from regdoctor.render.commands import markdown_remediation

        self.add("How to fix:", "")
        self.add(
            *markdown_remediation(
                finding.remediation,
                scope=self.scope,
                clean_prose=lambda text: self.clean(text, _PROSE_CHARS),
                clean_command=lambda command: self.block(command, _PROSE_CHARS),
                fold=not self.verbose,
            )
        )

    def _evidence(self, finding: Finding, target: TargetReport) -> str:
        parts: list[str] = []
        for index in finding.observations[:3]:
            if not isinstance(index, int) or not 0 <= index < len(target.observations):
                continue
            observation = target.observations[index]
            text = observation.error or observation.evidence
            if text:
                parts.append(self.block(text, 600))
        return "\n".join(dict.fromkeys(parts))

    def observations(self, target: TargetReport) -> None:
        self.add("<details><summary>observations</summary>", "")
        self.add("| kind | step | ok | facts / error |", "|---|---|---|---|")
        for observation in target.observations:
            facts = observation.facts if isinstance(observation.facts, Mapping) else {}
            shown = ", ".join(f"{k}={_short(v)}" for k, v in list(facts.items())[:12])
            detail = observation.error or shown
            self.add(
                f"| {code(self.clean(observation.kind))} | {self.clean(observation.step or '')} "
                f"| {'yes' if observation.ok else 'no'} | {code(self.clean(detail, 400))} |"
            )
        self.add("", "</details>", "")

    def command(self, report: Report) -> None:
        if not report.command:
            return
        # Redacted as a whole: "--password VALUE" is two words.
        line = " ".join(shlex.quote(str(word)) for word in report.command)
        self.add("### Command line", "")
        self.add(*fence(self.block(line, 4000), "sh"))
        self.add("")


def _short(value: Any) -> str:
    if isinstance(value, list | tuple):
        items: Iterable[Any] = list(value)[:4]
        more = "…" if len(value) > 4 else ""
        return "[" + ",".join(str(v) for v in items) + more + "]"
    return str(value)[:80]
