"""Where the rule files are: the bundled catalog's folder and the rule files under a
folder. Kept apart from :mod:`regdoctor.engine.loader` so that the rule cache can tell
whether it is current without importing the rule model or PyYAML."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["BUNDLED_RULES_DIR", "CASES_SUFFIX", "rule_file_stats", "rule_files"]

CASES_SUFFIX = ".cases.yaml"


def _bundled_rules_dir() -> Path:
    """The catalog's folder: the repository's top-level ``rules/``, installed as the
    package ``regdoctor.rules`` (a real folder in a wheel, an sdist, an editable install
    and ``pipx install``; zip imports are not supported)."""
    import regdoctor.rules as package

    where = getattr(package, "__file__", None)
    if where:
        return Path(where).parent
    from importlib.resources import files  # a namespace package: ask importlib

    return Path(str(files("regdoctor.rules")))


#: Where the bundled rules live.
BUNDLED_RULES_DIR = _bundled_rules_dir()


def _walk(directory: str, parts: tuple[str, ...], out: list[tuple[tuple[str, ...], str]]) -> None:
    """``*.yaml`` files (not cases) under ``directory``, as ``rglob`` finds them: every
    entry named so that is a file (symbolic links followed), in sub-folders that are not
    symbolic links."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        try:
            if entry.is_dir() and not entry.is_symlink():
                _walk(entry.path, (*parts, name), out)
            elif name.endswith(".yaml") and not name.endswith(CASES_SUFFIX) and entry.is_file():
                out.append(((*parts, name), entry.path))
        except OSError:
            continue


def _files(directory: Path) -> list[str]:
    found: list[tuple[tuple[str, ...], str]] = []
    _walk(str(directory), (), found)
    found.sort()  # as sorted Paths: part by part
    return [path for _parts, path in found]


def rule_files(directory: Path) -> Iterator[Path]:
    """The rule files under ``directory`` (recursively, sorted), without cases files."""
    for path in _files(directory):
        yield Path(path)


def rule_file_stats(directory: Path) -> list[tuple[str, int, int]]:
    """``(path, mtime in ns, size)`` of every rule file under ``directory``, in order: what
    a cache built from them must have seen to be current."""
    out = []
    for path in _files(directory):
        try:
            st = os.stat(path)
        except OSError:
            out.append((path, -1, -1))
            continue
        out.append((path, st.st_mtime_ns, st.st_size))
    return out
