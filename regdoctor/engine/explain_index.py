"""The text rules of a catalog, their literals, and matching one line against them.

Used by :mod:`regdoctor.engine.explain` and :mod:`regdoctor.engine.explain_stream`. Every
regex of a rule has *required literals* (:mod:`regdoctor.engine.literals`): lower-cased
words one of which every match contains. A line is first searched for every literal of
every rule at once; then

* a rule is a candidate only when each of its ``all`` regexes, and one of its ``any``
  regexes, has a literal in the line;
* of a candidate, only the regexes whose literals are in the line are run (an ``any``
  list of ten regexes usually runs one), and a ``none`` regex without its literal is
  known not to match.

Which regexes match is therefore exactly what running them all would give, at a fraction
of the cost. A short paste tests each literal with ``in`` (a process that has read more
than :data:`IN_LINES` lines uses the automaton instead); a long log is searched block
by block with one Aho-Corasick automaton (:mod:`ahocorasick`) over its bytes, so that a
line without any literal never reaches Python code, let alone a regex.

The :class:`Index` is plain data (:meth:`Index.to_data`, :meth:`Index.from_data`):
``regdoctor explain`` loads it from the compiled rule cache
(:func:`regdoctor.engine.cache.load_index_cached`) without importing the rule model,
PyYAML or the validator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from regdoctor.model import Severity

if TYPE_CHECKING:
    from regdoctor.engine.loader import Catalog
    from regdoctor.engine.schema import TextPattern

__all__ = [
    "DATA_FORMAT",
    "Confidence",
    "Hit",
    "Index",
    "Regex",
    "Step",
    "TextRule",
    "best_hit",
    "build_index",
    "candidate_lines",
    "candidates",
    "fold",
    "index_of",
    "match_rule",
]

#: Up to this many lines, every line is looked at; longer logs are scanned for literals.
SCAN_THRESHOLD = 400
#: The version of :meth:`Index.to_data`'s layout (part of the rule cache's key).
DATA_FORMAT = 4

# The only characters outside ASCII that a case-insensitive regex matches with an ASCII
# letter (Python's ``re``: capital I with dot and dotless i match "i", long s matches "s",
# the Kelvin sign "k"); no other character lower-cases to ASCII.
_FOLD = {0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"}
_FOLD_BYTES = tuple((chr(code).encode(), letter.encode()) for code, letter in _FOLD.items())
# What normalisation (explain_stream.normalise_line) removes: a line holding one of these
# is searched again once normalised.
_ESC = "\x1b"
_ESCAPED_QUOTE = '\\"'
#: Typographic quotes and no-break spaces (turned into ASCII), as a block's UTF-8 bytes
#: read one character per byte (:func:`_fold_block`) show them.
_TYPOGRAPHIC = tuple(ch.encode().decode("latin-1") for ch in "\u201c\u201d\u2018\u2019\u00a0")


def fold(text: str) -> str:
    """``text`` lower-cased as the literal pre-filter compares it: ASCII letters, and the
    four other characters a case-insensitive regex takes for one."""
    if not text.isascii():
        text = text.translate(_FOLD)
    return text.lower()


def _fold_block(text: str) -> str:
    """:func:`fold` for a large block, cheaply: ASCII-only lower-casing of its UTF-8
    bytes, read back one character per byte (``latin-1``). Every literal is ASCII, so
    it is found at the same places; only the line breaks' positions are used."""
    if text.isascii():
        return text.lower()
    data = text.encode("utf-8", "surrogatepass")
    for src, dst in _FOLD_BYTES:
        if src in data:
            data = data.replace(src, dst)
    return data.lower().decode("latin-1")


# --------------------------------------------------------------------------- the rules


class Regex:
    """One regex of a text rule, compiled on first use, with the ids of its literals
    (``needs``: one of them is in every line it matches; ``None``: it cannot tell)."""

    __slots__ = ("_compiled", "flags", "needs", "regex")

    def __init__(self, regex: str, flags: int, needs: frozenset[int] | None) -> None:
        self.regex = regex
        self.flags = flags
        self.needs = needs
        self._compiled: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.regex, self.flags)
        return self._compiled

    def possible(self, found: frozenset[int] | set[int] | None) -> bool:
        """May it match a line holding the literals ``found`` (``None``: unknown)?"""
        return found is None or self.needs is None or not self.needs.isdisjoint(found)

    def search(self, line: str) -> re.Match[str] | None:
        return self.pattern.search(line)


