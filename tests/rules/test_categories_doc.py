"""The project's category list (rules/CATEGORIES.md) and the code's tuples are the same."""

from __future__ import annotations

import re
from pathlib import Path

from regdoctor.engine.categories import LIVE_ONLY_CATEGORIES, PASTE_CATEGORIES

DOC = Path(__file__).resolve().parents[2] / "rules" / "CATEGORIES.md"
_ROW = re.compile(r"^\| `([a-z0-9_.]+)` \|", re.MULTILINE)


def _codes_under(heading: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return _ROW.findall(section)


def test_paste_able_codes_match_the_document() -> None:
    assert _codes_under("## Codes that a live check, a pasted error, or both") == list(
        PASTE_CATEGORIES
    )


def test_live_only_codes_match_the_document() -> None:
    assert _codes_under("## Codes that only a live check produces") == list(LIVE_ONLY_CATEGORIES)


def test_the_document_ships_with_the_catalog() -> None:
    from regdoctor.engine.loader import BUNDLED_RULES_DIR

    assert (BUNDLED_RULES_DIR / "CATEGORIES.md").is_file()
