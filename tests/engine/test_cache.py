"""The compiled rule cache (regdoctor.engine.cache) and the literal pre-filter
(regdoctor.engine.literals) that keep `regdoctor explain` fast."""

from __future__ import annotations

import os
import pickle
import re
import time
from pathlib import Path

import pytest
import yaml

from regdoctor.engine import load_catalog
from regdoctor.engine.cache import CACHE_NAME, cache_dir, load_catalog_cached
from regdoctor.engine.explain import explain
from regdoctor.engine.literals import required_literals


def write_rule(directory: Path, rule_id: str, word: str) -> Path:
    data = {
        "id": rule_id,
        "category": "other",
        "severity": "error",
        "confidence": {"live": "high", "text": "high"},
        "title": f"{word} seen",
        "match": {"text": {"any": [word]}},
        "explanation": "e",
        "remediation": [{"text": "r"}],
    }
    path = directory / f"{rule_id}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "regdoctor"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert cache_dir() == Path.home() / ".cache" / "regdoctor"


def test_bundled_catalog_is_cached_and_reused(tmp_path):
    first = load_catalog_cached(directory=tmp_path)
    path = tmp_path / CACHE_NAME
    assert path.is_file() and (path.stat().st_mode & 0o077) == 0
    assert first.ids == load_catalog().ids
    second = load_catalog_cached(directory=tmp_path)
    assert second.ids == first.ids
    # the cached catalog explains like the YAML one
    line = "Error response from daemon: toomanyrequests: You have reached your pull rate limit."
    assert explain(second, line)[0].rule == explain(load_catalog(), line)[0].rule


