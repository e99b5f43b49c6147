"""Export the report: a file name; ``.md`` writes markdown, anything else JSON (the
same schema-v1 document as ``regdoctor check --format json``)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

DEFAULT_NAME = "regdoctor-report.json"


class ExportScreen(ModalScreen[Path | None]):
    """Dismissed with the path to write, or None."""

    CSS_PATH = "export.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: str = DEFAULT_NAME, note: str = "") -> None:
        super().__init__()
        self.default = default
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Static(Text("Export the report", style="bold"))
            yield Static(Text("File (.json: JSON schema v3, .md: markdown):", style="dim"))
            yield Input(self.default, id="export-path")
            if self.note:
                yield Static(Text(self.note, style="yellow"))
            with Horizontal(id="export-buttons"):
                yield Button("Save", id="export-save", variant="primary")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._save(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export-save":
            self._save(self.query_one(Input).value)
        else:
            self.dismiss(None)

    def _save(self, value: str) -> None:
        value = value.strip()
        self.dismiss(Path(value).expanduser() if value else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
