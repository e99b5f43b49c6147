"""One remediation command: focusable; Enter, a click or ``c`` copies it."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from regdoctor.tui.look import clean


class CommandLine(Static, can_focus=True):
    BINDINGS = [
        Binding("enter", "copy", "Copy", show=False),
        Binding("c", "copy", "Copy command"),
    ]

    class Copy(Message):
        def __init__(self, command: str) -> None:
            super().__init__()
            self.command = command

    def __init__(self, tool: str, command: str, **kwargs: object) -> None:
        self.tool = tool
        #: The command as shown and copied: redacted, control characters escaped.
        self.command = clean(command, 4000)
        label = Text()
        label.append(f"{tool + ':':<12}", style="dim")
        label.append(self.command, style="bold")
        super().__init__(label, **kwargs)  # type: ignore[arg-type]

    def action_copy(self) -> None:
        self.post_message(self.Copy(self.command))

    def on_click(self) -> None:
        self.focus()
        self.action_copy()
