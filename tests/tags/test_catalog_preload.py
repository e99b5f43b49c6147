"""A tag scan loads the rule catalog in a thread while its session and listing wait on
the network (``tags.command._preload_catalog``): the judging at the end finds it
loaded; a load that fails there is done again by the judging, which raises its error."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from regdoctor.check import catalog as catalog_module
from regdoctor.engine import cache
from regdoctor.tags.command import _preload_catalog, _Subjects


@pytest.fixture
def fresh_catalogs(monkeypatch: pytest.MonkeyPatch) -> dict[Any, Any]:
    loaded: dict[Any, Any] = {}
    monkeypatch.setattr(catalog_module, "_LOADED", loaded)
    return loaded


def test_the_catalog_is_loaded_in_the_background(fresh_catalogs):
    thread = _preload_catalog(())
    assert thread.daemon
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert list(fresh_catalogs) == [()]
    # the judging takes that one, not a second load
    assert catalog_module.catalog(()) is fresh_catalogs[()]


def test_a_failed_preload_is_reported_by_the_judging(fresh_catalogs, monkeypatch):
    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("rules: broken cache")

    monkeypatch.setattr(cache, "load_catalog_cached", broken)
    uncaught: list[object] = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    _preload_catalog(()).join(timeout=60)
    assert uncaught == [] and fresh_catalogs == {}
    with pytest.raises(ValueError, match="broken cache"):
        _Subjects(()).reports()
