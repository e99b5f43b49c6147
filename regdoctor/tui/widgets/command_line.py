"""One remediation command (for one runtime or several with the same command):
focusable; Enter, a click or ``c`` copies it, with its real line breaks."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from regdoctor.tui.look import clean_block


class CommandLine(Static, can_focus=True):
    BINDINGS = [
        Binding("enter", "copy", "Copy", show=False),
        Binding("c", "copy", "Copy command"),
    ]

    class Copy(Message):
        def __init__(self, command: str) -> None:
            super().__init__()
            self.command = command

    def __init__(self, tool: str, command: str, *, other: bool = False, **kwargs: object) -> None:
        """``tool``: the runtime, or several (``docker, podman``); ``other``: runtimes
        the report did not judge (listed after the others, dimmed)."""
        self.tool = tool
        #: The command as shown and copied: redacted, control characters escaped, its
        #: lines kept (a heredoc must end, a second command must be a second line).
        self.command = clean_block(command, 4000)
        label = Text()
        label.append(f"{tool}:", style="dim")
        if other:
            label.append("  (not judged in this run)", style="dim italic")
        label.append("\n")
        label.append(self.command, style="dim" if other else "bold")
        super().__init__(label, **kwargs)  # type: ignore[arg-type]

    def action_copy(self) -> None:
        self.post_message(self.Copy(self.command))

    def on_click(self) -> None:
        self.focus()
        self.action_copy()
