"""One finding: severity, category, title, explanation, remediation steps with their
commands (each a :class:`CommandLine`), references."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from regdoctor.escape import safe_lines
from regdoctor.model import Finding, RemediationStep
from regdoctor.tui.look import SEVERITY_STYLE, clean
from regdoctor.tui.widgets.command_line import CommandLine


def _prose(value: str) -> Text:
    from regdoctor.redact.secrets import redact

    return Text("\n".join(safe_lines(redact(value), max_line=2000, max_lines=40)))


def head_text(severity: str, category: str, title: str, leading_label: str | None) -> Text:
    """``[error] tls.expired  The certificate ...  (leading)``: findings and matches."""
    head = Text()
    head.append(f"[{severity}] ", style=SEVERITY_STYLE.get(severity, ""))
    head.append(clean(category), style="bold")
    head.append("  ")
    head.append(clean(title))
    if leading_label:
        head.append(f"  ({leading_label})", style="dim")
    return head


def remediation_widgets(
    steps: Iterable[RemediationStep], scope: Sequence[str] = ()
) -> Iterator[Static | CommandLine]:
    """Numbered steps, each followed by its commands (selectable, copyable): runtimes
    with the same command share one, those in ``scope`` first (the others dimmed)."""
    from regdoctor.render.commands import step_groups

    for number, step in enumerate(steps, 1):
        yield Static(Text(f"{number}. ") + _prose(step.text), classes="finding-step")
        shown, folded = step_groups(step, scope)
        for group in shown:
            yield CommandLine(group.label, group.command, classes="command")
        for group in folded:
            yield CommandLine(group.label, group.command, other=True, classes="command")


class FindingView(Vertical):
    def __init__(self, finding: Finding, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.finding = finding

    def compose(self) -> ComposeResult:
        f = self.finding
        head = head_text(str(f.severity), f.category, f.title, "leading" if f.leading else None)
        yield Static(head, classes="finding-head")
        yield Static(_prose(f.explanation), classes="finding-explanation")
        yield from remediation_widgets(f.remediation, f.runtimes)
        if f.references:
            refs = Text("see: ", style="dim")
            refs.append(", ".join(clean(r, 200) for r in f.references), style="dim")
            yield Static(refs, classes="finding-refs")
        yield Static(Text(f"rule {clean(f.rule)}", style="dim"), classes="finding-rule")
