"""The terminal report (Rich), readable in colour, with NO_COLOR, piped, and at 80 columns.

(About 600 lines: one layout, whole or in pieces for a streamed run; the remediation
commands are about to move to their own module.)

Layout, per target::

    x ERROR  registry.example.com:5000  tls.expired: expired 2026-12-04, 2 days ago
      https://registry.example.com:5000 via 192.0.2.5  1.2 s
      x docker, containerd: fails, The registry's certificate has expired
      + config  ok           1 ms
      + dns     ok           3 ms  192.0.2.5
      x tls     failed      34 ms  x509: certificate has expired
      - http    skipped            not run: tls failed

      [error] tls.expired  The registry's certificate has expired  (tls.cert-expired)
          The certificate ... (explanation, wrapped)
          seen: x509: certificate has expired or is not yet valid
          1. Renew the certificate.
               docker, podman:
    sudo systemctl restart docker

then the configuration files (not targets: a line each, and their findings), and one
summary line at the end. Status words, marks and colours exist only here.
Everything taken from the report goes through :func:`regdoctor.redact.secrets.redact` (or the
given :class:`~regdoctor.redact.secrets.Redactor`), then :func:`~regdoctor.escape.safe_text`,
and into text objects, never into markup: :class:`rich.text.Text` for Rich's Console (a
terminal: styles), :class:`~regdoctor.render.plain_text.PlainText` for a
:class:`~regdoctor.render.plain_console.PlainConsole` (piped: the same lines, laid out
the same way, without importing Rich). One renderer says the same things to both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from regdoctor.escape import MAX_LINE, clip, safe_lines, safe_text
from regdoctor.model import PHASES, PhaseStatus, Severity
from regdoctor.redact.secrets import Redactor, redact
from regdoctor.render.commands import (
    command_lines,
    finding_scope,
    ordered_runtimes,
    paste_lines,
    step_groups,
)
from regdoctor.render.plain_console import PlainConsole

if TYPE_CHECKING:
    from rich.console import Console, OverflowMethod
    from rich.text import Text

    from regdoctor.model import (
        Finding,
        Observation,
        PhaseResult,
        RemediationStep,
        Report,
        ReportContext,
        TargetReport,
    )

__all__ = ["PlainStream", "render_plain"]

# (unicode mark, ascii mark, word, style)
_PHASE_LOOK: dict[str, tuple[str, str, str, str]] = {
    PhaseStatus.OK: ("✓", "+", "ok", "green"),
    PhaseStatus.WARN: ("!", "!", "warn", "yellow"),
    PhaseStatus.FAILED: ("✗", "x", "failed", "red"),
    PhaseStatus.SKIPPED: ("\u2013", "-", "skipped", "dim"),
    PhaseStatus.CRASHED: ("#", "#", "crashed", "magenta bold"),
    PhaseStatus.NOT_APPLICABLE: ("·", ".", "n/a", "dim"),
}
_STATUS_LOOK: dict[str, tuple[str, str, str, str]] = {
    "ok": ("✓", "+", "OK", "green bold"),
    "warning": ("!", "!", "WARNING", "yellow bold"),
    "error": ("✗", "x", "ERROR", "red bold"),
}
_SEVERITY_STYLE: dict[str, str] = {
    "error": "red bold",
    "warning": "yellow bold",
    "info": "cyan",
}

#: Below this many columns for a hanging body, the body goes on its own lines instead.
_MIN_BODY = 30
#: Limits for untrusted values on the terminal.
_EVIDENCE_LINES = 4
_VERBOSE_EVIDENCE_LINES = 12
_FACT_VALUE_CHARS = 80
_COMMAND_CHARS = 4000
#: Rule-written prose (explanations, steps) may embed server data but is long by nature.
_PROSE_CHARS = 3000


def render_plain(
    report: Report,
    console: Console,
    *,
    verbose: bool = False,
    redactor: Redactor | None = None,
    context: ReportContext | None = None,
    verdicts_shown: bool = False,
) -> None:
    """Print ``report`` to ``console`` for a human reader.

    ``verbose`` also lists each target's observations. ``redactor`` (default: the
    pattern-based :func:`regdoctor.redact.secrets.redact`) masks secrets in every value shown.
    ``verdicts_shown``: the verdict lines are already above (a piped ``check`` streams
    them): each target's block starts with its name instead of repeating its line.
    """
    del context  # the context belongs to the ticket (markdown)
    renderer = _PlainRenderer(
        console, verbose=verbose, redactor=redactor, plain_text=isinstance(console, PlainConsole)
    )
    renderer.verdicts_shown = verdicts_shown
    renderer.render(report)


class PlainStream:
    """The plain report in pieces, for a streamed ``check``: a target's verdict line or
    its whole block as soon as it is done, then the configuration files and the summary
    line at the end. Pieces go to ``console`` as they are made (a live status line on
    the same console stays below them)."""

    def __init__(
        self,
        console: Console,
        *,
        verbose: bool = False,
        redactor: Redactor | None = None,
        runtimes: Sequence[str] = (),
    ) -> None:
        self._renderer = _PlainRenderer(
            console,
            verbose=verbose,
            redactor=redactor,
            plain_text=isinstance(console, PlainConsole),
        )
        #: The runtimes the run judges: their commands first, the others folded.
        self._renderer.scope = tuple(runtimes)
        self._blocks = 0

    def verdict(self, tr: TargetReport, *, wrap: bool = True) -> None:
        """The verdict line alone; ``wrap=False``: on one line whatever the width
        (``--summary``: a log or a chat keeps it whole)."""
        self._renderer.verdict(tr, wrap=wrap)
        self._renderer.flush()

    def target(self, tr: TargetReport) -> None:
        if self._blocks:
            self._renderer.emit()
        self._blocks += 1
        self._renderer.target(tr)
        self._renderer.flush()

    def tail(self, report: Report) -> None:
        """The configuration files and the summary line."""
        if self._blocks:
            self._renderer.emit()
        self._renderer.tail(report)
        self._renderer.flush()


class _PlainRenderer:
    def __init__(
        self,
        console: Console,
        *,
        verbose: bool,
        redactor: Redactor | None,
        plain_text: bool = False,
    ) -> None:
        self.console = console
        self.verbose = verbose
        #: The lines' class: Rich's Text (styles, for Rich's Console), or with
        #: ``plain_text`` (a PlainConsole) PlainText: the same layout, no Rich imported
        #: (:mod:`regdoctor.render.plain_text`).
        self.Text: type[Text]
        self.cell_len: Callable[[str], int]
        if plain_text:
            from regdoctor.render.cells import cell_len
            from regdoctor.render.plain_text import PlainText

            self.Text, self.cell_len = cast("type[Text]", PlainText), cell_len
        else:
            from rich.cells import cell_len as rich_cell_len
            from rich.text import Text

            self.Text, self.cell_len = Text, rich_cell_len
        self.redact: Callable[[str], str] = redactor.redact if redactor is not None else redact
        encoding = (console.encoding or "").lower().replace("_", "-")
        self.unicode = encoding.startswith("utf")
        self.ellipsis = "…" if self.unicode else "..."
        self.width = max(console.width, 40)
        self._lines: list[Text | _Raw] = []
        self._unwrapped = False  # a line wider than the console is in _lines
        #: The runtimes the report judged: their commands first, the others folded.
        self.scope: tuple[str, ...] = ()
        #: The verdict lines were printed before the blocks (see :func:`render_plain`).
        self.verdicts_shown = False

    # -- output --------------------------------------------------------------------------

    def emit(self, line: Text | str = "") -> None:
        if isinstance(line, str):
            line = self.Text(line)
        line.rstrip()
        self._lines.append(line)

    def emit_raw(self, line: str, style: str = "") -> None:
        """A line printed exactly as it is (a command): never folded or cut by Rich; a
        line wider than the terminal is wrapped by the terminal, on screen only."""
        self._lines.append(_Raw(line, style))

    def flush(self) -> None:
        overflow: OverflowMethod = "ignore" if self._unwrapped else "fold"
        run: list[Text] = []
        for line in [*self._lines, None]:
            if isinstance(line, _Raw) or line is None:
                if run:
                    block = self.Text("\n").join(run)
                    self.console.print(block, no_wrap=True, overflow=overflow, crop=False)
                    run = []
                if line is not None:
                    self.console.print(
                        self.Text(line.text, style=line.style), soft_wrap=True, highlight=False
                    )
            else:
                run.append(line)
        self._lines = []
        self._unwrapped = False

    def clean(self, value: object, *, max_chars: int | None = MAX_LINE) -> str:
        """One line of untrusted text: redacted, escaped, clipped."""
        if value is None:
            return ""
        raw = value if isinstance(value, str) else str(value)
        cleaned = self.encodable(safe_text(self.redact(raw), keep_newlines=False))
        return cleaned if max_chars is None else clip(cleaned, max_chars, self.ellipsis)

    def encodable(self, value: str) -> str:
        """On a terminal that is not UTF-8, non-ASCII characters as ``\\u`` escapes."""
        if self.unicode or value.isascii():
            return value
        return value.encode("ascii", "backslashreplace").decode("ascii")

    def lines_of(self, value: object, *, max_lines: int, max_line: int = MAX_LINE) -> list[str]:
        """Several lines of untrusted text: redacted, escaped, clipped per line."""
        if value is None:
            return []
        raw = value if isinstance(value, str) else str(value)
        lines = safe_lines(
            self.redact(raw), max_line=max_line, max_lines=max_lines, ellipsis=self.ellipsis
        )
        return [self.encodable(line) for line in lines]

    def hang(self, prefix: Text, body: Text, *, indent: int = 4) -> None:
        """``prefix`` then ``body`` wrapped in the columns right of it (a hanging indent).

        When too little room is left right of the prefix, the body goes below it,
        indented by ``indent``.
        """
        pad = prefix.cell_len
        room = self.width - pad
        if not body.plain:
            self.emit(prefix)
            return
        if room >= _MIN_BODY:
            wrapped = body.wrap(self.console, room, overflow="fold")
            for i, line in enumerate(wrapped):
                self.emit(prefix + line if i == 0 else self.Text(" " * pad) + line)
            return
        self.emit(prefix)
        for line in body.wrap(self.console, max(self.width - indent, 10), overflow="fold"):
            self.emit(self.Text(" " * indent) + line)

    def para(self, body: Text, *, indent: int) -> None:
        """``body`` wrapped at the console width, every line indented."""
        self.hang(self.Text(" " * indent), body, indent=indent)

    def wrap_hanging(self, body: Text, *, indent: int) -> None:
        """``body`` from column 0, its continuation lines indented by ``indent``."""
        if body.cell_len <= self.width:
            self.emit(body)
            return
        for i, line in enumerate(body.wrap(self.console, self.width - indent, overflow="fold")):
            self.emit(line if i == 0 else self.Text(" " * indent) + line)

    def mark(self, look: tuple[str, str, str, str]) -> str:
        return look[0] if self.unicode else look[1]

    # -- report --------------------------------------------------------------------------

    def render(self, report: Report) -> None:
        self.scope = tuple(report.runtimes)
        for i, target in enumerate(report.probed):
            if i:
                self.emit()
            self.target(target)
        if report.probed:
            self.emit()
        self.tail(report)
        self.flush()

    def tail(self, report: Report) -> None:
        """The configuration files (not targets: a section of their own), the summary."""
        if report.configs:
            self.configs(report.configs)
            self.emit()
        self.summary(report)

    def configs(self, configs: Iterable[TargetReport]) -> None:
        """A line per configuration file; the findings of those with problems."""
        self.emit(self.Text("configuration files:", style="bold"))
        for tr in configs:
            self.verdict(tr, indent=2, wrap=False)  # a path stays whole
            for finding in _ordered(tr.findings):
                self.finding(finding, tr.observations)

    def verdict(self, tr: TargetReport, *, indent: int = 0, wrap: bool = True) -> None:
        """The verdict line: status, target, leading category, the cause in a phrase.
        ``wrap=False``: one line whatever the width (``--summary``, a piped run)."""
        from regdoctor.render.verdict_line import verdict_of

        verdict = verdict_of(tr)
        look = _STATUS_LOOK.get(verdict.status, ("?", "?", verdict.status.upper(), ""))
        prefix = self.Text(" " * indent)
        prefix.append(f"{self.mark(look)} {look[2]}", style=look[3])
        prefix.append("  ")
        body = self.Text()
        body.append(self.clean(verdict.target), style="bold")
        body.append("  ")
        if verdict.category:
            body.append(self.clean(verdict.category, max_chars=60), style=look[3])
            body.append(": ")
        body.append(self.clean(verdict.cause, max_chars=300))
        if wrap:
            self.hang(prefix, body, indent=indent + 4)
        else:
            self.emit(prefix + body)
            self._unwrapped = True

    def target(self, tr: TargetReport) -> None:
        if self.verdicts_shown:
            self.emit(self.Text(self.clean(tr.target.raw, max_chars=300), style="bold"))
        else:
            self.verdict(tr)
        self.header(tr)
        self.runtimes(tr)
        for phase in tr.phases:
            self.phase(phase, tr.observations)
        findings = _ordered(tr.findings)
        for finding in findings:
            self.emit()
            self.finding(finding, tr.observations)
        if self.verbose and tr.observations:
            self.emit()
            self.emit(self.Text("  observations:", style="bold"))
            for index, obs in enumerate(tr.observations):
                self.observation(index, obs)
        # Keep memory flat on long reports.
        self.flush()

    def header(self, tr: TargetReport) -> None:
        """Where the target was reached, and in how long (below the verdict line)."""
        line = self.Text("  ")
        endpoint = self.endpoint(tr)
        if endpoint:
            line.append(endpoint)
            line.append("  ")
        line.append(_seconds(tr.duration_ms), style="dim")
        self.wrap_hanging(line, indent=4)

    def runtimes(self, tr: TargetReport) -> None:
        """One line per verdict, runtimes with the same verdict together:
        ``docker: pulls from http://... · podman, containerd: fails, ...``."""
        groups: dict[tuple[str, str], list[str]] = {}
        for name, verdict in tr.runtimes.items():
            groups.setdefault((verdict.status, verdict.reason), []).append(name)
        for (status, reason), names in groups.items():
            look = _STATUS_LOOK.get(status, ("?", "?", status.upper(), ""))
            word = {"ok": "pulls", "warning": "pulls", "error": "fails"}.get(status, status)
            prefix = self.Text("  ")
            prefix.append(self.mark(look), style=look[3])
            prefix.append(" " + ", ".join(names) + ": ", style="bold")
            body = self.Text()
            body.append(word, style=look[3])
            detail = self.clean(reason)
            if detail.startswith("pulls "):
                detail = detail[len("pulls ") :]
            body.append(f" {detail}" if word == "pulls" else f", {detail}")
            self.hang(prefix, body, indent=6)

    def endpoint(self, tr: TargetReport) -> str:
        ep: Mapping[str, Any] = tr.endpoint if isinstance(tr.endpoint, Mapping) else {}
        spec = tr.target
        scheme = ep.get("scheme") or spec.scheme
        host = ep.get("host") or spec.host
        port = ep.get("port") or spec.port
        address = ep.get("address")
        host_s = self.clean(host, max_chars=120)
        if ":" in host_s and not host_s.startswith("["):
            host_s = f"[{host_s}]"
        where = f"{host_s}:{self.clean(port, max_chars=10)}" if port else host_s
        if scheme:
            where = f"{self.clean(scheme, max_chars=10)}://{where}"
        if address and str(address) != str(host):
            where += f" via {self.clean(address, max_chars=60)}"
        return where

    def phase(self, phase: PhaseResult, observations: tuple[Observation, ...]) -> None:
        look = _PHASE_LOOK.get(phase.status, ("?", "?", str(phase.status), ""))
        name_w = max(6, *(len(p) for p in PHASES))
        prefix = self.Text("  ")
        prefix.append(self.mark(look), style=look[3])
        prefix.append(" ")
        prefix.append(self.clean(phase.name, max_chars=name_w).ljust(name_w))
        prefix.append("  ")
        prefix.append(look[2].ljust(7), style=look[3])
        prefix.append(_ms(phase.duration_ms).rjust(9), style="dim")
        prefix.append("  ")
        body = self.Text()
        if phase.status in (PhaseStatus.SKIPPED, PhaseStatus.NOT_APPLICABLE):
            reason = self.clean(phase.reason) if phase.reason else ""
            if phase.status == PhaseStatus.SKIPPED:
                if not reason:
                    reason = "not run"
                elif not reason.lower().startswith(("not run", "skipped")):
                    reason = f"not run: {reason}"
                body.append(reason, style="dim")
            elif reason:
                body.append(reason, style="dim")
        elif phase.error:
            style = "red" if phase.status in (PhaseStatus.FAILED, PhaseStatus.CRASHED) else ""
            body.append(self.clean(phase.error), style=style)
            if phase.reason:
                body.append(f" ({self.clean(phase.reason)})", style="dim")
        else:
            body.append(self.clean((phase.summary or "").replace("…", self.ellipsis)))
        self.hang(prefix, body, indent=6)

    def finding(self, f: Finding, observations: tuple[Observation, ...]) -> None:
        severity = str(f.severity)
        head = self.Text("  ")
        head.append(f"[{severity}]", style=_SEVERITY_STYLE.get(severity, ""))
        head.append(" ")
        body = self.Text()
        body.append(self.clean(f.category, max_chars=60), style="bold")
        body.append("  ")
        body.append(self.clean(f.title))
        meta = [self.clean(f.rule, max_chars=80)]
        if f.leading:
            meta.append("likely cause")
        if f.confidence and str(f.confidence).lower() not in ("high", "certain"):
            meta.append(f"confidence {self.clean(f.confidence, max_chars=20)}")
        body.append(f"  ({', '.join(meta)})", style="dim")
        self.hang(head, body, indent=4)

        explanation = self.lines_of(f.explanation, max_lines=40, max_line=_PROSE_CHARS)
        for line in explanation:
            self.para(self.Text(line), indent=4)

        seen = self.evidence_of(f, observations)
        for label, lines in seen:
            first = self.Text(" " * 4)
            first.append(f"{label}:", style="dim")
            first.append(" ")
            self.hang(first, self.Text(lines[0]), indent=6)
            for line in lines[1:]:
                self.para(self.Text(line), indent=4 + len(label) + 2)

        for number, step in enumerate(f.remediation, start=1):
            prefix = self.Text(f"    {number}. ")
            self.hang(prefix, self.Text(self.clean(step.text, max_chars=_PROSE_CHARS)), indent=7)
            self.commands(step, indent=prefix.cell_len, scope=finding_scope(self.scope, f.runtimes))

        for ref in f.references:
            self.reference(ref)

    def reference(self, ref: str) -> None:
        """``see: URL``; a URL is never broken: when the line is too long the URL goes
        below, flush left (a terminal that folds a longer one still copies one line)."""
        url = self.clean(ref, max_chars=500)
        if self.cell_len(url) + 9 <= self.width:
            self.emit(self.Text("    ") + self.Text("see:", style="dim") + self.Text(" " + url))
            return
        self.emit(self.Text("    ") + self.Text("see:", style="dim"))
        self.emit_raw(url)

    def evidence_of(
        self, f: Finding, observations: tuple[Observation, ...]
    ) -> list[tuple[str, list[str]]]:
        """What the triggering observations said: their errors, then their evidence."""
        errors: list[list[str]] = []
        evidence: list[str] = []
        for index in f.observations:
            if not isinstance(index, int) or not 0 <= index < len(observations):
                continue
            obs = observations[index]
            if obs.error:
                lines = self.lines_of(obs.error, max_lines=_EVIDENCE_LINES)
                if lines and lines not in errors:
                    errors.append(lines)
            if obs.evidence and not self.verbose:
                for line in self.lines_of(obs.evidence, max_lines=_EVIDENCE_LINES):
                    evidence.append(line)
        out: list[tuple[str, list[str]]] = [("seen", e) for e in errors[:3]]
        if len(errors) > 3:
            out.append(("seen", [f"{self.ellipsis} ({len(errors) - 3} more)"]))
        if evidence:
            out.append(("evidence", evidence[: 2 * _EVIDENCE_LINES]))
        return out

    def commands(
        self, step: RemediationStep, *, indent: int, scope: tuple[str, ...] | None = None
    ) -> None:
        """Each group of runtimes with the same command (checks, then the fix): its
        label, then the command flush left, never wrapped by Rich (see
        :mod:`regdoctor.render.commands`); the runtimes out of the report's scope folded
        into one line unless ``-v``."""
        shown, folded = step_groups(step, self.scope if scope is None else scope)
        if self.verbose:
            shown, folded = shown + folded, []
        for group in shown:
            # the label is never cut either (a terminal narrower than it folds it)
            self.emit_raw(" " * indent + self.clean(group.label, max_chars=80) + ":", "dim")
            cleaned = "\n".join(
                self.clean(line, max_chars=_COMMAND_CHARS)
                for line in command_lines(str(group.command))
            )
            for line in paste_lines(cleaned, self.width):
                self.emit_raw(line)
        if folded:
            runtimes = ordered_runtimes(r for g in folded for r in g.runtimes)
            names = ", ".join(self.clean(r, max_chars=20) for r in runtimes)
            self.hang(
                self.Text(" " * indent),
                self.Text(f"other runtimes: {names} (see -v)", style="dim"),
                indent=indent,
            )

    def observation(self, index: int, obs: Observation) -> None:
        prefix = self.Text(f"    #{index:<3}")
        body = self.Text()
        body.append(self.clean(obs.kind, max_chars=60), style="bold")
        if obs.step:
            body.append(f" [{self.clean(obs.step, max_chars=60)}]")
        body.append(" ")
        body.append("ok" if obs.ok else "not ok", style="green" if obs.ok else "red")
        if obs.duration_ms is not None:
            body.append(f" {_ms(obs.duration_ms)}", style="dim")
        facts = self.facts(obs.facts)
        if facts:
            body.append("  ")
            body.append(facts)
        self.hang(prefix, body, indent=prefix.cell_len)
        detail_indent = prefix.cell_len
        if obs.source:
            self.hang(
                self.Text(" " * detail_indent) + self.Text("source: ", style="dim"),
                self.Text(self.clean(obs.source)),
            )
        errors = self.lines_of(obs.error, max_lines=_EVIDENCE_LINES)
        for i, line in enumerate(errors):
            label = "error: " if i == 0 else " " * len("error: ")
            self.hang(
                self.Text(" " * detail_indent) + self.Text(label, style="dim"),
                self.Text(line, style="red"),
            )
        lines = self.lines_of(obs.evidence, max_lines=_VERBOSE_EVIDENCE_LINES)
        if lines:
            self.emit(self.Text(" " * detail_indent) + self.Text("evidence:", style="dim"))
            for line in lines:
                self.para(self.Text(line), indent=detail_indent + 2)

    def facts(self, facts: Mapping[str, Any] | Any) -> str:
        if not isinstance(facts, Mapping):
            return self.clean(facts)
        parts = []
        for key, value in facts.items():
            shown = _compact(value)
            parts.append(
                f"{self.clean(key, max_chars=40)}="
                f"{clip(self.clean(shown, max_chars=None), _FACT_VALUE_CHARS, self.ellipsis)}"
            )
        return clip(" ".join(parts), 1200, self.ellipsis)

    def summary(self, report: Report) -> None:
        counts = {"ok": 0, "warning": 0, "error": 0}
        for tr in report.probed:
            status = tr.status
            counts[status] = counts.get(status, 0) + 1
        n = len(report.probed)
        status = report.status
        look = _STATUS_LOOK.get(status, ("?", "?", status.upper(), ""))
        line = self.Text()
        line.append(f"{n} target{'s' if n != 1 else ''}: ", style="bold")
        line.append(f"{counts['ok']} ok", style="green" if counts["ok"] else "")
        line.append(", ")
        line.append(
            _plural(counts["warning"], "warning"), style="yellow" if counts["warning"] else ""
        )
        line.append(", ")
        line.append(_plural(counts["error"], "error"), style="red" if counts["error"] else "")
        bad = sum(tr.status != "ok" for tr in report.configs)
        if report.configs:
            line.append(f"; {_plural(len(report.configs), 'configuration file')}")
            if bad:
                line.append(f", {bad} with problems", style="yellow")
        exit_code = int(report.exit_code)
        line.append(f" (exit code {exit_code})", style=look[3])
        line.append(f" in {_seconds(report.duration_ms)}")
        self.wrap_hanging(line, indent=4)
        if report.deadline_hit:
            self.wrap_hanging(
                self.Text("the global deadline was reached: some checks did not finish", "yellow"),
                indent=4,
            )


# -- helpers ---------------------------------------------------------------------------


class _Raw:
    """A line :meth:`_PlainRenderer.flush` prints as it is (see ``emit_raw``)."""

    __slots__ = ("style", "text")

    def __init__(self, text: str, style: str = "") -> None:
        self.text = text
        self.style = style


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Leading findings first, then by severity, then by phase order (pull order)."""

    def rank(severity: object) -> int:
        try:
            return Severity(str(severity)).rank
        except ValueError:
            return 9

    def phase_index(phase: str) -> int:
        return PHASES.index(phase) if phase in PHASES else len(PHASES)

    indexed = list(enumerate(findings))
    indexed.sort(
        key=lambda p: (not p[1].leading, rank(p[1].severity), phase_index(p[1].phase), p[0])
    )
    return [f for _, f in indexed]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _ms(value: float | None) -> str:
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return ""
    if value < 1:
        return "<1 ms"
    return f"{value:,.0f} ms"


def _seconds(value: float | None) -> str:
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "?"
    return f"{value / 1000:.2f} s"


def _compact(value: Any) -> str:
    import json  # only a check's observations need it

    if isinstance(value, str):
        return value if value and not any(c.isspace() for c in value) else json.dumps(value)
    try:
        return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)
