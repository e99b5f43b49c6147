"""What the check waits for of another credential's dance (probes/credential_beside.py)
joins the critical path; what ended while the target's own probes ran does not."""

from __future__ import annotations

import asyncio
import contextvars
from types import SimpleNamespace
from typing import Any

from regdoctor.model import RoundTrip
from regdoctor.net import roundtrips
from regdoctor.probes import credential_beside


def _collect(gate_first: bool) -> list[RoundTrip]:
    async def run() -> list[RoundTrip]:
        path: list[RoundTrip] = []
        steps: list[RoundTrip] = []
        gate = asyncio.Event()
        began = asyncio.Event()

        async def dance() -> list[Any]:
            roundtrips.record("token", 40.0)  # ends while the target's probes run
            began.set()
            if not gate_first:
                await gate.wait()
            roundtrips.record("GET manifest", 50.0)  # ends once the check waits for it
            return ["observation"]

        context = contextvars.copy_context()
        context.run(roundtrips.record_into, steps)
        task = asyncio.create_task(dance(), context=context)
        await began.wait()
        state = SimpleNamespace(extra={credential_beside._TASKS: [(task, steps)]})
        with roundtrips.critical_path(path):
            asyncio.get_running_loop().call_soon(gate.set)
            got = await credential_beside.collect(state)  # type: ignore[arg-type]
        assert got == ["observation"]
        assert [s.what for s in steps] == ["token", "GET manifest"]
        return path

    return asyncio.run(run())


def test_the_part_waited_for_joins_the_critical_path() -> None:
    path = _collect(gate_first=False)
    assert [s.what for s in path] == ["GET manifest (another credential's dance, waited for)"]
    # waited far less than half of the step: its round trip lay beside the path
    assert path[0].round_trips == 0


def test_a_dance_done_before_the_wait_adds_nothing() -> None:
    assert _collect(gate_first=True) == []


def test_join_waited_counts_the_step_under_way_by_what_was_left() -> None:
    path: list[RoundTrip] = []
    steps = [RoundTrip("token", 100.0, 1, "a:443"), RoundTrip("GET manifest", 50.0, 1, "a:443")]
    with roundtrips.critical_path(path):
        roundtrips.join_waited(steps, 120.0, host=None, begun="begun", later="later")
    assert [(s.what, s.ms, s.round_trips, s.host) for s in path] == [
        ("token (begun)", 70.0, 1, "a:443"),
        ("GET manifest (later)", 50.0, 1, "a:443"),
    ]