class Step(NamedTuple):
    """A remediation step before its placeholders are filled."""

    text: str
    commands: Mapping[str, str]
    checks: Mapping[str, str]


class Confidence(NamedTuple):
    """How far ``explain`` trusts the rule's reading of a paste."""

    text: str


class TextRule:
    """What ``explain`` needs of a rule with ``match.text``, as plain values: its regexes,
    and the words of its answer under the names :class:`~regdoctor.engine.schema.Rule`
    gives them (``title``, ``text_title``, ``remediation[i].text``...)."""

    __slots__ = (
        "_all_needs",
        "_any_needs",
        "_any_open",
        "all",
        "any",
        "category",
        "confidence",
        "explanation",
        "extract",
        "id",
        "none",
        "references",
        "remediation",
        "severity",
        "text_explanation",
        "text_priority",
        "text_title",
        "title",
    )

    def __init__(
        self,
        id: str,
        category: str,
        severity: Severity,
        confidence: Confidence,
        text_priority: int,
        title: str,
        text_title: str | None,
        explanation: str,
        text_explanation: str | None,
        remediation: tuple[Step, ...],
        references: tuple[str, ...],
        all: tuple[Regex, ...],
        any: tuple[Regex, ...],
        none: tuple[Regex, ...],
        extract: frozenset[str],
    ) -> None:
        self.id = id
        self.category = category
        self.severity = severity
        self.confidence = confidence
        self.text_priority = text_priority
        self.title = title
        self.text_title = text_title
        self.explanation = explanation
        self.text_explanation = text_explanation
        self.remediation = remediation
        self.references = references
        self.all = all
        self.any = any
        self.none = none
        self.extract = extract
        # For possible(): the literal sets of the `all` regexes; the union of those of the
        # `any` regexes, and whether one of them has none (then any line may do).
        self._all_needs = tuple(pat.needs for pat in all if pat.needs is not None)
        self._any_open = None in [pat.needs for pat in self.any]  # (`any` is a parameter)
        self._any_needs: frozenset[int] = frozenset().union(
            *(pat.needs for pat in self.any if pat.needs is not None)
        )

    def keys(self) -> frozenset[int] | None:
        """Literal ids one of which a line needs for this rule to match (``None``: any
        line may match)."""
        for pat in self.all:
            if pat.needs is not None:
                return pat.needs
        if not self.any or any(pat.needs is None for pat in self.any):
            return None
        return frozenset().union(*(pat.needs for pat in self.any if pat.needs is not None))

    def possible(self, found: frozenset[int] | set[int]) -> bool:
        """Can it match a line holding exactly the literals ``found``?"""
        for needs in self._all_needs:
            if needs.isdisjoint(found):
                return False
        return not self.any or self._any_open or not self._any_needs.isdisjoint(found)


# --------------------------------------------------------------------------- the index


#: Lines searched one literal at a time before the automaton is built: together they
#: cost about what building it does (2 ms for 529 literals), so a short paste never
#: builds it.
IN_LINES = 64


