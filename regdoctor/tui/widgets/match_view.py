"""One match of ``regdoctor explain`` on the Explain screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from regdoctor.tui.look import clean
from regdoctor.tui.widgets.finding_view import _prose, head_text, remediation_widgets

if TYPE_CHECKING:
    from regdoctor.engine.explain import TextMatch


class MatchView(Vertical):
    def __init__(self, match: TextMatch, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.match = match

    def compose(self) -> ComposeResult:
        m = self.match
        head = head_text(
            str(m.severity), m.category, m.title, "likely cause" if m.leading else None
        )
        yield Static(head, classes="finding-head")
        where = Text("line " + ", ".join(str(n) for n in m.lines[:8]), style="dim")
        if m.fields:
            shown = {k: m.fields[k] for k in ("registry", "host", "image") if k in m.fields}
            if shown:
                where.append("  " + "  ".join(f"{k}: {clean(v, 80)}" for k, v in shown.items()))
        yield Static(where, classes="match-where")
        yield Static(_prose(m.explanation), classes="finding-explanation")
        yield from remediation_widgets(m.remediation)
