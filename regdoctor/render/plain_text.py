"""Text laid out as Rich lays it out, for output Rich would not style: no Rich imported.

``rich.text`` (with ``rich.segment``, ``rich.style``, ``rich.color``, ``rich.emoji``...)
is about 12 ms of a piped ``check``, which prints no style at all. :class:`PlainText` is
the part of :class:`rich.text.Text` the plain report uses (``append``, ``+``, ``join``,
``cell_len``, ``rstrip``, ``wrap``) on a plain string: styles are accepted and dropped,
and :meth:`PlainText.wrap` breaks lines where ``Text.wrap`` does (its word rule, folding
of words longer than the width, trailing spaces, tabs, cells measured by
:mod:`regdoctor.render.cells`). The report's renderer (:mod:`regdoctor.render.plain`)
builds its lines with either class: the same code says the same things, and only the
terminal (Rich's Console) sees styles.

``tests/render/test_plain_text.py`` compares :meth:`PlainText.wrap` with ``Text.wrap``
on chosen and random text (wide characters, combining marks, words longer than the
width, tabs); ``tests/cli/test_check_plain_console.py`` compares whole reports.
The steps follow ``rich.text`` and ``rich._wrap`` (MIT licence).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

from regdoctor.render.cells import cell_len, chop_cells, set_cell_size

__all__ = ["PlainText", "divide_line"]

#: Control codes ``rich.text.Text`` removes from what it is given (bell, backspace,
#: vertical tab, form feed, carriage return).
_STRIP = dict.fromkeys((7, 8, 11, 12, 13))
_word = re.compile(r"\s*\S+\s*")
_trailing_space = re.compile(r"\s+$")


class PlainText:
    """A line (or lines) of plain text with :class:`rich.text.Text`'s layout."""

    __slots__ = ("_text",)

    def __init__(self, text: str = "", style: object = "") -> None:
        del style  # printed without style: there is none to keep
        self._text = text.translate(_STRIP)

    @property
    def plain(self) -> str:
        return self._text

    @property
    def cell_len(self) -> int:
        return cell_len(self._text)

    def __len__(self) -> int:
        return len(self._text)

    def __bool__(self) -> bool:
        return bool(self._text)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"PlainText({self._text!r})"

    def __add__(self, other: object) -> PlainText:
        if isinstance(other, str | PlainText):
            return PlainText(self._text).append(other)
        return NotImplemented

    def append(self, text: str | PlainText, style: object = None) -> PlainText:
        if isinstance(text, PlainText):
            self._text += text._text
        elif isinstance(text, str):
            self._text += text.translate(_STRIP)
        else:
            raise TypeError("Only str or PlainText can be appended to PlainText")
        return self

    def stylize(self, style: object, start: int = 0, end: int | None = None) -> None:
        """Styles are dropped: printed without style, there is nothing to mark."""
        del style, start, end

    def join(self, lines: Iterable[PlainText]) -> PlainText:
        joined = PlainText()
        joined._text = self._text.join(line._text for line in lines)
        return joined

    def rstrip(self) -> None:
        self._text = self._text.rstrip()

    def wrap(
        self,
        console: Any = None,
        width: int = 80,
        *,
        justify: str | None = None,
        overflow: str | None = None,
        tab_size: int = 8,
        no_wrap: bool | None = None,
    ) -> list[PlainText]:
        """The lines ``Text.wrap`` makes of this text at ``width`` cells, with the
        ``"default"`` justification (none) and ``overflow`` "fold" (the default),
        "crop", "ellipsis" or "ignore". ``console`` is not used (Rich uses it only to
        justify)."""
        del console, justify
        fold = (overflow or "fold") == "fold"
        method = overflow or "fold"
        unwrapped = bool(no_wrap) or overflow == "ignore"
        lines: list[PlainText] = []
        for text in self._text.split("\n"):
            if "\t" in text:
                text = _expand_tabs(text, tab_size)
            if unwrapped:
                if overflow == "ignore":
                    lines.append(_line(text))
                    continue
                pieces = [text]
            else:
                pieces = _divide(text, divide_line(text, width, fold=fold))
                pieces = [_rstrip_end(piece, width) for piece in pieces]
            lines.extend(_line(_truncate(piece, width, method)) for piece in pieces)
        return lines


def _line(text: str) -> PlainText:
    line = PlainText()
    line._text = text
    return line


def divide_line(text: str, width: int, fold: bool = True) -> list[int]:
    """Where ``text`` breaks to fit ``width`` cells (``rich._wrap.divide_line``): a word
    is its non-space characters with the spaces right of it; a word wider than the
    line is folded (``fold``) or left to be cropped."""
    breaks: list[int] = []
    cell_offset = 0
    for match in _word.finditer(text):
        start = match.start()
        word = match.group(0)
        word_length = cell_len(word.rstrip())
        if width - cell_offset >= word_length:
            cell_offset += cell_len(word)
        elif word_length > width:
            if fold:
                folded = chop_cells(word, width)
                for i, line in enumerate(folded):
                    if start:
                        breaks.append(start)
                    if i == len(folded) - 1:
                        cell_offset = cell_len(line)
                    else:
                        start += len(line)
            else:
                if start:
                    breaks.append(start)
                cell_offset = cell_len(word)
        elif cell_offset and start:
            breaks.append(start)
            cell_offset = cell_len(word)
    return breaks


def _divide(text: str, offsets: list[int]) -> list[str]:
    if not offsets:
        return [text]
    bounds = [0, *offsets, len(text)]
    return [text[start:end] for start, end in pairwise(bounds)]


def _rstrip_end(text: str, size: int) -> str:
    """Spaces past ``size`` characters dropped (``Text.rstrip_end``: characters, not
    cells, as Rich counts them there)."""
    if len(text) <= size:
        return text
    spaces = _trailing_space.search(text)
    if spaces is None:
        return text
    return text[: -min(len(spaces.group(0)), len(text) - size)]


def _truncate(text: str, width: int, overflow: str) -> str:
    if overflow == "ignore" or cell_len(text) <= width:
        return text
    if overflow == "ellipsis":
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def _expand_tabs(text: str, tab_size: int) -> str:
    """Tabs as spaces to the next stop of ``tab_size`` cells (``Text.expand_tabs`` of
    one line)."""
    out: list[str] = []
    position = 0
    parts = text.split("\t")
    for i, part in enumerate(parts):
        if i < len(parts) - 1:
            part += " "
            position += cell_len(part)
            remainder = position % tab_size
            if remainder:
                part += " " * (tab_size - remainder)
                position += tab_size - remainder
        else:
            position += cell_len(part)
        if part:
            out.append(part)
    return "".join(out)