def test_cache_is_used_without_yaml(tmp_path, monkeypatch):
    load_catalog_cached(directory=tmp_path)
    import regdoctor.engine.cache as cache_module

    def no_yaml(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(cache_module, "load_catalog", no_yaml)
    assert load_catalog_cached(directory=tmp_path).rules


def test_an_edited_added_or_removed_rule_invalidates_it(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    cache = tmp_path / "cache"
    write_rule(rules, "first", "alpha")
    catalog = load_catalog_cached([rules], bundled=False, directory=cache)
    assert catalog.ids == ("first",)
    assert len(list(cache.iterdir())) == 1

    path = write_rule(rules, "first", "beta")  # same size? make sure mtime moves
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    catalog = load_catalog_cached([rules], bundled=False, directory=cache)
    assert catalog.get("first").title == "beta seen"

    write_rule(rules, "second", "gamma")
    assert load_catalog_cached([rules], bundled=False, directory=cache).ids == ("first", "second")
    (rules / "first.yaml").unlink()
    assert load_catalog_cached([rules], bundled=False, directory=cache).ids == ("second",)


def test_broken_or_foreign_cache_files_are_ignored(tmp_path):
    load_catalog_cached(directory=tmp_path)
    path = tmp_path / CACHE_NAME
    path.write_bytes(b"not a pickle")
    assert load_catalog_cached(directory=tmp_path).rules  # rebuilt
    assert pickle.loads(path.read_bytes())["catalog"].rules  # noqa: S301 - our own file

    # a file others may write is never unpickled
    path.write_bytes(pickle.dumps({"key": "x", "catalog": "evil"}))
    path.chmod(0o666)
    assert load_catalog_cached(directory=tmp_path).rules


def test_unwritable_cache_directory_is_not_an_error(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory should be")
    assert load_catalog_cached(directory=blocked / "regdoctor").rules


def test_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("REGDOCTOR_NO_CACHE", "1")
    assert load_catalog_cached(directory=tmp_path).rules
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("x509: certificate signed", {"x509: certificate signed"}),
        (r"(?i)\d{3} Error", {" error"}),
        ("(?:x509|certificate)", {"x509", "certificate"}),
        (r"\w+", None),
        ("ab", None),
        (r"no (?:basic )?auth credentials", {"auth credentials"}),
        (r"(?P<h>[\w.]+): (?:refused|i/o timeout)", {"refused", "i/o timeout"}),
        ("toomanyrequests|rate limit", {"toomanyrequests", "rate limit"}),
        ("(?:optional)?word", {"word"}),
    ],
)
def test_required_literals(pattern, expected):
    found = required_literals(pattern, re.IGNORECASE)
    assert (set(found) if found else None) == expected


@pytest.mark.parametrize("pattern", ["a|b.*c", "(?:abc)*", "x?yz?", "[abc]def", "(?=abc)x"])
def test_literals_are_really_required(pattern):
    """Every string the pattern matches contains one of its literals (checked on samples)."""
    found = required_literals(pattern)
    samples = ["abc", "bxxc", "def", "adef", "yz", "xyz", "x", "", "abcdef"]
    for sample in samples:
        if found and re.search(pattern, sample):
            assert any(lit in sample.lower() for lit in found), (pattern, sample, found)


def test_every_bundled_text_rule_has_literals():
    """Rules without a literal are tried on every line of a log: none of ours is."""
    missing = [r.id for r in load_catalog().rules if r.text is not None and not r.text.literals]
    assert not missing


def test_text_only_catalog_is_cached_apart(tmp_path):
    whole = load_catalog_cached(directory=tmp_path)
    text = load_catalog_cached(directory=tmp_path, text_only=True)
    assert {r.id for r in text.rules} == {r.id for r in whole.rules if r.text is not None}
    assert len(list(tmp_path.glob("*.pickle"))) == 2
    assert load_catalog_cached(directory=tmp_path, text_only=True).ids == text.ids
    assert load_catalog_cached(directory=tmp_path).ids == whole.ids


# --------------------------------------------------------------------------- explain's index


def test_explain_index_is_cached_as_plain_data_and_reused(tmp_path, monkeypatch):
    import marshal

    from regdoctor.engine.cache import INDEX_NAME, load_index_cached

    first = load_index_cached(directory=tmp_path)
    path = tmp_path / INDEX_NAME
    assert path.is_file() and (path.stat().st_mode & 0o077) == 0
    key, data = marshal.loads(path.read_bytes())  # noqa: S302 - our own file
    assert isinstance(key, str) and isinstance(data, tuple)
    assert [r.id for r in first.rules] == [r.id for r in load_catalog().rules if r.text]

    import regdoctor.engine.cache as cache_module

    def no_yaml(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(cache_module, "load_catalog", no_yaml)
    second = load_index_cached(directory=tmp_path)
    line = "Error response from daemon: toomanyrequests: You have reached your pull rate limit."
    assert explain(second, line)[0].to_dict() == explain(load_catalog(), line)[0].to_dict()


def test_explain_index_cache_is_rebuilt_when_stale_broken_or_foreign(tmp_path):
    from regdoctor.engine.cache import load_index_cached

    rules = tmp_path / "rules"
    rules.mkdir()
    cache = tmp_path / "cache"
    write_rule(rules, "first", "alpha")
    assert [r.title for r in load_index_cached([rules], bundled=False, directory=cache).rules] == [
        "alpha seen"
    ]
    (path,) = cache.iterdir()

    edited = write_rule(rules, "first", "beta")
    later = time.time_ns() + 10**9
    os.utime(edited, ns=(later, later))
    assert [r.title for r in load_index_cached([rules], bundled=False, directory=cache).rules] == [
        "beta seen"
    ]

    path.write_bytes(b"not marshal data")
    assert load_index_cached([rules], bundled=False, directory=cache).rules  # rebuilt
    path.chmod(0o666)  # a file others may write is never read
    assert load_index_cached([rules], bundled=False, directory=cache).rules
    assert (path.stat().st_mode & 0o077) == 0  # and is replaced by our own


def test_explain_index_without_a_usable_cache(tmp_path, monkeypatch):
    from regdoctor.engine.cache import load_index_cached

    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory should be")
    assert load_index_cached(directory=blocked / "regdoctor").rules
    monkeypatch.setenv("REGDOCTOR_NO_CACHE", "1")
    assert load_index_cached(directory=tmp_path / "off").rules
    assert not (tmp_path / "off").exists()


def test_rule_files_are_found_as_rglob_finds_them(tmp_path):
    """The cache key lists the rule files with os.scandir (a few times faster than
    pathlib): the same files, in the same order, as sorted(rglob("*.yaml"))."""
    from regdoctor.engine.sources import BUNDLED_RULES_DIR, rule_file_stats, rule_files

    for name in ("b/x.yaml", "a-b/y.yaml", "a/z.yaml", "a/z.cases.yaml", "top.yaml", "n.txt"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("id: x\n")
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "b")  # rglob does not follow it
    (tmp_path / "link.yaml").symlink_to(tmp_path / "top.yaml")
    for directory in (tmp_path, BUNDLED_RULES_DIR):
        expected = [
            p
            for p in sorted(directory.rglob("*.yaml"))
            if not p.name.endswith(".cases.yaml") and p.is_file()
        ]
        assert list(rule_files(directory)) == expected
        assert [s[0] for s in rule_file_stats(directory)] == [str(p) for p in expected]


def test_cached_catalog_unpickles_without_a_python_call_per_record(tmp_path):
    """The rule records restore through the unpickler itself: no Python ``__setstate__``
    (a slotted dataclass has one) runs for each of the catalog's ~1,500 records, and the
    records read back equal to the ones loaded from YAML."""
    import cProfile
    import dataclasses
    import pstats

    from regdoctor.engine import schema

    load_catalog_cached(directory=tmp_path)  # writes the cache
    profile = cProfile.Profile()
    profile.enable()
    cached = load_catalog_cached(directory=tmp_path)
    profile.disable()
    called = {name for (_file, _line, name) in pstats.Stats(profile).stats}  # type: ignore[attr-defined]
    assert "_dataclass_setstate" not in called
    records = [
        obj
        for obj in vars(schema).values()
        if isinstance(obj, type)
        and dataclasses.is_dataclass(obj)
        and obj.__module__ == schema.__name__
    ]
    assert records and all("__setstate__" not in vars(cls) for cls in records)
    assert cached.rules == load_catalog().rules
