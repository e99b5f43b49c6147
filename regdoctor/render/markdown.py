"""The support-ticket report (GitHub/GitLab-flavoured Markdown, also readable in Jira).

Verdict first, and short enough to paste: the overall verdict; with several targets one
verdict line each; per target that is not healthy a section that starts with its
verdict line (status, target, leading category, the cause in a phrase), then where it
was reached, the runtimes' verdicts, the phases on one line, the leading finding in full
(explanation as prose, what was seen, how to fix, references as links) and the others in
a line each. A healthy target is its one line. By default a target's section stays
within :data:`BUDGET` lines (``--verbose``: everything, with the phase table and the
observations). Then the configuration files (not targets), the environment and the
effective configuration (folded in ``<details>``), and the exact command line.

Everything taken from the report or the machine goes through the redactor (secrets,
and with ``--redact-hosts`` host and user names). Prose is escaped for Markdown (a
server's text cannot open a link, an image, HTML or a heading): backtick spans become
code spans, anything that looks like a URL or a host name in it too; table cells escape
``|`` the GFM way; longer untrusted text goes in fenced blocks whose fence is longer than
any backtick run in it.
"""

from __future__ import annotations

import math
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from rich.console import Console

from regdoctor.escape import clip, safe_text
from regdoctor.model import (
    Finding,
    HostInfo,
    PhaseStatus,
    Report,
    ReportContext,
    TargetReport,
)
from regdoctor.redact.secrets import Redactor, redact
from regdoctor.render.md_text import cell, code, fence, link, prose

__all__ = ["BUDGET", "markdown_text", "render_markdown"]

#: The most lines a target's section takes by default (``--verbose`` shows all).
BUDGET = 40

