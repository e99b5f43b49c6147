"""How many terminal cells text takes, as Rich counts them, without importing Rich.

The piped plain report (:mod:`regdoctor.render.plain_text`) wraps lines exactly as
Rich's ``Text.wrap`` does, so it must measure text exactly as ``rich.cells`` does: East
Asian wide and fullwidth characters take two cells, combining marks, format characters
and control codes none; a zero width joiner hides the character after it. Rich takes
its widths from the wcwidth project's tables (Unicode 17 in rich 15); this module takes
them from the standard library's :mod:`unicodedata` (``east_asian_width``, the general
category), plus the few characters whose width wcwidth decides otherwise or that later
Unicode versions widened (:data:`_DIFFERENT`). ``wcwidth`` itself would give the same
widths but costs about 13 ms to import, as much as the Rich it replaces.

Where the standard library cannot know the answer, Rich is asked (``rich.cells``, about
2 ms, no Console): a character this Python's Unicode database does not know yet
(assigned after its version, 14.0 in Python 3.11), the emoji variation selector U+FE0F
(which widens only some characters: Rich's own list), and a ``UNICODE_VERSION`` chosen in
the environment (Rich then measures by that version's table). Report text is ASCII and a
few marks (✓ ✗ … ·), so in practice a piped check imports no Rich at all.

``tests/render/test_cells.py`` compares every code point and random strings with Rich.
The algorithms below (graphemes, splitting at a cell, folding) follow ``rich.cells``
(MIT licence) step by step, so that the bytes are the same.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import cache, lru_cache

__all__ = ["cell_len", "chop_cells", "set_cell_size"]

CellSpan = tuple[int, int, int]


def _single_cells(text: str) -> bool:
    """Whether every character is one Rich takes as one cell without measuring it
    (``rich.cells._is_single_cell_widths``: its shortcuts differ at widths <= 0)."""
    if text.isascii():
        return text.isprintable()
    return _single_cell_pattern().fullmatch(text) is not None


@cache
def _single_cell_pattern() -> re.Pattern[str]:
    """Compiled when first needed: a third of a millisecond a healthy piped check spares."""
    return re.compile("[\x20-\x7e\xa0-\xac\xae-\u02ff\u0370-\u0482\u2500-\u25fc\u2800-\u28ff]*")


#: (first, last, cells): where wcwidth's table (Unicode 17) differs from the rule below
#: applied to this Python's database. Prepended concatenation marks and the soft hyphen
#: are printed (1); Hangul fillers and the emoji skin-tone modifiers are not (0); the
#: Yijing symbols, monograms, digrams, trigrams and counting rods became wide in 16.0.
_DIFFERENT: tuple[tuple[int, int, int], ...] = (
    (0x00AD, 0x00AD, 1),
    (0x0600, 0x0605, 1),
    (0x06DD, 0x06DD, 1),
    (0x070F, 0x070F, 1),
    (0x0890, 0x0891, 1),
    (0x08E2, 0x08E2, 1),
    (0x2630, 0x2637, 2),
    (0x268A, 0x268F, 2),
    (0x3164, 0x3164, 0),
    (0x4DC0, 0x4DFF, 2),
    (0xFFA0, 0xFFA0, 0),
    (0x110BD, 0x110BD, 1),
    (0x110CD, 0x110CD, 1),
    (0x1D300, 0x1D356, 2),
    (0x1D360, 0x1D376, 2),
    (0x1F3FB, 0x1F3FF, 0),
)
#: General categories of zero width: marks (also spacing ones, as wcwidth), format
#: characters, line and paragraph separators.
_ZERO_CATEGORIES = frozenset(("Mn", "Me", "Mc", "Cf", "Zl", "Zp"))
#: The width is Rich's to say (see the module's docstring).
_ASK_RICH = -1

_ZWJ = "\u200d"
_VS16 = "\ufe0f"


@lru_cache(maxsize=4096)
def _char_width(character: str) -> int:
    """Cells of one character, or :data:`_ASK_RICH`."""
    codepoint = ord(character)
    if codepoint < 32 or 0x7F <= codepoint < 0xA0:
        return 0
    if character == _VS16:
        return _ASK_RICH
    for first, last, cells in _DIFFERENT:
        if first <= codepoint <= last:
            return cells
    category = unicodedata.category(character)
    if category == "Cn":
        return _ASK_RICH
    if category in _ZERO_CATEGORIES:
        return 0
    if 0x1160 <= codepoint <= 0x11FF or 0xD7B0 <= codepoint <= 0xD7FF:
        return 0  # Hangul jamo vowels and finals: they join the syllable before them
    return 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1


@cache
def _version_chosen() -> bool:
    """Rich reads ``UNICODE_VERSION`` once, on its first measure."""
    return "UNICODE_VERSION" in os.environ


def _rich_measures(text: str) -> bool:
    return _version_chosen() or any(_char_width(c) == _ASK_RICH for c in text)


def cell_len(text: str) -> int:
    """Cells ``text`` takes on a terminal (``rich.cells.cell_len``)."""
    if _single_cells(text):
        return len(text)
    if _rich_measures(text):
        from rich.cells import cell_len as rich_cell_len

        return rich_cell_len(text)
    if _ZWJ not in text:
        return sum(map(_char_width, text))
    total = 0
    index = 0
    count = len(text)
    while index < count:
        character = text[index]
        if character == _ZWJ:
            index += 1  # and the character it joins, below
        else:
            total += _char_width(character)
        index += 1
    return total


def _split_graphemes(text: str) -> tuple[list[CellSpan], int]:
    """(start, end, cells) of each grapheme, and the total (``rich.cells.split_graphemes``
    for text without U+FE0F)."""
    count = len(text)
    index = 0
    total = 0
    spans: list[CellSpan] = []
    while index < count:
        character = text[index]
        if character == _ZWJ:
            if not spans:
                spans.append((index, index + 1, 0))
                index += 1
                continue
            index += 2 if index < count - 1 else 1
            start, _end, cells = spans[-1]
            spans[-1] = (start, index, cells)
            continue
        width = _char_width(character)
        if width:
            spans.append((index, index + 1, width))
            total += width
        elif spans:
            start, _end, cells = spans[-1]
            spans[-1] = (start, index + 1, cells)
        else:
            spans.append((index, index + 1, 0))
        index += 1
    return spans, total


def _split_text(text: str, cell_position: int) -> tuple[str, str]:
    """``text`` split at ``cell_position``; a wide character cut in two becomes two
    spaces (``rich.cells._split_text``)."""
    if cell_position <= 0:
        return "", text
    spans, cell_length = _split_graphemes(text)
    offset = int((cell_position / cell_length) * len(spans))
    left_size = sum(span[2] for span in spans[:offset])
    while True:
        if left_size == cell_position:
            if offset >= len(spans):
                return text, ""
            split_index = spans[offset][0]
            return text[:split_index], text[split_index:]
        if left_size < cell_position:
            start, end, cell_size = spans[offset]
            if left_size + cell_size > cell_position:
                return text[:start] + " ", " " + text[end:]
            offset += 1
            left_size += cell_size
        else:
            start, end, cell_size = spans[offset - 1]
            if left_size - cell_size < cell_position:
                return text[:start] + " ", " " + text[end:]
            offset -= 1
            left_size -= cell_size


def set_cell_size(text: str, total: int) -> str:
    """``text`` cut or padded with spaces to ``total`` cells (``rich.cells.set_cell_size``)."""
    if _single_cells(text):
        size = len(text)
        if size < total:
            return text + " " * (total - size)
        return text[:total]
    if total <= 0:
        return ""
    if _rich_measures(text):
        from rich.cells import set_cell_size as rich_set_cell_size

        return rich_set_cell_size(text, total)
    cell_size = cell_len(text)
    if cell_size == total:
        return text
    if cell_size < total:
        return text + " " * (total - cell_size)
    return _split_text(text, total)[0]


def chop_cells(text: str, width: int) -> list[str]:
    """``text`` in pieces of at most ``width`` cells (``rich.cells.chop_cells``)."""
    if _single_cells(text):
        return [text[index : index + width] for index in range(0, len(text), width)]
    if _rich_measures(text):
        from rich.cells import chop_cells as rich_chop_cells

        return rich_chop_cells(text, width)
    spans, _ = _split_graphemes(text)
    line_size = 0
    lines: list[str] = []
    line_offset = 0
    for start, _end, cell_size in spans:
        if line_size + cell_size > width:
            lines.append(text[line_offset:start])
            line_offset = start
            line_size = 0
        line_size += cell_size
    if line_size:
        lines.append(text[line_offset:])
    return lines
