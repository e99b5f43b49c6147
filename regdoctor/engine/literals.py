"""Required literals of a regex: the cheap pre-filter of ``explain``.

:func:`required_literals` parses a pattern (with the standard library's own regex
parser) and returns a set of lower-cased strings such that *every* match of the pattern
contains at least one of them, or ``None`` when it cannot tell. ``explain`` searches a
whole log once for the literals of every regex of every rule and runs a regex only on the
lines where one of its literals occurs (:mod:`regdoctor.engine.explain_index`): a
100,000-line log is read in well under a second.

Only the parts of a pattern that every match must go through count: literal runs of the
top-level sequence, groups, repeats with a minimum of one, and alternations whose every
branch has a literal. A pattern such as ``\\d{3} error`` yields ``{"error"}``;
``(?:x509|certificate)`` yields ``{"x509", "certificate"}``; ``\\w+`` yields ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

try:  # Python 3.11+: the parser moved to re._parser (sre_parse is a deprecated alias)
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

__all__ = ["MIN_LITERAL", "required_literals", "rule_literals"]

#: Shorter literals are useless as a filter (they occur on nearly every line).
MIN_LITERAL = 3
_MAX_ALTERNATIVES = 24
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT}
if hasattr(_c, "POSSESSIVE_REPEAT"):
    _REPEATS.add(_c.POSSESSIVE_REPEAT)


def required_literals(pattern: str, flags: int = 0) -> frozenset[str] | None:
    """Lower-cased strings one of which every match of ``pattern`` contains, or ``None``."""
    try:
        parsed = _p.parse(pattern, flags)
    except Exception:
        return None
    found = _sequence(list(parsed), 0)
    return frozenset(found) if found else None


def _score(candidate: set[str]) -> tuple[int, int]:
    """Prefer sets whose shortest member is longest, then smaller sets."""
    return (min(len(s) for s in candidate), -len(candidate))


def _best(candidates: list[set[str]]) -> set[str] | None:
    usable = [c for c in candidates if c and len(c) <= _MAX_ALTERNATIVES]
    return max(usable, key=_score) if usable else None


def _sequence(items: list[tuple[Any, Any]], depth: int) -> set[str] | None:
    if depth > 20:
        return None
    candidates: list[set[str]] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= MIN_LITERAL:
            candidates.append({"".join(run).lower()})
        run.clear()

    for op, av in items:
        if op is _c.LITERAL:
            run.append(chr(av))
            continue
        flush()
        sub: set[str] | None = None
        if op is _c.SUBPATTERN:
            sub = _sequence(list(av[-1]), depth + 1)
        elif op is getattr(_c, "ATOMIC_GROUP", None):
            sub = _sequence(list(av), depth + 1)
        elif op in _REPEATS:
            low, _high, body = av
            if low >= 1:
                sub = _sequence(list(body), depth + 1)
        elif op is _c.BRANCH:
            union: set[str] = set()
            for branch in av[1]:
                found = _sequence(list(branch), depth + 1)
                if not found:
                    union = set()
                    break
                union |= found
            sub = union or None
        if sub:
            candidates.append(sub)
    flush()
    return _best(candidates)


class _Pattern(Protocol):
    regex: str

    @property
    def flag_value(self) -> int: ...


def rule_literals(
    all_patterns: Sequence[_Pattern], any_patterns: Sequence[_Pattern]
) -> frozenset[str] | None:
    """The literals of a ``match.text``: the best set of one ``all`` pattern (each of them
    must match), else the union over the ``any`` patterns (one of them must match)."""
    best: frozenset[str] | None = None
    for pat in all_patterns:
        found = required_literals(pat.regex, pat.flag_value)
        if found and (best is None or min(map(len, found)) > min(map(len, best))):
            best = found
    if best is not None:
        return best
    if not any_patterns:
        return None
    union: set[str] = set()
    for pat in any_patterns:
        found = required_literals(pat.regex, pat.flag_value)
        if not found:
            return None
        union |= found
    return frozenset(union)