_STATUS_WORD = {"ok": "✅ OK", "warning": "⚠️ WARNING", "error": "❌ ERROR"}
_PHASE_WORD = {
    PhaseStatus.OK: "✅ ok",
    PhaseStatus.WARN: "⚠️ warn",
    PhaseStatus.FAILED: "❌ failed",
    PhaseStatus.SKIPPED: "⏭️ skipped",
    PhaseStatus.CRASHED: "💥 crashed",
    PhaseStatus.NOT_APPLICABLE: "n/a",
}
_PHASE_MARK = {
    PhaseStatus.OK: "✅",
    PhaseStatus.WARN: "⚠️",
    PhaseStatus.FAILED: "❌",
    PhaseStatus.SKIPPED: "⏭️",
    PhaseStatus.CRASHED: "💥",
    PhaseStatus.NOT_APPLICABLE: "n/a",
}
_WORDS = {"ok": "ok", "warning": "warning", "error": "error"}
_TOOLS = ("docker", "podman", "containerd", "kubernetes")
_CELL_CHARS = 160
_PROSE_CHARS = 3000
#: A fix command is never cut (a cut script pasted runs half of it): a bound only
#: against a runaway value.
_COMMAND_CHARS = 16000
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
        #: Over budget: the commands of runtimes not judged are named, not folded in.
        self.drop_others = False

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
        targets, configs = report.probed, report.configs
        counts = Counter(t.status for t in targets)
        said = ", ".join(
            f"{counts[s]} {_WORDS[s]}{'s' if counts[s] != 1 and s != 'ok' else ''}"
            for s in ("error", "warning", "ok")
            if counts[s]
        )
        files = ""
        if configs:
            bad = sum(c.status != "ok" for c in configs)
            files = f"; {len(configs)} configuration file{'s' if len(configs) != 1 else ''}"
            files += f", {bad} with problems" if bad else ""
        self.add(
            f"## regdoctor report: {_STATUS_WORD.get(report.status, report.status)}",
            "",
            f"{len(targets)} target{'s' if len(targets) != 1 else ''}: {said or 'none'}{files}; "
            f"checked {self.clean(report.started_at)} in {report.duration_ms / 1000:.2f} s"
            + (" (the global deadline was reached)" if report.deadline_hit else "")
            + ".",
            "",
        )
        if len(targets) > 1:
            self.add(*(f"- {self.verdict(t)}" for t in targets), "")
        for target in targets:
            if target.status != "ok" or self.verbose:
                self.target(target)
        if configs:
            self.configs(configs)
        if context.host is not None:
            self.environment(context.host)
        self.configuration(context)
        self.command(report)
        return "\n".join(self.lines).rstrip("\n") + "\n"

    def verdict(self, target: TargetReport) -> str:
        """The verdict line: status, target, leading category, the cause in a phrase."""
        from regdoctor.render.verdict_line import verdict_of

        verdict = verdict_of(target)
        line = (
            f"{_STATUS_WORD.get(verdict.status, verdict.status)} {code(self.clean(verdict.target))}"
        )
        cause = prose(self.clean(verdict.cause, 300))
        if verdict.category:
            return f"{line} · {code(self.clean(verdict.category))}: {cause}"
        return f"{line}: {cause}"

    def environment(self, host: HostInfo) -> None:
        self.add("<details><summary>Environment</summary>", "")
        self.add("| | |", "|---|---|")
        self.add(f"| regdoctor | {cell(self.clean(host.regdoctor))} |")
        self.add(f"| Python | {cell(self.clean(host.python))} |")
        self.add(f"| OS | {cell(self.clean(host.os))} |")
        self.add(f"| kernel | {cell(self.clean(f'{host.kernel} {host.machine}'.strip()))} |")
        self.add("", "| runtime | binary | version | daemon |", "|---|---|---|---|")
        for runtime in host.runtimes:
            if runtime.binary is None:
                binary, version = "not found", ""
            else:
                binary = cell(self.clean(runtime.binary))
                version = cell(self.clean(runtime.version)) if runtime.version else "?"
            if runtime.daemon is None:
                daemon = "(none)"
            elif runtime.daemon_running is None:
                daemon = f"{cell(runtime.daemon)} unknown"
            else:
                state = "running" if runtime.daemon_running else "not running"
                daemon = f"{cell(runtime.daemon)} {state}"
            self.add(f"| {runtime.name} | {binary} | {version} | {daemon} |")
        self.add("", "</details>", "")

    def configuration(self, context: ReportContext) -> None:
        rows, env = context.config_files, context.environment
        if context.host is None and not rows and not env:
            return  # not collected for this report
        self.add("<details><summary>Effective configuration</summary>", "")
        if not rows:
            self.add("No container runtime configuration file was found.", "")
        else:
            self.add("| file | read by | state | why |", "|---|---|---|---|")
            for path, kind, state, provenance in rows:
                self.add(
                    f"| {cell(self.clean(path))} | {cell(self.clean(kind))} "
                    f"| {cell(self.clean(state))} | {cell(self.clean(provenance))} |"
                )
            self.add("")
        if env:
            self.add("| environment | value |", "|---|---|")
            for name, value in env:
                self.add(f"| {cell(self.clean(name))} | {cell(self.clean(value))} |")
            self.add("")
        self.add("</details>", "")

    def configs(self, configs: Sequence[TargetReport]) -> None:
        """Configuration files are not targets: a line each, the problems of the others."""
        self.add("### Configuration files", "")
        for config in configs:
            self.add(f"- {self.verdict(config)}")
            if config.status != "ok":
                for finding in _ordered(config.findings):
                    self.add(f"  - {self.finding_line(finding)}")
        self.add("")

    # -- a target ---------------------------------------------------------------------------

    def target(self, target: TargetReport) -> None:
        """The target's section, within :data:`BUDGET` lines unless verbose."""
        head = [f"### {self.verdict(target)}", "", *self.where(target), ""]
        if self.verbose:
            head[-1:] = ["", *self.phase_table(target)]
        findings = _ordered(target.findings)
        if not findings:
            self.add(*head)
            return
        lead, others = findings[0], findings[1:]
        if self.verbose:
            body = [line for f in findings for line in self.finding(f, target)]
            self.add(*head, *body)
            self.observations(target)
            return
        # Shorter and shorter until it fits: the leading finding keeps its fix.
        for level in range(len(_SHORTER)):
            full_others, keep_refs, keep_seen, own_runtimes, keep_why, drop = _SHORTER[level]
            self.drop_others = drop  # the runtimes not judged: one line, not <details>
            shown = _for_its_runtimes(lead, first_only=own_runtimes > 1) if own_runtimes else lead
            body = self.finding(
                shown, target, references=keep_refs, seen=keep_seen, explanation=keep_why
            )
            if shown is not lead:
                body += ["(Commands for the other runtimes: `--verbose`.)", ""]
            room = BUDGET - len(head) - len(body)
            body += self.others(others, target, full=full_others, room=room)
            if len(head) + len(body) <= BUDGET:
                break
        self.add(*head, *body)

    def where(self, target: TargetReport) -> list[str]:
        """Where the target was reached, the runtimes' verdicts, the phases: 2 lines."""
        endpoint = target.endpoint if isinstance(target.endpoint, Mapping) else {}
        where = []
        if endpoint.get("scheme"):
            where.append(f"{endpoint.get('scheme')}://{target.target.hostport}")
        if endpoint.get("address") and endpoint.get("address") != target.target.host:
            where.append(f"via {endpoint.get('address')}")
        reached = f"Reached {code(self.clean(' '.join(where)))} in " if where else "Took "
        line = f"{reached}{target.duration_ms / 1000:.2f} s"
        if target.target.source and target.target.source != "command line":
            line += f", from {code(self.clean(target.target.source))}"
        groups: dict[tuple[str, str | None], list[str]] = {}
        for name, verdict in target.runtimes.items():
            groups.setdefault((verdict.status, verdict.category), []).append(name)
        said = []
        for (status, category), names in groups.items():
            word = "pull" if status != "error" else "fail"
            word += "s" if len(names) == 1 else ""
            why = f" ({code(self.clean(category))})" if category and status != "ok" else ""
            said.append(f"{', '.join(names)} {word}{why}")
        if said:
            line += ". Runtimes: " + "; ".join(said)
        phases = " · ".join(
            f"{self.clean(p.name)} {_PHASE_MARK.get(p.status, str(p.status))}"
            for p in target.phases
        )
        return [line + ".  ", f"Phases: {phases}"]

    def phase_table(self, target: TargetReport) -> list[str]:
        lines = ["| phase | status | time | detail |", "|---|---|---|---|"]
        for phase in target.phases:
            detail = phase.error or phase.reason or ""
            word = _PHASE_WORD.get(phase.status, str(phase.status))
            lines.append(
                f"| {self.clean(phase.name)} | {word} | {_ms(phase.duration_ms)} "
                f"| {cell(self.clean(detail)) if detail else ''} |"
            )
        return [*lines, ""]

    def finding(
        self,
        finding: Finding,
        target: TargetReport,
        *,
        references: bool = True,
        seen: bool = True,
        explanation: bool = True,
    ) -> list[str]:
        """A finding in full: title, explanation, what was seen, the fix, references."""
        lead = ", most likely cause" if finding.leading else ""
        lines = [
            f"**{prose(self.clean(finding.title, 300))}** "
            f"({self.clean(str(finding.severity))}, {code(self.clean(finding.category))}, "
            f"rule {code(self.clean(finding.rule))}{lead})",
            "",
        ]
        why = self.clean(finding.explanation, _PROSE_CHARS)
        if why and explanation:
            lines += [prose(why), ""]
        evidence = self._evidence(finding, target) if seen else ""
        # what the explanation already quotes is not repeated
        if evidence and " ".join(evidence.split()) not in " ".join(why.split()):
            if "\n" in evidence:
                lines += ["Seen:", "", *fence(evidence, "text"), ""]
            else:
                lines += [f"Seen: {code(evidence)}", ""]
        saved, self.lines = self.lines, []
        self.remediation(finding)
        lines += self.lines
        self.lines = saved
        if references and finding.references:
            refs = ", ".join(link(self.clean(r, 300)) for r in finding.references)
            lines += [f"References: {refs}", ""]
        return lines

    def others(
        self, findings: Sequence[Finding], target: TargetReport, *, full: bool, room: int
    ) -> list[str]:
        """The findings after the leading one: in full, or a line each within ``room``."""
        if not findings:
            return []
        if full:
            return [line for f in findings for line in self.finding(f, target)]
        lines = ["Also found:", ""]
        for index, finding in enumerate(findings):
            if len(lines) + 3 > room and index < len(findings) - 1:
                rest = len(findings) - index
                lines.append(f"- and {rest} more (`--verbose` shows every finding)")
                break
            lines.append(f"- {self.finding_line(finding)}")
        return [*lines, ""]

    def finding_line(self, finding: Finding) -> str:
        """A finding in one line: severity, category, title, its first fix in words."""
        line = (
            f"[{self.clean(str(finding.severity))}] {code(self.clean(finding.category))} "
            f"{prose(self.clean(finding.title, 300))}"
        )
        if finding.remediation:
            line += f". Fix: {prose(self.clean(finding.remediation[0].text, 400))}"
        return line

    def remediation(self, finding: Finding) -> None:
        """The steps as prose, each followed by one ``sh`` block per group of runtimes
        with the same command (see :mod:`regdoctor.render.commands`): the report's
        runtimes first, the others in ``<details>`` unless ``--verbose``."""
        if not finding.remediation:
            return
        from regdoctor.render.commands import finding_scope, markdown_remediation

        self.add("How to fix:", "")
        self.add(
            *markdown_remediation(
                finding.remediation,
                scope=finding_scope(self.scope, finding.runtimes),
                clean_prose=lambda text: self.clean(text, _PROSE_CHARS),
                clean_command=lambda command: self.block(command, _COMMAND_CHARS),
                fold=not self.verbose,
                drop_others=self.drop_others,
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
                f"| {cell(self.clean(observation.kind))} "
                f"| {cell(self.clean(observation.step or ''))} "
                f"| {'yes' if observation.ok else 'no'} | {cell(self.clean(detail, 400))} |"
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


#: How a target's section is shortened, one level at a time, until it fits the budget:
#: (other findings in full, references, what was seen, the leading finding's commands:
#: 0 all, 1 for the runtimes it applies to, 2 for the first of them; its explanation;
#: the runtimes the report did not judge named in one line instead of folded in).
_SHORTER: tuple[tuple[bool, bool, bool, int, bool, bool], ...] = (
    (True, True, True, 0, True, False),
    (True, True, True, 0, True, True),
    (False, True, True, 0, True, True),
    (False, False, True, 0, True, True),
    (False, False, False, 0, True, True),
    (False, False, False, 1, True, True),
    (False, False, False, 1, False, True),
    (False, False, False, 2, False, True),
)


def _for_its_runtimes(finding: Finding, *, first_only: bool = False) -> Finding:
    """``finding`` with commands only for the runtimes it applies to (when it says),
    or only for the first of them that has some."""
    keep = [t for t in _TOOLS if t in finding.runtimes] or list(_TOOLS)
    if first_only:
        having = [t for t in keep if any(t in step.commands for step in finding.remediation)]
        keep = having[:1]
    elif not finding.runtimes:
        return finding
    steps = tuple(
        replace(
            step,
            commands={k: v for k, v in step.commands.items() if k in keep},
            checks={k: v for k, v in step.checks.items() if k in keep},
        )
        for step in finding.remediation
    )
    if steps == finding.remediation:
        return finding
    return replace(finding, remediation=steps)


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Leading first, then by severity, in the order the rules gave them."""
    ranked = list(enumerate(findings))
    ranked.sort(key=lambda p: (not p[1].leading, p[1].severity.rank, p[0]))
    return [f for _, f in ranked]


def _short(value: Any) -> str:
    if isinstance(value, list | tuple):
        items: Iterable[Any] = list(value)[:4]
        more = "…" if len(value) > 4 else ""
        return "[" + ",".join(str(v) for v in items) + more + "]"
    return str(value)[:80]