class Index:
    """The text rules of a catalog and their literals, for the pre-filter.

    Restored from the rule cache (:meth:`from_data`), a rule becomes a :class:`TextRule`
    only when a line makes it a candidate: a one-line paste builds a handful, whatever
    the size of the catalog."""

    __slots__ = ("_automaton", "_raw", "_rules", "_searched", "always", "owners", "rank", "words")

    def __init__(
        self,
        rules: Sequence[TextRule | None],
        words: Sequence[str],
        always: Iterable[int],
        owners: Sequence[Sequence[int]] | None = None,
        rank: Sequence[int] | None = None,
        raw: Sequence[Any] | None = None,
    ) -> None:
        self._rules: list[TextRule | None] = list(rules)
        self._raw = raw  # the rules as plain data, when restored from the cache
        #: Literal id -> the literal (lower-cased, ASCII).
        self.words: tuple[str, ...] = tuple(words)
        #: Rules no literal rules out: tried on every line.
        self.always: frozenset[int] = frozenset(always)
        if owners is None:
            found: list[list[int]] = [[] for _ in self.words]
            for i, rule in enumerate(self.rules):
                keys = rule.keys()
                if keys is not None:
                    for key in keys:
                        found[key].append(i)
            owners = found
        #: Literal id -> the rules it may make candidates.
        self.owners: tuple[tuple[int, ...], ...] = tuple(tuple(o) for o in owners)
        if rank is None:
            rules = self.rules
            order = sorted(range(len(rules)), key=lambda i: (-rules[i].text_priority, i))
            places = [0] * len(order)
            for place, i in enumerate(order):
                places[i] = place
            rank = places
        #: Rule -> its place when tried: highest text priority first, then catalog order.
        self.rank: tuple[int, ...] = tuple(rank)
        self._automaton: Any = None
        self._searched = 0  # lines searched one literal at a time

    def rule(self, i: int) -> TextRule:
        """The ``i``-th text rule (built from the cached data on first use)."""
        rule = self._rules[i]
        if rule is None:
            assert self._raw is not None
            rule = self._rules[i] = _text_rule(self._raw[i])
        return rule

    @property
    def rules(self) -> tuple[TextRule, ...]:
        """Every text rule, in catalog order."""
        return tuple(self.rule(i) for i in range(len(self._rules)))

    # ------------------------------------------------------------------ building
    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Index:
        """The index of a loaded catalog's text rules (their required literals are
        computed here, once per regex)."""
        from regdoctor.engine.literals import required_literals

        ids: dict[str, int] = {}
        words: list[str] = []

        def needs_of(pat: TextPattern) -> frozenset[int] | None:
            found = required_literals(pat.regex, pat.flag_value)
            if not found or any(not w.isascii() or "\n" in w or "\r" in w for w in found):
                return None  # the block search compares ASCII bytes within one line
            out = set()
            for word in found:
                if word not in ids:
                    ids[word] = len(words)
                    words.append(word)
                out.add(ids[word])
            return frozenset(out)

        def regexes(group: tuple[TextPattern, ...]) -> tuple[Regex, ...]:
            return tuple(Regex(p.regex, p.flag_value, needs_of(p)) for p in group)

        rules = []
        for rule in catalog.rules:
            spec = rule.text
            if spec is None:
                continue
            rules.append(
                TextRule(
                    id=rule.id,
                    category=rule.category,
                    severity=rule.severity,
                    confidence=Confidence(rule.confidence.text),
                    text_priority=rule.text_priority,
                    title=rule.title,
                    text_title=rule.text_title,
                    explanation=rule.explanation,
                    text_explanation=rule.text_explanation,
                    remediation=tuple(
                        Step(step.text, dict(step.commands), dict(step.checks))
                        for step in rule.remediation
                    ),
                    references=tuple(rule.references),
                    all=regexes(spec.all),
                    any=regexes(spec.any),
                    none=regexes(spec.none),
                    extract=frozenset(spec.extract),
                )
            )
        return cls._with_always(rules, words)

    @classmethod
    def _with_always(cls, rules: Sequence[TextRule], words: Sequence[str]) -> Index:
        always = [i for i, rule in enumerate(rules) if rule.keys() is None]
        return cls(rules, words, always)

    def to_data(self) -> tuple[Any, ...]:
        """The index as nested tuples of strings and numbers (for ``marshal``)."""

        def pats(group: tuple[Regex, ...]) -> tuple[Any, ...]:
            return tuple(
                (p.regex, p.flags, None if p.needs is None else tuple(sorted(p.needs)))
                for p in group
            )

        rules = tuple(
            (
                r.id,
                r.category,
                r.severity.value,
                r.confidence.text,
                r.text_priority,
                r.title,
                r.text_title,
                r.explanation,
                r.text_explanation,
                tuple(
                    (step.text, tuple(step.commands.items()), tuple(step.checks.items()))
                    for step in r.remediation
                ),
                r.references,
                pats(r.all),
                pats(r.any),
                pats(r.none),
                tuple(sorted(r.extract)),
            )
            for r in self.rules
        )
        return (DATA_FORMAT, self.words, rules, self.owners, tuple(sorted(self.always)), self.rank)

    @classmethod
    def from_data(cls, data: Any) -> Index:
        """The inverse of :meth:`to_data` (its rules are built on first use). Raises
        ``ValueError`` on another layout."""
        if not isinstance(data, tuple) or len(data) != 6 or data[0] != DATA_FORMAT:
            raise ValueError("not an index of this version")
        _format, words, raw_rules, owners, always, rank = data
        if len(rank) != len(raw_rules) or len(owners) != len(words):
            raise ValueError("an inconsistent index")
        return cls([None] * len(raw_rules), words, always, owners, rank, raw_rules)

    # ------------------------------------------------------------------ searching
    @property
    def automaton(self) -> Any:
        """Every literal, and the marks of text that normalisation changes, in one
        Aho-Corasick automaton (built on first use: only long logs need it). Values are
        literal ids; the marks are ``-1``."""
        if self._automaton is None:
            import ahocorasick

            automaton = ahocorasick.Automaton()
            for key, word in enumerate(self.words):
                automaton.add_word(word, key)
            for mark in (_ESC, _ESCAPED_QUOTE, *_TYPOGRAPHIC):
                if mark not in automaton:
                    automaton.add_word(mark, -1)
            automaton.make_automaton()
            self._automaton = automaton
        return self._automaton

    def found(self, line: str, long_log: bool | None = False) -> set[int]:
        """The ids of the literals in ``line``. ``long_log``: search with the automaton
        (``True``), with one ``in`` per literal (``False``), or (``None``, a short paste)
        with ``in`` for the first :data:`IN_LINES` lines of a process and then with the
        automaton, the same answer some 20 times faster once built (a process that
        reads many pastes: ``serve``, the test suite)."""
        low = fold(line)
        if not self.words:
            return set()
        if long_log is None:
            long_log = self._automaton is not None or self._searched >= IN_LINES
            self._searched += 1
        if long_log:
            return {key for _end, key in self.automaton.iter(low) if key >= 0}
        return {key for key, word in enumerate(self.words) if word in low}

    def select(self, found: set[int] | frozenset[int]) -> set[int]:
        """The rules that can match a line holding the literals ``found``."""
        wanted = set(self.always)
        owners = self.owners
        rule = self.rule
        for key in found:
            for i in owners[key]:
                if i not in wanted and rule(i).possible(found):
                    wanted.add(i)
        return wanted

    def scan_block(self, block: str) -> Iterator[tuple[int, set[int] | None]]:
        """``(line index, literal ids)`` of each line of ``block`` holding a literal (or
        a mark of text normalisation changes: then ``None``, to be searched again once
        normalised), in order. With rules that no literal rules out, every line."""
        if self.always:
            for i in range(block.count("\n") + 1):
                yield i, None
            return
        if not self.words:
            return
        low = _fold_block(block)
        line_no = 0
        line_end = -1  # where the current line ends (its "\n" or the end of the block)
        pos = 0  # up to where line breaks have been counted
        current: set[int] | None = set()
        for end, key in self.automaton.iter(low):
            if end > line_end:
                if line_end >= 0:
                    yield line_no, current
                line_no += low.count("\n", pos, end)
                pos = end
                line_end = low.find("\n", end)
                if line_end < 0:
                    line_end = len(low)
                current = set()
            if key < 0:
                current = None
            elif current is not None:
                current.add(key)
        if line_end >= 0:
            yield line_no, current


