"""Matching observations against rule conditions: the closed operator set.

Semantics, kept small on purpose:

* A missing fact is the same as a fact whose value is ``null``.
* ``eq``/``ne``/``in``/``not_in``/``contains`` compare JSON values; ``true`` never equals
  ``1``; numbers compare by value (``443 == 443.0``).
* ``gt``/``ge``/``lt``/``le`` hold only when both sides are numbers (never for ``null``,
  strings or booleans). The right side may name another fact of the same observation,
  scaled: ``{lt: {fact: limit, times: 0.1}}``.
* ``exists: true`` holds when the fact is present and not ``null``.
* ``contains``: a list fact contains the value, or a string fact contains the substring.
* ``regex``: a string fact matches (``re.search``); other types never match.

Nothing here raises on odd fact values: a comparison that cannot be made is false.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from regdoctor.engine.schema import Check, Comparison, Condition, FactRef, ObservationMatch
from regdoctor.model import Observation


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def values_equal(a: Any, b: Any, _depth: int = 0) -> bool:
    """JSON equality: booleans only equal booleans, numbers compare by value."""
    if _depth > 20:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(
            values_equal(x, y, _depth + 1) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        try:
            if set(a) != set(b):
                return False
            return all(values_equal(a[k], b[k], _depth + 1) for k in a)
        except Exception:
            return False
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _operand(value: Any, facts: Mapping[str, Any]) -> Any:
    if isinstance(value, FactRef):
        other = facts.get(value.fact)
        if isinstance(other, bool) or not isinstance(other, int | float):
            return None
        return other * value.times
    return value


def comparison_holds(test: Comparison, actual: Any, facts: Mapping[str, Any]) -> bool:
    """Does ``actual`` (a fact or field value, ``None`` when missing) pass ``test``?"""
    op = test.op
    value = test.value
    try:
        if op == "eq":
            return values_equal(actual, value)
        if op == "ne":
            return not values_equal(actual, value)
        if op == "in":
            return any(values_equal(actual, v) for v in value)
        if op == "not_in":
            return not any(values_equal(actual, v) for v in value)
        if op in ("gt", "ge", "lt", "le"):
            right = _operand(value, facts)
            if not (_is_number(actual) and _is_number(right)):
                return False
            if op == "gt":
                return bool(actual > right)
            if op == "ge":
                return bool(actual >= right)
            if op == "lt":
                return bool(actual < right)
            return bool(actual <= right)
        if op == "exists":
            return (actual is not None) is bool(value)
        if op == "contains":
            if isinstance(actual, list | tuple):
                return any(values_equal(item, value) for item in actual)
            if isinstance(actual, str) and isinstance(value, str):
                return value in actual
            return False
        if op == "regex":
            if not isinstance(actual, str) or test.pattern is None:
                return False
            return test.pattern.search(actual) is not None
    except Exception:
        return False
    return False


def _facts_of(observation: Observation) -> Mapping[str, Any]:
    facts = getattr(observation, "facts", None)
    return facts if isinstance(facts, Mapping) else {}


def _check_holds(check: Check, actual: Any, facts: Mapping[str, Any]) -> bool:
    return all(comparison_holds(t, actual, facts) for t in check.tests)


def condition_matches(condition: Condition, observation: Observation) -> bool:
    """Is ``condition`` met by this one observation?"""
    if getattr(observation, "kind", None) != condition.kind:
        return False
    facts = _facts_of(observation)
    for check in condition.fields:
        if not _check_holds(check, getattr(observation, check.name, None), facts):
            return False
    for check in condition.facts:
        try:
            actual = facts.get(check.name)
        except Exception:
            actual = None
        if not _check_holds(check, actual, facts):
            return False
    return True


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Which observations met which condition.

    ``groups`` holds, for each ``all`` condition and then for each ``any`` condition
    that was met, the indices of the observations meeting it (in observation order).
    """

    groups: tuple[tuple[int, ...], ...]

    @property
    def first(self) -> int:
        """The first triggering observation: the first one meeting the first condition."""
        return self.groups[0][0]

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(sorted({i for group in self.groups for i in group}))

    def ordered(self) -> list[int]:
        """Triggering observations in condition order, each once."""
        seen: dict[int, None] = {}
        for group in self.groups:
            for i in group:
                seen.setdefault(i, None)
        return list(seen)


def _hits(condition: Condition, observations: Sequence[Observation]) -> tuple[int, ...]:
    return tuple(i for i, o in enumerate(observations) if condition_matches(condition, o))


def match_observations(
    match: ObservationMatch, observations: Sequence[Observation]
) -> MatchResult | None:
    """The triggering observations if ``match`` holds over ``observations``, else None."""
    groups: list[tuple[int, ...]] = []
    for condition in match.all:
        hits = _hits(condition, observations)
        if not hits:
            return None
        groups.append(hits)
    if match.any:
        any_groups = [h for h in (_hits(c, observations) for c in match.any) if h]
        if not any_groups:
            return None
        groups.extend(any_groups)
    for condition in match.none:
        if _hits(condition, observations):
            return None
    if not groups:
        return None
    return MatchResult(tuple(groups))
