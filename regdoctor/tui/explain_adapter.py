"""The only module of the TUI that calls ``regdoctor explain``'s engine.

Thin on purpose: the Explain screen shows :class:`regdoctor.engine.explain.TextMatch`
objects as they come. The catalog is loaded once (from the compiled rule cache when
there is one), in a thread, by :func:`load_catalog`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from regdoctor.engine.explain import TextMatch
    from regdoctor.engine.loader import Catalog


def load_catalog() -> Catalog:
    from regdoctor.engine.cache import load_catalog_cached

    return load_catalog_cached()


def explain_text(catalog: Catalog, text: str) -> list[TextMatch]:
    """The matches of ``regdoctor explain`` for ``text`` (empty for blank text)."""
    if not text.strip():
        return []
    from regdoctor.engine.explain import explain

    return explain(catalog, text)


def check_target_of(match: TextMatch) -> str | None:
    """The image or registry the paste names, as a TARGET for a check (or None).

    Only when ``explain`` itself suggests a check (``match.check``), so that the TUI
    never decides on its own what a paste names.
    """
    if not match.check:
        return None
    for key in ("image", "registry"):
        value = match.fields.get(key)
        if value and "****" not in value:
            return value
    return None
