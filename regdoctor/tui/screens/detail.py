"""One target in detail: phase timeline, findings with their remediation (commands
copyable), then every observation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from regdoctor.model import RuntimeVerdict
from regdoctor.tui.look import STATUS_LOOK, clean, duration, status_text
from regdoctor.tui.widgets.finding_view import FindingView
from regdoctor.tui.widgets.observation_list import ObservationList
from regdoctor.tui.widgets.phase_timeline import PhaseTimeline
from regdoctor.tui.widgets.target_table import entry_status

if TYPE_CHECKING:
    from regdoctor.tui.app import RegdoctorApp


def runtime_lines(runtimes: Mapping[str, RuntimeVerdict]) -> Text:
    """One line per runtime in scope: whether it pulls, and why not."""
    text = Text()
    for runtime, verdict in runtimes.items():
        if text:
            text.append("\n")
        mark, _word, style = STATUS_LOOK.get(verdict.status, STATUS_LOOK["ok"])
        text.append(f"{mark} {clean(runtime, 20)}: ", style=style)
        text.append(clean(verdict.reason, 400))
    return text


class DetailScreen(Screen[None]):
    CSS_PATH = "detail.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "rerun", "Re-run"),
        Binding("o", "toggle_observations", "Observations", show=False),
    ]

    def __init__(self, target_id: str) -> None:
        super().__init__()
        self.target_id = target_id
        self.show_observations = True

    @property
    def rd_app(self) -> RegdoctorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        entry = self.rd_app.session[self.target_id]
        head = Text()
        head.append_text(status_text(entry_status(entry)))
        head.append("  ")
        head.append(clean(entry.target.raw, 200), style="bold")
        report = entry.report
        if report is not None and not entry.running:
            endpoint = report.endpoint
            if endpoint.get("scheme"):
                head.append(f"  {clean(endpoint.get('scheme'))}://", style="dim")
                head.append(clean(entry.target.hostport), style="dim")
            head.append(f"  {duration(report.duration_ms)}", style="dim")
        yield Static(head, id="detail-head")
        with VerticalScroll(id="detail-body"):
            if entry.error is not None:
                yield Static(
                    Text("regdoctor could not check this target: ", style="magenta")
                    + Text(clean(entry.error, 500)),
                    classes="section",
                )
            if entry.running:
                yield Static(
                    Text("checking… the results appear when the check ends", style="cyan"),
                    classes="section",
                )
            if report is not None:
                if report.runtimes:
                    yield Static(Text("Runtimes", style="bold underline"), classes="title")
                    yield Static(runtime_lines(report.runtimes), classes="section", id="runtimes")
                yield Static(Text("Phases", style="bold underline"), classes="title")
                yield PhaseTimeline(report, classes="section")
                yield Static(Text("Findings", style="bold underline"), classes="title")
                if not report.findings:
                    yield Static(
                        Text("none: a pull from here should work", style="green"), classes="section"
                    )
                for finding in sorted(report.findings, key=lambda f: not f.leading):
                    yield FindingView(finding, classes="finding")
                yield Static(
                    Text("Observations", style="bold underline"), classes="title observations"
                )
                yield ObservationList(report.observations, classes="section observations")
        yield Footer()

    def on_mount(self) -> None:
        self._focus_first()

    def _focus_first(self) -> None:
        from regdoctor.tui.widgets.command_line import CommandLine

        commands = self.query(CommandLine)
        if commands:
            # focus the first command (c / Enter copy it) and bring the fix on screen:
            # at 80x24 a long explanation would otherwise push it below the fold
            first = commands.first()
            first.focus(scroll_visible=False)
            self.call_after_refresh(first.scroll_visible, animate=False, top=False)
        else:
            self.query_one("#detail-body").focus()

    async def target_updated(self, target_id: str) -> None:
        if target_id == self.target_id:
            await self.recompose()
            self.query(".observations").set(display=self.show_observations)
            self._focus_first()

    def action_back(self) -> None:
        self.dismiss()

    def action_rerun(self) -> None:
        self.rd_app.run_targets([self.target_id])

    def action_toggle_observations(self) -> None:
        self.show_observations = not self.show_observations
        self.query(".observations").set(display=self.show_observations)
