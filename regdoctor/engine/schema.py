"""The rule model: what a validated rule is (frozen dataclasses) and the closed sets its
fields are drawn from. :mod:`regdoctor.engine.parse` validates rule files into it.
Nothing in a rule is ever executed: conditions are data compared with a small closed
operator set.

The records have no ``__slots__``: every ``check`` unpickles some 1,500 of them from the
rule cache (``engine/cache.py``), and a slotted dataclass is restored by a Python
``__setstate__`` per record (about 1.4 ms in all), a plain one by the unpickler itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regdoctor.model import Severity

SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
CONFIDENCE_LEVELS: tuple[str, ...] = ("high", "medium", "low")
#: The tools a remediation step may give a command for.
TOOLS: tuple[str, ...] = ("docker", "podman", "containerd", "kubernetes")
#: The closed operator set. A bare scalar (or list) in a condition means ``eq``.
OPERATORS: tuple[str, ...] = (
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "ge",
    "lt",
    "le",
    "exists",
    "contains",
    "regex",
)
NUMERIC_OPERATORS: frozenset[str] = frozenset({"gt", "ge", "lt", "le"})
#: Observation fields (besides ``kind`` and ``facts``) a condition may test.
OBSERVATION_FIELDS: tuple[str, ...] = ("step", "ok", "phase")
#: Flags allowed on ``match.text`` patterns.
TEXT_FLAGS: Mapping[str, re.RegexFlag] = {
    "i": re.IGNORECASE,
    "m": re.MULTILINE,
    "s": re.DOTALL,
}

RULE_KEYS: frozenset[str] = frozenset(
    {
        "id",
        "category",
        "severity",
        "priority",
        "confidence",
        "title",
        "match",
        "explanation",
        "text_title",
        "text_explanation",
        "remediation",
        "references",
    }
)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class FactRef:
    """An operand that names another fact of the same observation, scaled:
    ``{lt: {fact: limit, times: 0.1}}`` means "less than a tenth of ``limit``"."""

    fact: str
    times: float = 1.0

    def describe(self) -> str:
        if self.times == 1:
            return self.fact
        return f"{_fmt(self.times)} * {self.fact}"


@dataclass(frozen=True)
class Comparison:
    """One operator applied to one value."""

    op: str
    value: Any
    pattern: re.Pattern[str] | None = None  # compiled, for ``regex``

    def describe(self, name: str) -> str:
        value = self.value
        if self.op == "exists":
            return f"{name} is set" if value else f"{name} is not set"
        if self.op == "regex":
            return f"{name} matches /{value}/"
        word = {
            "eq": "=",
            "ne": "!=",
            "in": "in",
            "not_in": "not in",
            "gt": ">",
            "ge": ">=",
            "lt": "<",
            "le": "<=",
            "contains": "contains",
        }[self.op]
        return f"{name} {word} {_fmt(value)}"


@dataclass(frozen=True)
class Check:
    """All tests on one field (``step``, ``ok``, ``phase``) or one fact."""

    name: str
    tests: tuple[Comparison, ...]

    def describe(self) -> str:
        return " and ".join(t.describe(self.name) for t in self.tests)


@dataclass(frozen=True)
class Condition:
    """Met by one observation of ``kind`` whose fields and facts pass every check."""

    kind: str
    fields: tuple[Check, ...] = ()
    facts: tuple[Check, ...] = ()

    def describe(self, article: str = "a") -> str:
        checks = [c.describe() for c in (*self.fields, *self.facts)]
        if not checks:
            return f"{article} {self.kind} observation"
        return f"{article} {self.kind} observation with " + ", ".join(checks)


@dataclass(frozen=True)
class ObservationMatch:
    """``all``: every condition is met by some observation; ``any``: at least one is;
    ``none``: no observation meets any of them."""

    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()
    none: tuple[Condition, ...] = ()

    def describe(self) -> str:
        """``a tls.verify observation with reason in [expired], enforced = true; and no
        ...``: the readable "expected" sentence (kube-bench style)."""
        parts: list[str] = []
        if self.all:
            parts.append(_describe_group("all of", self.all))
        if self.any:
            parts.append(_describe_group("any of", self.any))
        if self.none:
            if len(self.none) == 1:
                parts.append("and " + self.none[0].describe("no"))
            else:
                parts.append(_describe_group("and none of", self.none))
        return "; ".join(parts)


def _describe_group(word: str, conditions: Sequence[Condition]) -> str:
    if len(conditions) == 1:
        return conditions[0].describe()
    return f"{word}: " + "; ".join(f"({c.describe()})" for c in conditions)


class TextPattern:
    """One regex of ``match.text``, compiled on first use.

    Validation compiles it (a rule whose regex does not compile never loads); a catalog
    restored from the rule cache compiles only the patterns a paste needs, which keeps
    ``regdoctor explain`` start-up short.
    """

    __slots__ = ("_pattern", "flags", "regex")

    def __init__(
        self, regex: str, flags: tuple[str, ...] = (), pattern: re.Pattern[str] | None = None
    ) -> None:
        self.regex = regex
        self.flags = tuple(flags)
        self._pattern = pattern

    @property
    def flag_value(self) -> int:
        value = 0
        for flag in self.flags:
            value |= TEXT_FLAGS[flag]
        return value

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._pattern is None:
            self._pattern = re.compile(self.regex, self.flag_value)
        return self._pattern

    def __reduce__(self) -> tuple[Any, ...]:
        return (TextPattern, (self.regex, self.flags))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TextPattern):
            return NotImplemented
        return (self.regex, self.flags) == (other.regex, other.flags)

    def __hash__(self) -> int:
        return hash((self.regex, self.flags))

    def __repr__(self) -> str:
        return f"TextPattern({self.regex!r}, {self.flags!r})"

    def describe(self) -> str:
        flags = "".join(self.flags)
        return f"/{self.regex}/{flags}"


@dataclass(frozen=True)
class TextMatchSpec:
    """Regexes over one line of a pasted error (evaluated by ``regdoctor.engine.explain``).

    ``all``: every pattern finds a match in the line; ``any``: at least one does;
    ``none``: no pattern does. ``extract``: named groups whose values become template
    fields. ``priority``: how this rule ranks against other rules matching the same line
    (higher wins: the cause over the symptom); ``None`` means the rule's ``priority``.
    """

    all: tuple[TextPattern, ...] = ()
    any: tuple[TextPattern, ...] = ()
    none: tuple[TextPattern, ...] = ()
    extract: tuple[str, ...] = ()
    priority: int | None = None
    #: Lower-cased strings one of which every matching line contains (the pre-filter of
    #: ``explain``, see ``regdoctor.engine.literals``); ``None``: try every line.
    literals: frozenset[str] | None = None

    def describe(self) -> str:
        parts: list[str] = []
        for word, group in (("all of", self.all), ("any of", self.any), ("none of", self.none)):
            if group:
                parts.append(f"text {word} " + ", ".join(p.describe() for p in group))
        return "; ".join(parts)


@dataclass(frozen=True)
class Confidence:
    """How sure a rule is: when judged on live observations, and on pasted text."""

    live: str
    text: str


@dataclass(frozen=True)
class RemediationTemplate:
    """A remediation step before its placeholders are filled: ``checks`` look (grep,
    curl, getent: safe to run any time), ``commands`` change something (the fix)."""

    text: str
    commands: Mapping[str, str] = field(default_factory=dict)
    checks: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """One rule of the catalog, as its YAML file defines it (validated)."""

    id: str
    category: str
    severity: Severity
    confidence: Confidence
    title: str
    explanation: str
    remediation: tuple[RemediationTemplate, ...]
    observations: ObservationMatch | None = None
    text: TextMatchSpec | None = None
    priority: int = 0
    references: tuple[str, ...] = ()
    path: Path | None = None
    #: What ``explain`` shows instead of ``title``/``explanation`` (a paste knows fewer
    #: values than a live check); ``None``: the same as for live findings.
    text_title: str | None = None
    text_explanation: str | None = None

    @property
    def text_priority(self) -> int:
        """The rank of this rule against others matching the same pasted line."""
        if self.text is not None and self.text.priority is not None:
            return self.text.priority
        return self.priority

    @property
    def area(self) -> str:
        """The folder the rule lives in (``dns``, ``tls``...), or ``""``."""
        return self.path.parent.name if self.path is not None else ""

    def describe_match(self) -> str:
        """The readable "matches when" sentence, for docs and ``rules test``."""
        parts: list[str] = []
        if self.observations is not None:
            parts.append(self.observations.describe())
        if self.text is not None:
            parts.append(self.text.describe())
        return " | ".join(parts)

    def templates(self) -> list[tuple[str, str]]:
        """Every template string of the rule with the field it sits in."""
        out = [("title", self.title), ("explanation", self.explanation)]
        if self.text_title is not None:
            out.append(("text_title", self.text_title))
        if self.text_explanation is not None:
            out.append(("text_explanation", self.text_explanation))
        for i, step in enumerate(self.remediation):
            out.append((f"remediation[{i}].text", step.text))
            for tool, command in step.commands.items():
                out.append((f"remediation[{i}].commands.{tool}", command))
            for tool, command in step.checks.items():
                out.append((f"remediation[{i}].checks.{tool}", command))
        return out


@dataclass(frozen=True)
class RuleLoadError:
    """A rule file that could not be loaded, with every problem found in it."""

    path: Path
    problems: tuple[str, ...]

    @property
    def message(self) -> str:
        return "; ".join(self.problems)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RuleValidationError(ValueError):
    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


def _fmt(value: object) -> str:
    """A compact, YAML-like rendering of an operand for "expected" sentences."""
    if isinstance(value, FactRef):
        return value.describe()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, str) and (value == "" or any(c in value for c in ",[]")):
        return repr(value)
    return str(value)
