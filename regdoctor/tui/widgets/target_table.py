"""The overview's table: one row per target, kept in the filter and sort order."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable

from regdoctor.model import Finding
from regdoctor.tui.look import SEVERITY_STYLE, phase_bar, status_text, untrusted
from regdoctor.tui.look import duration as fmt_duration
from regdoctor.tui.session import Entry

#: (key, label, width)
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("status", "Status", 9),
    ("target", "Target", 26),
    ("finding", "Finding", 21),
    ("phases", "Phases", 6),
    ("time", "Time", 7),
)


def entry_status(entry: Entry) -> str:
    """The engine's status of the entry's last report, or where the entry stands."""
    if entry.running:
        return "running"
    if entry.error is not None:
        return "broken"
    if entry.report is None:
        return "waiting"
    return entry.report.status


def leading_finding(entry: Entry) -> Finding | None:
    if entry.report is None or not entry.report.findings:
        return None
    return next((f for f in entry.report.findings if f.leading), entry.report.findings[0])


class TargetTable(DataTable[Text]):
    """Rows keyed by target id; :meth:`show` rebuilds them, :meth:`tick` only spins."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        for key, label, width in COLUMNS:
            self.add_column(label, width=width, key=key)

    def cells(self, entry: Entry, spin: int = 0) -> list[Text]:
        status = entry_status(entry)
        finding = leading_finding(entry)
        if entry.error is not None:
            found = untrusted(entry.error, "magenta", 80)
        elif finding is not None:
            found = untrusted(finding.category, SEVERITY_STYLE.get(str(finding.severity), ""))
        else:
            found = Text("" if entry.report is None else "—", style="dim")
        report = entry.report if not entry.running else None
        return [
            status_text(status, spin=spin),
            untrusted(entry.target.raw),
            found,
            phase_bar(report, running=entry.running, spin=spin),
            Text(fmt_duration(report.duration_ms) if report else "", justify="right"),
        ]

    def show(self, entries: Iterable[Entry], spin: int = 0) -> None:
        """Replace the rows by ``entries`` (already filtered and sorted), keeping the
        cursor on the same target when it is still shown."""
        selected = self.selected_id
        self.clear()
        for entry in entries:
            self.add_row(*self.cells(entry, spin), key=entry.id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)

    def tick(self, entries: Iterable[Entry], spin: int) -> None:
        """Advance the spinner of the running rows."""
        for entry in entries:
            if entry.running and entry.id in self.rows:
                cells = self.cells(entry, spin)
                self.update_cell(entry.id, "status", cells[0])
                self.update_cell(entry.id, "phases", cells[3])

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return key.value
