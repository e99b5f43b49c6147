"""Compiled rule caches, so that ``regdoctor explain`` and ``check`` start fast.

Loading the catalog means importing PyYAML, parsing some hundred YAML files and
validating them; together that is most of a command's start-up. Two caches live under
``$XDG_CACHE_HOME/regdoctor/`` (default ``~/.cache/regdoctor/``):

- :func:`load_index_cached`, for ``explain``: the index of the text rules
  (:class:`~regdoctor.engine.explain_index.Index`: each rule's words and regexes, and
  every regex's required literals) as plain tuples and strings in a ``marshal`` file.
  Reading it imports neither the rule model nor its validator nor PyYAML, and nothing is
  validated again: the rules were validated when the file was written.
- :func:`load_catalog_cached`, for ``check`` and the rest: the validated
  :class:`~regdoctor.engine.loader.Catalog` in a pickle.

Each is keyed by:

- the path, modification time (ns) and size of every rule file (bundled and extra),
  so an edited, added or removed rule invalidates it;
- the same for the engine's own modules that define the rule model and the index (a
  regdoctor upgrade or a schema change invalidates it), and the regdoctor and Python
  versions.

A cache that is missing, stale, unreadable, not owned by this user, writable by others,
or that fails to load is ignored and rewritten; a cache directory that cannot be
written is not an error (the catalog is then simply loaded from YAML every time).
``REGDOCTOR_NO_CACHE=1`` turns the caches off. Regexes are compiled on first use, so a
cached start compiles only the few patterns a paste needs.
"""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regdoctor import __version__
from regdoctor.cache_files import cache_dir, caching_off, read_trusted, trusted, write_bytes
from regdoctor.engine.sources import BUNDLED_RULES_DIR, rule_file_stats

if TYPE_CHECKING:
    from regdoctor.engine.explain_index import Index
    from regdoctor.engine.loader import Catalog

__all__ = [
    "CACHE_NAME",
    "INDEX_NAME",
    "cache_dir",
    "cache_key",
    "catalog_cache_present",
    "load_catalog_cached",
    "load_index_cached",
]

CACHE_NAME = "catalog-v1.pickle"
INDEX_NAME = "explain-index-v1.marshal"
_FORMAT = 3  # 2: remediation steps carry their checks; 3: the rule records have no slots
_ENGINE_DIR = Path(__file__).resolve().parent
_MODEL_FILES = (
    "categories.py",
    "schema.py",
    "parse.py",
    "loader.py",
    "template.py",
    "snippets.py",
)
#: What the index is built by, besides the rule model.
_INDEX_FILES = ("explain_index.py", "literals.py", "sources.py")


def load_catalog(extra_dirs: Sequence[Path] = (), *, bundled: bool = True) -> Catalog:
    """:func:`regdoctor.engine.loader.load_catalog` (the loader, the rule model and PyYAML
    are imported only when no cache can serve)."""
    from regdoctor.engine.loader import load_catalog as load

    return load(extra_dirs, bundled=bundled)


def _stat_entry(path: str) -> tuple[str, int, int]:
    st = os.stat(path)
    return (path, st.st_mtime_ns, st.st_size)


def _files(extra_dirs: Sequence[Path], bundled: bool) -> list[tuple[str, int, int]]:
    entries: list[tuple[str, int, int]] = []
    sources = ([BUNDLED_RULES_DIR] if bundled else []) + [Path(d) for d in extra_dirs]
    for source in sources:
        if source.is_file():
            entries.append(_stat_entry(str(source)))
        elif source.is_dir():
            entries.extend(rule_file_stats(source))
        else:
            entries.append((str(source), -1, -1))
    return entries


def cache_key(extra_dirs: Sequence[Path] = (), *, bundled: bool = True, index: bool = False) -> str:
    """What the cached catalog (``index``: the explain index) must have been built from
    to be used."""
    parts: list[object] = [_FORMAT, __version__, sys.version_info[:2], bundled]
    engine_files = _MODEL_FILES + (_INDEX_FILES if index else ())
    parts += [_stat_entry(os.path.join(_ENGINE_DIR, name)) for name in engine_files]
    parts += _files(extra_dirs, bundled)
    return repr(parts)


def _read(path: Path, key: str) -> Catalog | None:
    raw = read_trusted(path)
    if raw is None:
        return None
    import pickle

    from regdoctor.engine.loader import Catalog

    try:
        data = pickle.loads(raw)  # noqa: S301 - our own file, checked as it was read
    except Exception:
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    catalog = data.get("catalog")
    return catalog if isinstance(catalog, Catalog) else None


