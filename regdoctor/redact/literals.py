"""Literal secret values, masked wherever they appear: a run's own credentials (a
:class:`~regdoctor.redact.secrets.Redactor`) and the tokens it learned
(:func:`~regdoctor.redact.secrets.remember`). :mod:`regdoctor.redact.secrets` masks
them first, then what its patterns recognise."""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["MASK", "MIN_LINE_FRAGMENT", "SecretSet"]

MASK = "****"

#: Shortest line of a multi-line secret that is also masked on its own (a password of
#: several lines echoed one line at a time). Shorter lines would blank ordinary words.
MIN_LINE_FRAGMENT = 6


def _hideable(value: str) -> bool:
    return bool(value.strip()) and bool(value.strip("*"))


#: Values at least this long and without whitespace are indexed by their first
#: characters (O(1) to add and to drop); shorter ones go to an Aho-Corasick automaton.
_PREFIX = 16


@functools.cache
def _long_run() -> re.Pattern[str]:
    return re.compile(r"\S{16,}")  # _PREFIX or more


class SecretSet:
    """Literal secret values, masked wherever they appear.

    - Tokens (at least 16 characters, no whitespace: every value :func:`remember`
      accepts) are indexed by their first 16 characters: adding or dropping one costs
      O(1), nothing is recompiled, and masking a text costs one dictionary look-up per
      position inside its runs of 16 or more non-space characters.
    - Other values (short passwords, lines with spaces) go to one Aho-Corasick automaton
      (:mod:`ahocorasick`), rebuilt only when that set changes (a run's own credentials:
      once or twice per run).
    - ``budget_bytes`` bounds the set: beyond it the least recently added (or re-added)
      values are dropped first (``None``: unbounded; a run's own credentials are kept in
      an unbounded set, learned tokens in a bounded one).
    - Surrounding whitespace is not part of a value, and each line of a multi-line value
      (of at least :data:`MIN_LINE_FRAGMENT` characters) is masked on its own, so a value
      split over lines or echoed with a trailing newline is still hidden.
    """

    __slots__ = ("_automaton", "_budget", "_bytes", "_dirty", "_index", "_lock", "_values")

    def __init__(self, budget_bytes: int | None = None) -> None:
        import threading
        from collections import OrderedDict

        self._values: OrderedDict[str, None] = OrderedDict()
        self._index: dict[str, tuple[str, ...]] = {}  # first characters -> long values
        self._budget = budget_bytes
        self._bytes = 0
        self._automaton: Any = None  # over the short values
        self._dirty = False  # the short values changed since the automaton was built
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Any:
        return iter(list(self._values))

    def __contains__(self, value: object) -> bool:
        return value in self._values

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._index = {}
            self._bytes = 0
            self._automaton = None
            self._dirty = False

    @staticmethod
    def _is_long(value: str) -> bool:
        return len(value) >= _PREFIX and not any(c.isspace() for c in value)

    def add(self, value: str) -> bool:
        """Register ``value`` (and its lines); whether anything new was registered."""
        if not isinstance(value, str):
            return False
        forms = [value.strip()]
        if "\n" in value or "\r" in value:
            forms += [
                line.strip()
                for line in value.splitlines()
                if len(line.strip()) >= MIN_LINE_FRAGMENT
            ]
        added = False
        with self._lock:
            for form in forms:
                if not _hideable(form):
                    continue
                if form in self._values:
                    self._values.move_to_end(form)
                    continue
                self._values[form] = None
                self._bytes += len(form)
                if self._is_long(form):
                    key = form[:_PREFIX]
                    self._index[key] = (*self._index.get(key, ()), form)
                else:
                    self._dirty = True
                added = True
            if self._budget is not None:
                while self._bytes > self._budget and len(self._values) > 1:
                    old, _ = self._values.popitem(last=False)
                    self._bytes -= len(old)
                    if self._is_long(old):
                        key = old[:_PREFIX]
                        rest = tuple(v for v in self._index.get(key, ()) if v != old)
                        if rest:
                            self._index[key] = rest
                        else:
                            self._index.pop(key, None)
                    else:
                        self._dirty = True
        return added

    def _matcher(self) -> Any:
        if not self._dirty:
            return self._automaton
        with self._lock:
            if self._dirty:
                short = [v for v in self._values if not self._is_long(v)]
                automaton = None
                if short:
                    import ahocorasick

                    automaton = ahocorasick.Automaton()
                    for value in short:
                        automaton.add_word(value, len(value))
                    automaton.make_automaton()
                self._automaton = automaton
                self._dirty = False
            return self._automaton

    def _spans(self, text: str, automaton: Any) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        if automaton is not None:
            spans = [(end - length + 1, end + 1) for end, length in automaton.iter(text)]
        index = self._index
        if index:
            get = index.get
            for run in _long_run().finditer(text):
                stop = run.end() - _PREFIX + 1
                for i in range(run.start(), stop):
                    found = get(text[i : i + _PREFIX])
                    if found:
                        spans.extend(
                            (i, i + len(value)) for value in found if text.startswith(value, i)
                        )
        return spans

    def mask(self, text: str) -> str:
        """``text`` with every registered value replaced by the mask (overlapping or
        adjacent occurrences become one mask)."""
        if not text or not self._values:
            return text
        automaton = self._matcher()
        # A registered value can contain '*'; masking can then create a new occurrence
        # next to the mask. Each pass removes at least one non-'*' character per match,
        # so this terminates.
        for _ in range(len(text) + 1):
            spans = self._spans(text, automaton)
            if not spans:
                return text
            out: list[str] = []
            last = 0
            for start, stop in _merge(spans):
                out.append(text[last:start])
                out.append(MASK)
                last = stop
            out.append(text[last:])
            text = "".join(out)
        return text


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged
