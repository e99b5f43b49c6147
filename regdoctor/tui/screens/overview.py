"""The overview: one row per target, updated live as each check finishes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from regdoctor.tui.look import STATUS_LOOK, STATUS_RANK, clean
from regdoctor.tui.session import Entry
from regdoctor.tui.widgets.target_table import TargetTable, entry_status

if TYPE_CHECKING:
    from regdoctor.tui.app import RegdoctorApp

#: Filters by status, in the order ``f`` cycles through them.
FILTERS: dict[str, tuple[str, ...] | None] = {
    "all": None,
    "problems": ("error", "warning", "broken"),
    "ok": ("ok",),
    "running": ("running", "waiting"),
}
SORTS: tuple[str, ...] = ("name", "status", "latency")
#: A click on a column header sorts by it.
_HEADER_SORT = {"target": "name", "status": "status", "finding": "status", "time": "latency"}


def selection_text(entry: Entry | None) -> Text:
    """``target`` in full, then ``docker: pulls ...`` per runtime (or the leading
    finding's title when the check judged no runtime)."""
    if entry is None:
        return Text()
    text = Text()
    text.append(clean(entry.target.raw, 500), style="bold")
    report = entry.report if not entry.running else None
    if report is None:
        return text
    for runtime, verdict in report.runtimes.items():
        mark, _word, style = STATUS_LOOK.get(verdict.status, STATUS_LOOK["ok"])
        text.append("\n")
        text.append(f"{mark} {clean(runtime, 20)}: ", style=style)
        text.append(clean(verdict.reason, 300))
    if not report.runtimes:
        lead = next((f for f in report.findings if f.leading), None)
        if lead is not None:
            text.append("\n")
            text.append(clean(lead.title, 300))
    return text


def _sort_key(sort: str, order: int, entry: Entry) -> tuple[object, ...]:
    if sort == "status":
        return (STATUS_RANK[entry_status(entry)], order)
    if sort == "latency":
        latency = entry.report.duration_ms if entry.report and not entry.running else -1.0
        return (-latency, order)
    return (entry.target.raw, order)


class OverviewScreen(Screen[None]):
    CSS_PATH = "overview.tcss"
    BINDINGS = [
        Binding("enter", "open", "Open", show=False),
        Binding("r", "rerun", "Re-run"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("x", "app.explain", "Explain"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = "all"
        self.sort = "name"
        self.spin = 0

    @property
    def rd_app(self) -> RegdoctorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="summary")
        yield TargetTable(id="targets")
        yield Static(id="selected")
        yield Static(id="controls")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_rows()
        self.set_interval(0.12, self._tick)
        self.query_one(TargetTable).focus()

    # -- what is shown --------------------------------------------------------------

    def shown_entries(self) -> list[Entry]:
        wanted = FILTERS[self.filter]
        entries = list(self.rd_app.session)
        order = {e.id: i for i, e in enumerate(entries)}
        shown = [e for e in entries if wanted is None or entry_status(e) in wanted]
        return sorted(shown, key=lambda e: _sort_key(self.sort, order[e.id], e))

    def refresh_rows(self) -> None:
        table = self.query_one(TargetTable)
        table.show(self.shown_entries(), self.spin)
        self._summarise()
        self._show_selected()

    def _show_selected(self) -> None:
        """The selected target in full (the table may cut it), its leading finding and
        what each runtime in scope would do."""
        selected = self.query_one(TargetTable).selected_id
        session = self.rd_app.session
        entry = session[selected] if selected is not None and selected in session.entries else None
        self.query_one("#selected", Static).update(selection_text(entry))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        del event
        self._show_selected()

    def _summarise(self) -> None:
        counts: dict[str, int] = {}
        configs = 0
        for entry in self.rd_app.session:
            status = entry_status(entry)
            if entry.target.kind == "config":  # a file, not a target: counted apart
                configs += 1
                key = f"config {status}"
            else:
                key = status
            counts[key] = counts.get(key, 0) + 1
        summary = Text()
        summary.append("regdoctor", style="bold")
        n = len(self.rd_app.session) - configs
        summary.append(f"  {n} target{'s' if n != 1 else ''}")
        for status in ("error", "warning", "broken", "ok", "running", "waiting"):
            if counts.get(status):
                mark, word, style = STATUS_LOOK[status]
                summary.append("  ")
                summary.append(f"{mark} {counts[status]} {word}", style=style)
        if configs:
            summary.append(f"  · {configs} configuration file{'s' if configs != 1 else ''}")
            bad = sum(counts.get(f"config {s}", 0) for s in ("error", "warning", "broken"))
            if bad:
                summary.append(f" ({bad} with problems)", style="yellow")
        self.query_one("#summary", Static).update(summary)
        controls = Text()
        controls.append("filter: ", style="dim")
        controls.append(self.filter)
        controls.append("   sort: ", style="dim")
        controls.append(self.sort)
        controls.append("   phases: DNS TCP TLS HTTP auth manifest", style="dim")
        self.query_one("#controls", Static).update(controls)

    def target_updated(self, target_id: str) -> None:
        del target_id
        self.refresh_rows()

    def _tick(self) -> None:
        running = self.rd_app.session.running
        if running:
            self.spin += 1
            self.query_one(TargetTable).tick(running, self.spin)

    # -- actions -----------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.rd_app.open_detail(event.row_key.value)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        sort = _HEADER_SORT.get(str(event.column_key.value))
        if sort is not None:
            self.sort = sort
            self.refresh_rows()

    def action_open(self) -> None:
        selected = self.query_one(TargetTable).selected_id
        if selected is not None:
            self.rd_app.open_detail(selected)

    def action_rerun(self) -> None:
        selected = self.query_one(TargetTable).selected_id
        if selected is not None:
            self.rd_app.run_targets([selected])

    def action_cycle_filter(self) -> None:
        names = list(FILTERS)
        self.filter = names[(names.index(self.filter) + 1) % len(names)]
        self.refresh_rows()

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refresh_rows()