def _write(path: Path, key: str, catalog: Catalog) -> None:
    import pickle

    data = pickle.dumps({"key": key, "catalog": catalog}, protocol=pickle.HIGHEST_PROTOCOL)
    write_bytes(path, data, prefix=".catalog-")


def _text_only(catalog: Catalog) -> Catalog:
    return type(catalog)(
        rules=tuple(rule for rule in catalog.rules if rule.text is not None),
        errors=catalog.errors,
    )


def _file_name(base: str, extra_dirs: Sequence[Path], bundled: bool) -> str:
    """``base`` for the bundled rules alone, else ``base`` tagged with the sources."""
    if bundled and not extra_dirs:
        return base
    sources = repr((bundled, [str(d) for d in extra_dirs])).encode("utf-8", "replace")
    stem, dot, suffix = base.partition(".")
    return f"{stem}-{zlib.crc32(sources):08x}{dot}{suffix}"


def _catalog_path(
    extra_dirs: Sequence[Path], bundled: bool, directory: Path | None, text_only: bool
) -> Path:
    if bundled and not extra_dirs:
        name = CACHE_NAME
    else:
        sources = repr((bundled, [str(d) for d in extra_dirs])).encode("utf-8", "replace")
        name = f"catalog-{zlib.crc32(sources):08x}.pickle"
    if text_only:
        name = name.replace("catalog-", "text-catalog-", 1)
    return (directory or cache_dir()) / name


def catalog_cache_present(extra_dirs: Sequence[Path] = ()) -> bool:
    """Whether :func:`load_catalog_cached` has a cache file of its own to read for
    ``extra_dirs`` (one stat; whether it is current is learnt only by reading it). Not
    with ``REGDOCTOR_NO_CACHE``, nor when no cache could be written (a read-only home):
    then every load parses the rules."""
    if caching_off():
        return False
    return trusted(_catalog_path(extra_dirs, True, None, False))


def load_catalog_cached(
    extra_dirs: Sequence[Path] = (),
    *,
    bundled: bool = True,
    directory: Path | None = None,
    text_only: bool = False,
) -> Catalog:
    """:func:`~regdoctor.engine.loader.load_catalog`, from the cache when it is current.

    ``text_only``: only the rules with ``match.text`` (half the catalog to unpickle),
    cached apart from the whole catalog. ``explain`` itself reads the lighter
    :func:`load_index_cached`.
    """
    if caching_off():
        catalog = load_catalog(extra_dirs, bundled=bundled)
        return _text_only(catalog) if text_only else catalog
    try:
        key = cache_key(extra_dirs, bundled=bundled) + (" text" if text_only else "")
    except OSError:
        catalog = load_catalog(extra_dirs, bundled=bundled)
        return _text_only(catalog) if text_only else catalog
    path = _catalog_path(extra_dirs, bundled, directory, text_only)
    cached = _read(path, key)
    if cached is not None:
        return cached
    catalog = load_catalog(extra_dirs, bundled=bundled)
    if text_only:
        catalog = _text_only(catalog)
    _write(path, key, catalog)
    return catalog


def _read_index(path: Path, key: str) -> Any:
    raw = read_trusted(path)
    if raw is None:
        return None
    import marshal

    try:
        data = marshal.loads(raw)  # noqa: S302 - our own file, checked as it was read
    except Exception:
        return None
    if not isinstance(data, tuple) or len(data) != 2 or data[0] != key:
        return None
    return data[1]


def load_index_cached(
    extra_dirs: Sequence[Path] = (), *, bundled: bool = True, directory: Path | None = None
) -> Index:
    """The index ``explain`` reads (the text rules of
    :func:`~regdoctor.engine.loader.load_catalog`), from the cache when it is current."""
    from regdoctor.engine.explain_index import Index

    if caching_off():
        return Index.from_catalog(load_catalog(extra_dirs, bundled=bundled))
    try:
        key = cache_key(extra_dirs, bundled=bundled, index=True)
    except OSError:
        return Index.from_catalog(load_catalog(extra_dirs, bundled=bundled))
    path = (directory or cache_dir()) / _file_name(INDEX_NAME, extra_dirs, bundled)
    data = _read_index(path, key)
    if data is not None:
        try:
            return Index.from_data(data)
        except Exception:  # noqa: S110 - another layout: rebuilt below
            pass
    index = Index.from_catalog(load_catalog(extra_dirs, bundled=bundled))
    import marshal

    write_bytes(path, prefix=".catalog-", data=marshal.dumps((key, index.to_data())))
    return index