def _regexes(group: tuple[Any, ...]) -> tuple[Regex, ...]:
    return tuple(
        Regex(regex, flags, None if needs is None else frozenset(needs))
        for regex, flags, needs in group
    )


def _text_rule(r: tuple[Any, ...]) -> TextRule:
    """A rule of :meth:`Index.to_data` as a :class:`TextRule`."""
    return TextRule(
        id=r[0],
        category=r[1],
        severity=Severity(r[2]),
        confidence=Confidence(r[3]),
        text_priority=r[4],
        title=r[5],
        text_title=r[6],
        explanation=r[7],
        text_explanation=r[8],
        remediation=tuple(
            Step(text, dict(commands), dict(checks)) for text, commands, checks in r[9]
        ),
        references=r[10],
        all=_regexes(r[11]),
        any=_regexes(r[12]),
        none=_regexes(r[13]),
        extract=frozenset(r[14]),
    )


def build_index(catalog: Catalog | Index) -> Index:
    return catalog if isinstance(catalog, Index) else Index.from_catalog(catalog)


_INDEXES: dict[int, tuple[Catalog, Index]] = {}


def index_of(catalog: Catalog | Index) -> Index:
    """The index of ``catalog`` (built once per catalog object), or ``catalog`` itself
    when it is an index already (``regdoctor explain`` loads one from the rule cache)."""
    if isinstance(catalog, Index):
        return catalog
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
        rule: TextRule,
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


