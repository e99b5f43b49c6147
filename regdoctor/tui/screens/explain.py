"""Paste an error: the matches of ``regdoctor explain`` appear as you type, and a
button offers to check the registry the paste names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Static, TextArea

from regdoctor.tui import explain_adapter
from regdoctor.tui.look import clean
from regdoctor.tui.widgets.match_view import MatchView

if TYPE_CHECKING:
    from textual.timer import Timer

    from regdoctor.engine.explain import TextMatch
    from regdoctor.tui.app import RegdoctorApp

#: Wait this long after the last keystroke before explaining again (seconds).
DEBOUNCE = 0.15


class ExplainScreen(Screen[None]):
    CSS_PATH = "explain.tcss"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.initial = text
        self.matches: list[TextMatch] = []
        self.check_target: str | None = None
        self._timer: Timer | None = None

    @property
    def rd_app(self) -> RegdoctorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(
            Text(
                "Paste an error below; what regdoctor recognises shows underneath. "
                "Esc: back, Tab: to the results."
            ),
            id="explain-help",
        )
        yield TextArea(self.initial, id="paste", soft_wrap=True, show_line_numbers=False)
        with Horizontal(id="explain-actions"):
            yield Static(id="explain-status")
            yield Button("Check", id="check-named", disabled=True)
        yield VerticalScroll(id="matches")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#check-named", Button).display = False
        self.query_one(TextArea).focus()
        if self.initial:
            self.call_later(self.update_matches)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        del event
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self.update_matches)

    async def update_matches(self) -> None:
        text = self.query_one(TextArea).text
        catalog = await self.rd_app.explain_catalog()
        self.matches = explain_adapter.explain_text(catalog, text)
        await self.show_matches()

    async def show_matches(self) -> None:
        recognised = [m for m in self.matches if m.recognised]
        status = Text()
        if not self.matches:
            status.append("nothing pasted yet", style="dim")
        elif not recognised:
            status.append("no registry error recognised", style="yellow")
        else:
            n = len(recognised)
            status.append(f"{n} error{'s' if n != 1 else ''} recognised", style="bold")
        lead = next((m for m in recognised if m.leading), None)
        self.check_target = explain_adapter.check_target_of(lead) if lead else None
        button = self.query_one("#check-named", Button)
        if self.check_target:
            button.label = Text(f"Check {clean(self.check_target, 40)}")
            button.disabled = False
            button.display = True
        else:
            button.disabled = True
            button.display = False
        self.query_one("#explain-status", Static).update(status)
        box = self.query_one("#matches", VerticalScroll)
        await box.remove_children()
        await box.mount_all(MatchView(m, classes="match") for m in self.matches)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "check-named" and self.check_target:
            self.rd_app.check_named(self.check_target)

    def action_back(self) -> None:
        self.dismiss()
