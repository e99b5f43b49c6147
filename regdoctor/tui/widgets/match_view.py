"""One match of ``regdoctor explain`` on the Explain screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from regdoctor.tui.look import SEVERITY_STYLE, clean
from regdoctor.tui.widgets.command_line import CommandLine
from regdoctor.tui.widgets.finding_view import TOOLS, _prose

if TYPE_CHECKING:
    from regdoctor.engine.explain import TextMatch


class MatchView(Vertical):
    def __init__(self, match: TextMatch, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.match = match

    def compose(self) -> ComposeResult:
        m = self.match
        severity = str(m.severity)
        head = Text()
        head.append(f"[{severity}] ", style=SEVERITY_STYLE.get(severity, ""))
        head.append(clean(m.category), style="bold")
        head.append("  ")
        head.append(clean(m.title))
        if m.leading:
            head.append("  (likely cause)", style="dim")
        yield Static(head, classes="finding-head")
        where = Text("line " + ", ".join(str(n) for n in m.lines[:8]), style="dim")
        if m.fields:
            shown = {k: m.fields[k] for k in ("registry", "host", "image") if k in m.fields}
            if shown:
                where.append("  " + "  ".join(f"{k}: {clean(v, 80)}" for k, v in shown.items()))
        yield Static(where, classes="match-where")
        yield Static(_prose(m.explanation), classes="finding-explanation")
        for number, step in enumerate(m.remediation, 1):
            yield Static(Text(f"{number}. ") + _prose(step.text), classes="finding-step")
            for tool in [t for t in TOOLS if t in step.commands]:
                yield CommandLine(tool, step.commands[tool], classes="command")
