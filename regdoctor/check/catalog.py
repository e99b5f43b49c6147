"""The one rule catalog every command judges with: the bundled rules plus the caller's
``--rules-dir`` folders, loaded once per set of folders (through the compiled cache) and
safe to ask for from several threads (``serve``, the TUI)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from regdoctor.engine.loader import Catalog

__all__ = ["catalog"]

_LOCK = threading.Lock()
_LOADED: dict[tuple[Path, ...], Catalog] = {}


def catalog(rule_dirs: Sequence[Path] = ()) -> Catalog:
    """The catalog for ``rule_dirs`` (bundled rules first, then each folder in order)."""
    key = tuple(Path(d) for d in rule_dirs)
    with _LOCK:
        found = _LOADED.get(key)
        if found is None:
            from regdoctor.engine.cache import load_catalog_cached

            found = _LOADED[key] = load_catalog_cached(key)
        return found
