"""The detail screen's phase timeline: one line per phase, bars to scale."""

from __future__ import annotations

from rich.table import Table
from textual.widgets import Static

from regdoctor.model import TargetReport
from regdoctor.tui.look import phase_row

BAR_WIDTH = 12


class PhaseTimeline(Static):
    def __init__(self, report: TargetReport, **kwargs: object) -> None:
        super().__init__(self.render_phases(report), **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def render_phases(report: TargetReport) -> Table:
        longest = max((p.duration_ms or 0.0 for p in report.phases), default=0.0)
        table = Table.grid(padding=(0, 1))
        for width in (1, 5, 7, BAR_WIDTH, 6):
            table.add_column(width=width, no_wrap=True)
        table.add_column(ratio=1, overflow="fold")
        for phase in report.phases:
            table.add_row(*phase_row(phase, BAR_WIDTH, longest))
        return table
