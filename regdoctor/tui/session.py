"""Which targets the TUI shows and what is known about each: plain state, no Textual.

A target is *waiting* (never run), *running*, *done* (it has a
:class:`~regdoctor.model.TargetReport`) or *broken* (the check itself raised: a crash is a
result, shown as such). Results replace each other on re-run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from regdoctor.model import Report, Target, TargetReport


@dataclass
class Entry:
    target: Target
    report: TargetReport | None = None
    running: bool = False
    error: str | None = None  # the check raised (not a finding: regdoctor itself failed)
    runs: int = 0  # how many checks of this target finished

    @property
    def id(self) -> str:
        return self.target.id


@dataclass
class Session:
    """The targets in the order given, with their latest results."""

    entries: dict[str, Entry] = field(default_factory=dict)
    started_at: str = ""
    command: tuple[str, ...] = ()

    @classmethod
    def of(cls, targets: Sequence[Target], command: Sequence[str] = ()) -> Session:
        session = cls(command=tuple(command))
        for target in targets:
            session.add(target)
        return session

    def add(self, target: Target) -> Entry:
        entry = self.entries.get(target.id)
        if entry is None:
            entry = self.entries[target.id] = Entry(target)
        return entry

    def __getitem__(self, target_id: str) -> Entry:
        return self.entries[target_id]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def start(self, target_id: str) -> None:
        entry = self.entries[target_id]
        entry.running = True
        entry.error = None

    def finish(self, report: TargetReport) -> None:
        entry = self.entries[report.target.id]
        entry.report = report
        entry.running = False
        entry.error = None
        entry.runs += 1

    def fail(self, target_id: str, error: str) -> None:
        entry = self.entries[target_id]
        entry.running = False
        entry.error = error
        entry.runs += 1

    @property
    def running(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.running]

    def report(self, started_at: str = "", duration_ms: float = 0.0) -> Report:
        """The finished targets as one :class:`Report` (what ``check`` would print)."""
        from regdoctor.check.pipeline import assemble_report

        reports = tuple(e.report for e in self.entries.values() if e.report is not None)
        return assemble_report(
            reports,
            started_at=started_at or self.started_at,
            duration_ms=duration_ms or sum(r.duration_ms for r in reports),
            command=self.command,
        )
