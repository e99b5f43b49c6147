"""One finding: severity, category, title, explanation, remediation steps with their
commands (each a :class:`CommandLine`), references."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from regdoctor.model import Finding
from regdoctor.render.escape import safe_lines
from regdoctor.tui.look import SEVERITY_STYLE, clean
from regdoctor.tui.widgets.command_line import CommandLine

#: The order remediation commands are listed in (the same as the plain renderer).
TOOLS: tuple[str, ...] = ("docker", "podman", "containerd", "kubernetes")


def _prose(value: str) -> Text:
    from regdoctor.redact import redact

    return Text("\n".join(safe_lines(redact(value), max_line=2000, max_lines=40)))


class FindingView(Vertical):
    def __init__(self, finding: Finding, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.finding = finding

    def compose(self) -> ComposeResult:
        f = self.finding
        severity = str(f.severity)
        head = Text()
        head.append(f"[{severity}] ", style=SEVERITY_STYLE.get(severity, ""))
        head.append(clean(f.category), style="bold")
        head.append("  ")
        head.append(clean(f.title))
        if f.leading:
            head.append("  (leading)", style="dim")
        yield Static(head, classes="finding-head")
        yield Static(_prose(f.explanation), classes="finding-explanation")
        for number, step in enumerate(f.remediation, 1):
            yield Static(Text(f"{number}. ") + _prose(step.text), classes="finding-step")
            tools = [t for t in TOOLS if t in step.commands]
            tools += sorted(t for t in step.commands if t not in TOOLS)
            for tool in tools:
                yield CommandLine(tool, step.commands[tool], classes="command")
        if f.references:
            refs = Text("see: ", style="dim")
            refs.append(", ".join(clean(r, 200) for r in f.references), style="dim")
            yield Static(refs, classes="finding-refs")
        yield Static(Text(f"rule {clean(f.rule)}", style="dim"), classes="finding-rule")
