"""A tag scan does in a thread, while its HEADs wait on the network, what only its end
needs (``tags.background.Background``): the configured mirrors (discovery), then the rule
catalog. The thread starts with the HEADs, not before the first request. The judging
finds the catalog loaded; a load that fails there is done again by the judging, which
raises its error; a discovery that raises raises where the mirrors are needed."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import pytest

from regdoctor.check import catalog as catalog_module
from regdoctor.cli.main import build_parser
from regdoctor.cli.request import request_from_args
from regdoctor.cli.tags import _tags_options
from regdoctor.engine import cache
from regdoctor.tags.background import Background
from regdoctor.tags.command import _Subjects


@pytest.fixture
def fresh_catalogs(monkeypatch: pytest.MonkeyPatch) -> dict[Any, Any]:
    loaded: dict[Any, Any] = {}
    monkeypatch.setattr(catalog_module, "_LOADED", loaded)
    return loaded


def test_the_catalog_is_loaded_in_the_background(fresh_catalogs):
    background = Background((), None)
    assert background.thread.daemon
    background.start()
    background.start()  # once
    background.thread.join(timeout=60)
    assert not background.thread.is_alive()
    assert list(fresh_catalogs) == [()]
    # the judging takes that one, not a second load
    assert catalog_module.catalog(()) is fresh_catalogs[()]
    assert asyncio.run(background.mirrors()) == []


def test_a_failed_preload_is_reported_by_the_judging(fresh_catalogs, monkeypatch):
    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("rules: broken cache")

    monkeypatch.setattr(cache, "load_catalog_cached", broken)
    uncaught: list[object] = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    failing = Background((), None)
    failing.start()
    failing.thread.join(timeout=60)
    assert uncaught == [] and fresh_catalogs == {}
    with pytest.raises(ValueError, match="broken cache"):
        _Subjects(()).reports()


def test_the_discovery_runs_in_the_background_and_its_error_reaches_the_scan(
    fresh_catalogs, monkeypatch
):
    uncaught: list[object] = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    found = Background((), lambda: ["http://mirror.test:5000"])
    # asked for before the steps started it: it starts then
    assert asyncio.run(found.mirrors()) == ["http://mirror.test:5000"]

    def broken() -> list[str]:
        raise RuntimeError("discovery bug")

    failed = Background((), broken)
    with pytest.raises(RuntimeError, match="discovery bug"):
        asyncio.run(failed.mirrors())
    failed.thread.join(timeout=60)
    assert uncaught == [] and list(fresh_catalogs) == [()]  # the catalog still loaded


def test_the_thread_starts_with_the_heads_not_before_the_first_request(
    testbed, fresh_catalogs, monkeypatch, tags_json
):
    """Its CPU, holding the GIL, delayed the first request by as much: it now starts
    once the session is open and the listing done, and the switch interval is short
    while it runs, then restored."""
    from regdoctor.tags import background, command, steps
    from tests.harness.populate import populate

    plain = testbed.endpoints["plain"]
    populate(plain.url, "tags/late-background", tags=6, manifests=2)
    events: list[str] = []
    intervals: list[float] = []
    open_session, list_tags = command.open_session, steps.list_tags
    start, do_work = Background.start, Background._work

    async def opening(*args, **kwargs):  # type: ignore[no-untyped-def]
        events.append("session")
        return await open_session(*args, **kwargs)

    async def listing(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = await list_tags(*args, **kwargs)
        events.append("listed")
        return found

    def starting(self):  # type: ignore[no-untyped-def]
        events.append("background")
        start(self)

    def work(self):  # type: ignore[no-untyped-def]
        intervals.append(sys.getswitchinterval())
        do_work(self)

    monkeypatch.setattr(command, "open_session", opening)
    monkeypatch.setattr(steps, "list_tags", listing)
    monkeypatch.setattr(Background, "start", starting)
    monkeypatch.setattr(Background, "_work", work)
    before = sys.getswitchinterval()
    code, doc = tags_json(f"{plain.hostport}/tags/late-background")
    assert code == 0, doc["findings"]
    assert len(doc["tags"]) == 6
    assert events[:3] == ["session", "listed", "background"], events
    assert intervals == [background.SWITCH_INTERVAL]
    assert sys.getswitchinterval() == before


def _options(*argv: str):  # type: ignore[no-untyped-def]
    args = build_parser("tags").parse_args(["tags", "registry.test/team/app", *argv])
    return _tags_options(args, request_from_args(args, targets=()))


def test_which_runs_defer_the_discovery(tmp_path):
    deferred = _options("--mirror", "http://a.test", "--mirror", "http://a.test")
    assert deferred.mirrors == ("http://a.test",) and deferred.configured_mirrors is not None
    ignored = _options("--no-config", "--mirror", "http://a.test")
    assert ignored.mirrors == ("http://a.test",) and ignored.configured_mirrors is None
    # a configuration file named on the command line is read (and checked) at once
    daemon = tmp_path / "daemon.json"
    daemon.write_text('{"registry-mirrors": ["http://cache.test:5000"]}')
    named = _options("--daemon-config", str(daemon))
    assert named.configured_mirrors is None


def test_a_missing_named_file_is_still_a_usage_error(tmp_path, capsys):
    from regdoctor.cli.main import main

    missing = tmp_path / "nope.json"
    assert main(["tags", "registry.test/team/app", "--daemon-config", str(missing)]) == 3
    assert "nope.json" in capsys.readouterr().err
