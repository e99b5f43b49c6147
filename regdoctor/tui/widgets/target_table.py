"""The overview's table: one row per target, kept in the filter and sort order."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from regdoctor.model import Finding
from regdoctor.tui.look import SEVERITY_STYLE, phase_bar, status_text, untrusted
from regdoctor.tui.look import duration as fmt_duration
from regdoctor.tui.session import Entry

#: (key, label, width): the widths at 80 columns; :meth:`TargetTable.fit` gives the
#: target and finding columns what the terminal has beyond the fixed ones.
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("status", "Status", 9),
    ("target", "Target", 26),
    ("finding", "Finding", 21),
    ("phases", "Phases", 6),
    ("time", "Time", 7),
)
_FIXED = ("status", "phases", "time")
MIN_TARGET = 16
MIN_FINDING = 12


def column_widths(width: int, finding_needs: int, padding: int = 1) -> dict[str, int]:
    """The target and finding columns' widths in a table ``width`` cells wide: the
    finding column as wide as its longest text (a category is never cut when there is
    room), the target column everything else."""
    fixed = sum(w or 0 for key, _label, w in COLUMNS if key in _FIXED)
    # every column has ``padding`` on each side; 2 cells for the vertical scroll bar
    room = width - fixed - 2 * padding * len(COLUMNS) - 2
    finding = max(MIN_FINDING, min(finding_needs, room - MIN_TARGET))
    return {"target": max(MIN_TARGET, room - finding), "finding": finding}


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


def middle_cut(text: str, width: int) -> str:
    """``text`` in ``width`` cells, cut in the middle so that both the registry and the
    end of the image stay visible (``registry.example:5000/…/app:1.2``): two images of
    one registry, or one image of two registries, never look the same."""
    if len(text) <= width:
        return text
    if width < 5:
        return text[: max(width, 0)]
    registry, slash, rest = text.partition("/")
    keep = width - len(registry) - 2
    if slash and keep >= 4:
        return f"{registry}/…{rest[len(rest) - keep :]}"
    tail = (width - 1) * 3 // 5
    head = width - 1 - tail
    return f"{text[:head]}…{text[len(text) - tail :]}"


class TargetTable(DataTable[Text]):
    """Rows keyed by target id; :meth:`show` rebuilds them, :meth:`tick` only spins."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        for key, label, width in COLUMNS:
            self.add_column(label, width=width, key=key)
        self._entries: list[Entry] = []
        self._spin = 0

    def widths(self) -> dict[str, int]:
        """The target and finding columns' widths for the table's width and rows."""
        width = self.size.width or self.app.size.width
        needs = max([len("Finding"), *(min(self.finding(e).cell_len, 40) for e in self._entries)])
        return column_widths(width, needs, self.cell_padding)

    def finding(self, entry: Entry) -> Text:
        found = leading_finding(entry)
        if entry.error is not None:
            return untrusted(entry.error, "magenta", 80)
        if found is not None:
            return untrusted(found.category, SEVERITY_STYLE.get(str(found.severity), ""))
        return Text("" if entry.report is None else "—", style="dim")

    def cells(self, entry: Entry, spin: int = 0, target_width: int | None = None) -> list[Text]:
        status = entry_status(entry)
        target = untrusted(entry.target.raw)
        if target_width is not None:
            target = Text(middle_cut(target.plain, target_width))
        report = entry.report if not entry.running else None
        return [
            status_text(status, spin=spin),
            target,
            self.finding(entry),
            phase_bar(report, running=entry.running, spin=spin),
            Text(fmt_duration(report.duration_ms) if report else "", justify="right"),
        ]

    def show(self, entries: Iterable[Entry], spin: int = 0) -> None:
        """Replace the rows by ``entries`` (already filtered and sorted), keeping the
        cursor on the same target when it is still shown."""
        self._entries = list(entries)
        self._spin = spin
        self._rebuild()

    def _rebuild(self) -> None:
        widths = self.widths()
        for key, value in widths.items():
            column = self.columns.get(ColumnKey(key))
            if column is not None:
                column.width = value
        selected = self.selected_id
        self.clear()
        for entry in self._entries:
            self.add_row(*self.cells(entry, self._spin, widths["target"]), key=entry.id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)
        self._require_update_dimensions = True
        self.refresh()

    def on_resize(self) -> None:
        column = self.columns.get(ColumnKey("target"))
        if column is not None and self.widths()["target"] != column.width:
            self._rebuild()

    def tick(self, entries: Iterable[Entry], spin: int) -> None:
        """Advance the spinner of the running rows."""
        self._spin = spin
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
