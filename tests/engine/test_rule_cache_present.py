"""``catalog_cache_present``: whether a check has a rule cache file to read (then the
idle worker reads it during the first phases) or parses the rules before its run."""

from __future__ import annotations

from pathlib import Path

import pytest

from regdoctor.engine.cache import catalog_cache_present, load_catalog_cached


def test_present_once_written_and_not_without_a_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("REGDOCTOR_NO_CACHE", raising=False)
    assert not catalog_cache_present()
    load_catalog_cached()
    assert catalog_cache_present()
    assert not catalog_cache_present([tmp_path / "more-rules"])  # its own cache file
    monkeypatch.setenv("REGDOCTOR_NO_CACHE", "1")
    assert not catalog_cache_present()
    monkeypatch.delenv("REGDOCTOR_NO_CACHE")
    (tmp_path / "regdoctor" / "catalog-v1.pickle").chmod(0o666)  # not trusted: not read
    assert not catalog_cache_present()
