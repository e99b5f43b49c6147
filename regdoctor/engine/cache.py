"""A compiled rule cache, so that ``regdoctor explain`` starts fast.

Loading the catalog means importing PyYAML, parsing some hundred YAML files and
validating them; together that is most of ``explain``'s start-up. :func:`load_catalog_cached`
keeps the validated :class:`~regdoctor.engine.loader.Catalog` in a pickle under
``$XDG_CACHE_HOME/regdoctor/`` (default ``~/.cache/regdoctor/``), keyed by:

- the path, modification time (ns) and size of every rule file (bundled and extra),
  so an edited, added or removed rule invalidates it;
- the same for the engine's own modules that define the rule model (a regdoctor upgrade
  or a schema change invalidates it), and the regdoctor and Python versions.

A cache that is missing, stale, unreadable, not owned by this user, writable by others,
or that fails to unpickle is ignored and rewritten; a cache directory that cannot be
written is not an error (the catalog is then simply loaded from YAML every time).
``REGDOCTOR_NO_CACHE=1`` turns the cache off. Regexes are compiled on first use (see
:class:`~regdoctor.engine.schema.TextPattern`), so a cached start compiles only the few
patterns a paste needs.
"""

from __future__ import annotations

import os
import pickle
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

from regdoctor import __version__
from regdoctor.engine.loader import BUNDLED_RULES_DIR, Catalog, load_catalog, rule_files

__all__ = ["CACHE_NAME", "cache_dir", "cache_key", "load_catalog_cached"]

CACHE_NAME = "catalog-v1.pickle"
_FORMAT = 1
_ENGINE_DIR = Path(__file__).resolve().parent
_MODEL_FILES = ("categories.py", "schema.py", "parse.py", "loader.py", "template.py")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "regdoctor"


def _stat_entry(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_mtime_ns, st.st_size)


def _files(extra_dirs: Sequence[Path], bundled: bool) -> list[tuple[str, int, int]]:
    entries: list[tuple[str, int, int]] = []
    sources = ([BUNDLED_RULES_DIR] if bundled else []) + [Path(d) for d in extra_dirs]
    for source in sources:
        if source.is_file():
            entries.append(_stat_entry(source))
        elif source.is_dir():
            entries.extend(_stat_entry(p) for p in rule_files(source))
        else:
            entries.append((str(source), -1, -1))
    return entries


def cache_key(extra_dirs: Sequence[Path] = (), *, bundled: bool = True) -> str:
    """What the cached catalog must have been built from to be used."""
    parts: list[object] = [_FORMAT, __version__, sys.version_info[:2], bundled]
    parts += [_stat_entry(_ENGINE_DIR / name) for name in _MODEL_FILES]
    parts += _files(extra_dirs, bundled)
    return repr(parts)


def _trusted(path: Path) -> bool:
    """Only our own file, not writable by group or others, is unpickled."""
    try:
        st = path.stat()
    except OSError:
        return False
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    return not st.st_mode & 0o022


def _read(path: Path, key: str) -> Catalog | None:
    if not _trusted(path):
        return None
    try:
        with path.open("rb") as handle:
            data = pickle.load(handle)  # noqa: S301 - our own file, checked above
    except Exception:
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    catalog = data.get("catalog")
    return catalog if isinstance(catalog, Catalog) else None


def _write(path: Path, key: str, catalog: Catalog) -> None:
    import tempfile

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".catalog-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                data = {"key": key, "catalog": catalog}
                pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except Exception:
        return  # a read-only or full cache directory only costs speed


def _text_only(catalog: Catalog) -> Catalog:
    return Catalog(
        rules=tuple(rule for rule in catalog.rules if rule.text is not None),
        errors=catalog.errors,
    )


def load_catalog_cached(
    extra_dirs: Sequence[Path] = (),
    *,
    bundled: bool = True,
    directory: Path | None = None,
    text_only: bool = False,
) -> Catalog:
    """:func:`~regdoctor.engine.loader.load_catalog`, from the cache when it is current.

    ``text_only``: only the rules with ``match.text`` (all ``explain`` needs; half the
    catalog to unpickle), cached apart from the whole catalog.
    """
    if os.environ.get("REGDOCTOR_NO_CACHE"):
        catalog = load_catalog(extra_dirs, bundled=bundled)
        return _text_only(catalog) if text_only else catalog
    try:
        key = cache_key(extra_dirs, bundled=bundled) + (" text" if text_only else "")
    except OSError:
        catalog = load_catalog(extra_dirs, bundled=bundled)
        return _text_only(catalog) if text_only else catalog
    if bundled and not extra_dirs:
        name = CACHE_NAME
    else:
        sources = repr((bundled, [str(d) for d in extra_dirs])).encode("utf-8", "replace")
        name = f"catalog-{zlib.crc32(sources):08x}.pickle"
    if text_only:
        name = name.replace("catalog-", "text-catalog-", 1)
    path = (directory or cache_dir()) / name
    cached = _read(path, key)
    if cached is not None:
        return cached
    catalog = load_catalog(extra_dirs, bundled=bundled)
    if text_only:
        catalog = _text_only(catalog)
    _write(path, key, catalog)
    return catalog
