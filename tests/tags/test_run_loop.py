"""``tags.command.run`` hands the scan's result over outside the event loop's main task:
``asyncio.run`` reprs its finished main task (and so the task's result) while it
restores the SIGINT handler, and the repr of a 2,000-tag result cost ~8 ms."""

from __future__ import annotations

import asyncio

from regdoctor.options import CheckOptions
from regdoctor.tags import command


class _Result:
    def __init__(self) -> None:
        self.reprs = 0

    def __repr__(self) -> str:
        self.reprs += 1
        return "_Result()"


def test_the_main_task_returns_nothing_and_the_result_is_never_repred(monkeypatch):
    result = _Result()
    returned: list[object] = []
    real_run = asyncio.run

    def spy(coro, **kwargs):  # type: ignore[no-untyped-def]
        value = real_run(coro, **kwargs)
        returned.append(value)
        return value

    async def scan(options, check, *, insecure=False):  # type: ignore[no-untyped-def]
        return result

    monkeypatch.setattr(command.asyncio, "run", spy)
    monkeypatch.setattr(command, "run_tags", scan)
    options = command.TagsOptions(repository="registry.test/team/app")
    assert command.run(options, CheckOptions()) is result
    assert returned == [None]
    assert result.reprs == 0
