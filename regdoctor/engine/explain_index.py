"""The text rules of a catalog, their literals, and matching one line against them.

Used by :mod:`regdoctor.engine.explain` and :mod:`regdoctor.engine.explain_stream`: every
rule's regexes have *required literals* (:mod:`regdoctor.engine.literals`); a rule's
regexes run only on lines holding one of its literals. A long log is scanned block by
block with one trie regex of all literals, so that only lines with a hit are looked at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from regdoctor.engine.loader import Catalog
from regdoctor.engine.schema import Rule, TextPattern

__all__ = [
    "Hit",
    "Index",
    "best_hit",
    "build_index",
    "candidate_lines",
    "candidates",
    "index_of",
    "match_rule",
]

#: Up to this many lines, every line is looked at; longer logs are scanned for literals.
SCAN_THRESHOLD = 400


# --------------------------------------------------------------------------- the index


class Index:
    """The text rules of a catalog and their literals, for the pre-filter."""

    __slots__ = ("_finder", "_scan", "always", "literals", "rules")

    def __init__(self, catalog: Catalog) -> None:
        self.rules: tuple[Rule, ...] = tuple(r for r in catalog.rules if r.text is not None)
        owners: dict[str, set[int]] = {}
        always: set[int] = set()
        for i, rule in enumerate(self.rules):
            found = rule.text.literals if rule.text is not None else None
            if not found:
                always.add(i)
                continue
            for literal in found:
                owners.setdefault(literal, set()).add(i)
        #: (literal, the rules that need it), longest first.
        self.literals: tuple[tuple[str, frozenset[int]], ...] = tuple(
            (lit, frozenset(owners[lit])) for lit in sorted(owners, key=lambda s: (-len(s), s))
        )
        #: Rules without a usable literal: tried on every line.
        self.always: frozenset[int] = frozenset(always)
        self._scan: re.Pattern[str] | None = None
        self._finder: tuple[re.Pattern[str], dict[str, frozenset[int]]] | None = None

    @property
    def finder(self) -> tuple[re.Pattern[str], dict[str, frozenset[int]]]:
        """For long logs: a regex reporting, at every position of a line, the longest
        literal starting there, and for each literal the rules of every literal inside it
        (a line holding "unauthorized" also holds "authorized")."""
        if self._finder is None:
            from regdoctor.engine.literals import trie_regex

            words = [lit for lit, _ in self.literals]
            owners: dict[str, frozenset[int]] = {}
            for word in words:
                found: set[int] = set()
                for other, rules in self.literals:
                    if other in word:
                        found |= rules
                owners[word] = frozenset(found)
            body = trie_regex(sorted(words), longest=True) or "(?!)"
            self._finder = (re.compile(f"(?=({body}))"), owners)
        return self._finder

    @property
    def scan(self) -> re.Pattern[str]:
        """Any literal, as a trie regex over lower-cased text (compiled on first use: only
        long logs need it)."""
        if self._scan is None:
            from regdoctor.engine.literals import trie_regex

            self._scan = re.compile(trie_regex([lit for lit, _ in self.literals]) or "(?!)")
        return self._scan


def build_index(catalog: Catalog) -> Index:
    return Index(catalog)


_INDEXES: dict[int, tuple[Catalog, Index]] = {}


def index_of(catalog: Catalog) -> Index:
    cached = _INDEXES.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    index = build_index(catalog)
    if len(_INDEXES) > 8:
        _INDEXES.clear()
    _INDEXES[id(catalog)] = (catalog, index)
    return index


# --------------------------------------------------------------------------- matching


class Hit:
    """One rule matching one line."""

    __slots__ = ("error_at", "groups", "rule", "span", "strength")

    def __init__(
        self,
        rule: Rule,
        span: tuple[int, int],
        groups: dict[str, str],
        strength: int,
        error_at: int = 0,
    ) -> None:
        self.rule = rule
        self.span = span
        self.groups = groups
        self.strength = strength  # how many regexes matched
        self.error_at = error_at  # where the error itself starts in the line


def _search(pat: TextPattern, line: str) -> re.Match[str] | None:
    try:
        return pat.pattern.search(line)
    except Exception:  # pragma: no cover - a compiled pattern does not raise on str
        return None


def match_rule(rule: Rule, line: str) -> Hit | None:
    """Does ``rule``'s ``match.text`` hold on ``line``? Its span and named groups if so."""
    spec = rule.text
    if spec is None:
        return None
    found: list[re.Match[str]] = []
    for pat in spec.all:
        m = _search(pat, line)
        if m is None:
            return None
        found.append(m)
    if spec.any:
        for pat in spec.any:
            m = _search(pat, line)
            if m is not None:
                found.append(m)
                break
        else:
            return None
    for pat in spec.none:
        if _search(pat, line) is not None:
            return None
    if not found:
        return None
    start = min(m.start() for m in found)
    end = max(m.end() for m in found)
    groups: dict[str, str] = {}
    for m in found:
        for name, value in m.groupdict().items():
            if value and name in spec.extract:
                groups.setdefault(name, value)
    # Where the error itself starts: the last regex to start (with `all`, the context
    # comes first, e.g. "failed to fetch anonymous token: Get URL: x509: ...").
    error_at = max(m.start() for m in found)
    return Hit(rule, (start, end), groups, len(found), error_at)


def candidates(index: Index, line: str, long_log: bool = False) -> set[int]:
    """The rules whose literals occur in ``line``.

    A short paste tests each literal with ``in`` (nothing to compile); a long log uses
    the finder regex, compiled once, which reads each line once.
    """
    wanted = set(index.always)
    low = line.lower()
    if long_log:
        finder, owners = index.finder
        for m in finder.finditer(low):
            wanted |= owners[m.group(1)]
        return wanted
    for literal, rules in index.literals:
        if literal in low:
            wanted |= rules
    return wanted


def best_hit(index: Index, line: str, long_log: bool = False) -> Hit | None:
    best: tuple[tuple[int, int, int], Hit] | None = None
    for i in candidates(index, line, long_log):
        rule = index.rules[i]
        hit = match_rule(rule, line)
        if hit is None:
            continue
        key = (rule.text_priority, hit.strength, -i)
        if best is None or key > best[0]:
            best = (key, hit)
    return best[1] if best else None


def candidate_lines(index: Index, text: str, n_lines: int) -> Iterable[int]:
    """Indices of the lines that may match some rule, in order.

    Short pastes are simply read line by line; a long log is scanned once for every
    literal (a trie regex) and only the lines with a hit are looked at.
    """
    if index.always or n_lines <= SCAN_THRESHOLD:
        yield from range(n_lines)
        return
    low = text.lower()
    if len(low) != len(text):  # lower() changed lengths (rare letters): line by line
        yield from range(n_lines)
        return
    line_no = 0
    pos = 0
    search = index.scan.search
    while True:
        m = search(low, pos)
        if m is None:
            return
        line_no += low.count("\n", pos, m.start())
        yield line_no
        next_newline = low.find("\n", m.start())
        if next_newline < 0:
            return
        line_no += 1
        pos = next_newline + 1
