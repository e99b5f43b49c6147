"""Every binding of every screen, in one place (``?``)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

#: What the mouse and the arrow keys do (Textual's own bindings).
GENERAL: tuple[tuple[str, str], ...] = (
    ("↑ ↓ PgUp PgDn", "move; scroll"),
    ("Enter / click", "open a target; copy a command"),
    ("Tab / Shift+Tab", "next / previous control"),
    ("click a header", "sort by that column"),
)


def _key(binding: BindingType) -> tuple[str, str] | None:
    if not isinstance(binding, Binding) or not binding.description:
        return None
    keys = ", ".join(
        "?" if k.strip() == "question_mark" else k.strip() for k in binding.key.split(",")
    )
    return keys, binding.description


def bindings_table(app_bindings: Sequence[BindingType]) -> Table:
    """Every key, by screen. ``app_bindings``: the App's own (a screen never imports the
    App; it is handed them)."""
    from regdoctor.tui.screens.detail import DetailScreen
    from regdoctor.tui.screens.explain import ExplainScreen
    from regdoctor.tui.screens.overview import OverviewScreen
    from regdoctor.tui.widgets.command_line import CommandLine

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    sections = (
        ("Everywhere", list(app_bindings)),
        ("Overview", OverviewScreen.BINDINGS),
        ("Target detail", DetailScreen.BINDINGS + CommandLine.BINDINGS),
        ("Explain", ExplainScreen.BINDINGS),
    )
    for title, bindings in sections:
        table.add_row(Text(title, style="underline"), "")
        seen: set[str] = set()
        for binding in bindings:
            row = _key(binding)
            if row is not None and row[0] not in seen:
                seen.add(row[0])
                table.add_row(*row)
    table.add_row(Text("Mouse and keys", style="underline"), "")
    for row in GENERAL:
        table.add_row(*row)
    return table


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("regdoctor tui: keys", style="bold"), id="help-title")
            yield Static(bindings_table(type(self.app).BINDINGS))
            yield Static(Text("Esc, q or ? closes this screen.", style="dim"))

    def on_click(self) -> None:
        self.dismiss()

    def action_close(self) -> None:
        self.dismiss()