def match_rule(rule: TextRule, line: str, found: set[int] | None = None) -> Hit | None:
    """Does ``rule`` hold on ``line``? Its span and named groups if so.

    ``found``: the literal ids in ``line`` when known; a regex none of whose literals is
    there is not run (it cannot match)."""
    matches: list[re.Match[str]] = []
    for pat in rule.all:
        if found is not None and pat.needs is not None and pat.needs.isdisjoint(found):
            return None
        m = pat.pattern.search(line)
        if m is None:
            return None
        matches.append(m)
    if rule.any:
        for pat in rule.any:
            if found is not None and pat.needs is not None and pat.needs.isdisjoint(found):
                continue
            m = pat.pattern.search(line)
            if m is not None:
                matches.append(m)
                break
        else:
            return None
    for pat in rule.none:
        if found is not None and pat.needs is not None and pat.needs.isdisjoint(found):
            continue
        if pat.pattern.search(line) is not None:
            return None
    if not matches:
        return None
    if len(matches) == 1:
        only = matches[0]
        start, end = only.span()
        error_at = start
    else:
        start = min(m.start() for m in matches)
        end = max(m.end() for m in matches)
        # Where the error itself starts: the last regex to start (with `all`, the
        # context comes first, e.g. "failed to fetch anonymous token: Get URL: x509: ...").
        error_at = max(m.start() for m in matches)
    groups: dict[str, str] = {}
    if rule.extract:
        for m in matches:
            for name, value in m.groupdict().items():
                if value and name in rule.extract:
                    groups.setdefault(name, value)
    return Hit(rule, (start, end), groups, len(matches), error_at)


def candidates(
    index: Index, line: str, long_log: bool | None = False, found: set[int] | None = None
) -> set[int]:
    """The rules whose literals occur in ``line`` as each of their regexes needs.

    ``long_log``: search with the automaton (built once) rather than one ``in`` per
    literal, or let :meth:`Index.found` choose (``None``); the answer is the same."""
    if found is None:
        found = index.found(line, long_log)
    return index.select(found)


def best_hit(
    index: Index, line: str, long_log: bool | None = False, found: set[int] | None = None
) -> Hit | None:
    """The rule that wins ``line``: the highest text priority, then the most regexes
    matched, then catalog order."""
    if found is None:
        found = index.found(line, long_log)
    chosen = index.select(found)
    if not chosen:
        return None
    best: tuple[tuple[int, int, int], Hit] | None = None
    # Highest priority first: once a rule matched, rules of lower priority cannot win.
    for i in sorted(chosen, key=index.rank.__getitem__):
        rule = index.rule(i)
        if best is not None and rule.text_priority < best[0][0]:
            break
        hit = match_rule(rule, line, found)
        if hit is None:
            continue
        key = (rule.text_priority, hit.strength, -i)
        if best is None or key > best[0]:
            best = (key, hit)
    return best[1] if best else None


def candidate_lines(index: Index, text: str, n_lines: int) -> Iterable[int]:
    """Indices of the lines that may match some rule, in order.

    Short pastes are simply read line by line; a long log is searched once for every
    literal and only the lines with one are looked at."""
    if n_lines <= SCAN_THRESHOLD:
        yield from range(n_lines)
        return
    for line_no, _found in index.scan_block(text):
        yield line_no
