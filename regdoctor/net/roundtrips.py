"""The critical path of a target's check: every network wait made in a row, recorded
as it happens, so that a report (and ``--debug``) says how many round trips a check
cost and which request each was.

The record lives in a context variable: the pipeline sets it for the task that runs a
target's probes one after the other, and optional probes run in tasks of their own
with no record, so what they do beside the critical path is not counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from regdoctor.model import RoundTrip

_RECORD: ContextVar[list[RoundTrip] | None] = ContextVar("regdoctor_round_trips", default=None)


def record(what: str, ms: float, *, round_trips: int = 1, host: str | None = None) -> None:
    """Add one wait to the current critical path (none: nothing is recorded)."""
    path = _RECORD.get()
    if path is not None:
        path.append(RoundTrip(what, round(ms, 2), round_trips, host))


def recording() -> bool:
    """Whether waits made here are on a critical path."""
    return _RECORD.get() is not None


def off_path() -> None:
    """From here on (in this context), nothing is recorded: for an optional probe's
    task, created with a copy of the context that runs the critical path."""
    _RECORD.set(None)


def record_into(path: list[RoundTrip]) -> None:
    """From here on (in this context), waits are recorded into ``path``: for work begun
    beside the critical path whose waits join it only if it is waited for
    (probes/realm_early.py)."""
    _RECORD.set(path)


def join_waited(
    steps: list[RoundTrip], waited_ms: float, *, host: str | None, begun: str, later: str
) -> None:
    """Put the ``steps`` of work made beside the critical path that it then waited for
    (each recorded as it ended, after the wait began) on the current path: the first,
    under way when the wait began, by how much of it was left (a round trip if more than
    half of it), labelled ``(begun)``; the later ones in full, labelled ``(later)``."""
    if not steps:
        return
    first, rest = steps[0], steps[1:]
    left = max(0.0, waited_ms - sum(step.ms for step in rest))
    trips = first.round_trips if left > first.ms / 2 else 0
    record(f"{first.what} ({begun})", left, round_trips=trips, host=host or first.host)
    for step in rest:
        record(
            f"{step.what} ({later})", step.ms, round_trips=step.round_trips, host=host or step.host
        )


@contextmanager
def critical_path(into: list[RoundTrip] | None) -> Iterator[None]:
    """Record the waits made inside the block into ``into`` (None: record nothing, as
    for an optional probe running beside the critical path)."""
    token = _RECORD.set(into)
    try:
        yield
    finally:
        _RECORD.reset(token)
