"""Validation of rule files: :func:`parse_rule` turns plain YAML data into a frozen
:class:`~regdoctor.engine.schema.Rule` or raises
:class:`~regdoctor.engine.schema.RuleValidationError` listing every problem found, each
naming the field (``match.observations.all[0].facts.reason.in``). Validation works across
fields (prowler style): the id must equal the file stem, the category must be a known
code, every regex must compile, every template placeholder must be a plain name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from regdoctor.engine.categories import CATEGORIES
from regdoctor.engine.schema import (
    CONFIDENCE_LEVELS,
    NUMERIC_OPERATORS,
    OBSERVATION_FIELDS,
    OPERATORS,
    RULE_KEYS,
    SEVERITIES,
    TEXT_FLAGS,
    TOOLS,
    Check,
    Comparison,
    Condition,
    Confidence,
    FactRef,
    ObservationMatch,
    RemediationTemplate,
    Rule,
    RuleValidationError,
    TextMatchSpec,
    TextPattern,
)
from regdoctor.engine.template import template_problems
from regdoctor.model import Severity

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_KIND_RE = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)+$")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# --------------------------------------------------------------------------- validation


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}" if where else message)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_json_scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)


def _is_json_value(value: object) -> bool:
    if isinstance(value, list):
        return all(_is_json_value(v) for v in value)
    return _is_json_scalar(value)


def parse_rule(data: object, path: Path | None = None) -> Rule:
    """Validate rule data (as loaded from YAML) and build the :class:`Rule`.

    Raises :class:`RuleValidationError` with every problem found.
    """
    p = _Problems()
    if not isinstance(data, Mapping):
        raise RuleValidationError([f"the file must hold a mapping, not {type(data).__name__}"])

    for key in data:
        if key not in RULE_KEYS:
            p.add(str(key), f"unknown field (known: {', '.join(sorted(RULE_KEYS))})")

    rule_id = data.get("id")
    if not isinstance(rule_id, str) or not _ID_RE.match(rule_id):
        p.add("id", "required: lower-case words joined by dashes, e.g. tls-expired")
        rule_id = str(rule_id)
    elif path is not None and _stem(path) != rule_id:
        p.add("id", f"{rule_id!r} must equal the file name stem {_stem(path)!r}")

    category = data.get("category")
    if not isinstance(category, str) or category not in CATEGORIES:
        p.add("category", f"{category!r} is not a known category (see rules/CATEGORIES.md)")

    severity_raw = data.get("severity")
    severity = Severity.ERROR
    if severity_raw not in SEVERITIES:
        p.add("severity", f"{severity_raw!r} must be one of {', '.join(SEVERITIES)}")
    else:
        severity = Severity(severity_raw)

    priority = data.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        p.add("priority", f"{priority!r} must be an integer")
        priority = 0

    confidence = _parse_confidence(data.get("confidence"), p)

    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        p.add("title", "required: a non-empty string")
        title = ""
    explanation = data.get("explanation")
    if not isinstance(explanation, str) or not explanation.strip():
        p.add("explanation", "required: a non-empty string")
        explanation = ""

    text_title = _optional_text(data, "text_title", p)
    text_explanation = _optional_text(data, "text_explanation", p)

    remediation = _parse_remediation(data.get("remediation"), p)
    references = _parse_references(data.get("references", []), p)
    observations, text = _parse_match(data.get("match"), p)

    rule = Rule(
        id=rule_id,
        category=str(category),
        severity=severity,
        priority=priority,
        confidence=confidence,
        title=title.strip(),
        explanation=explanation.strip(),
        remediation=remediation,
        references=references,
        observations=observations,
        text=text,
        path=path,
        text_title=text_title.strip() if text_title is not None else None,
        text_explanation=text_explanation.strip() if text_explanation is not None else None,
    )
    if text is None:
        for key in ("text_title", "text_explanation"):
            if key in data:
                p.add(key, "only makes sense with match.text")
    for where, template in rule.templates():
        for problem in template_problems(template):
            p.add(where, problem)
    if p.items:
        raise RuleValidationError(p.items)
    return rule


def _optional_text(data: Mapping[Any, Any], key: str, p: _Problems) -> str | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        p.add(key, "must be a non-empty string")
        return None
    return value


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _parse_confidence(raw: object, p: _Problems) -> Confidence:
    levels = ", ".join(CONFIDENCE_LEVELS)
    if not isinstance(raw, Mapping):
        p.add("confidence", "required: {live: high|medium|low, text: high|medium|low}")
        return Confidence("low", "low")
    for key in raw:
        if key not in ("live", "text"):
            p.add(f"confidence.{key}", "unknown field (known: live, text)")
    values: dict[str, str] = {}
    for key in ("live", "text"):
        value = raw.get(key)
        if value not in CONFIDENCE_LEVELS:
            p.add(f"confidence.{key}", f"{value!r} must be one of {levels}")
            values[key] = "low"
        else:
            values[key] = str(value)
    return Confidence(values["live"], values["text"])


def _parse_remediation(raw: object, p: _Problems) -> tuple[RemediationTemplate, ...]:
    if not isinstance(raw, list) or not raw:
        p.add("remediation", "required: a list of at least one step {text, checks, commands}")
        return ()
    steps: list[RemediationTemplate] = []
    for i, item in enumerate(raw):
        where = f"remediation[{i}]"
        if not isinstance(item, Mapping):
            p.add(where, "must be a mapping {text, commands}")
            continue
        for key in item:
            if key not in ("text", "commands", "checks"):
                p.add(f"{where}.{key}", "unknown field (known: text, commands, checks)")
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            p.add(f"{where}.text", "required: a non-empty string")
            text = ""
        commands = _parse_commands(item.get("commands", {}), f"{where}.commands", p)
        checks = _parse_commands(item.get("checks", {}), f"{where}.checks", p)
        steps.append(RemediationTemplate(text=text.strip(), commands=commands, checks=checks))
    return tuple(steps)


def _parse_commands(raw: object, where: str, p: _Problems) -> dict[str, str]:
    """``commands`` (the fix) or ``checks`` (diagnostics): a command per tool."""
    commands: dict[str, str] = {}
    if not isinstance(raw, Mapping):
        p.add(where, f"must map a tool ({', '.join(TOOLS)}) to a command")
        return commands
    for tool, command in raw.items():
        if tool not in TOOLS:
            p.add(f"{where}.{tool}", f"unknown tool (known: {', '.join(TOOLS)})")
        elif not isinstance(command, str) or not command.strip():
            p.add(f"{where}.{tool}", "must be a non-empty string")
        else:
            from regdoctor.engine.snippets import SNIPPETS, expand

            command, unknown = expand(command)
            for name in unknown:
                known = ", ".join(sorted(SNIPPETS))
                p.add(f"{where}.{tool}", f"unknown snippet {name!r} (known: {known})")
            commands[tool] = command.strip()
    return commands


def _parse_references(raw: object, p: _Problems) -> tuple[str, ...]:
    if not isinstance(raw, list):
        p.add("references", "must be a list of URLs")
        return ()
    refs: list[str] = []
    for i, ref in enumerate(raw):
        if not isinstance(ref, str) or not re.match(r"^https?://\S+$", ref):
            p.add(f"references[{i}]", f"{ref!r} is not an http(s) URL")
        else:
            refs.append(ref)
    return tuple(refs)


def _parse_match(raw: object, p: _Problems) -> tuple[ObservationMatch | None, TextMatchSpec | None]:
    if not isinstance(raw, Mapping):
        p.add("match", "required: a mapping with `observations` and/or `text`")
        return None, None
    for key in raw:
        if key not in ("observations", "text"):
            p.add(f"match.{key}", "unknown field (known: observations, text)")
    if "observations" not in raw and "text" not in raw:
        p.add("match", "needs `observations` or `text`")
    observations = None
    text = None
    if "observations" in raw:
        observations = _parse_observation_match(raw["observations"], p)
    if "text" in raw:
        text = _parse_text_match(raw["text"], p)
    return observations, text


def _parse_observation_match(raw: object, p: _Problems) -> ObservationMatch | None:
    where = "match.observations"
    if not isinstance(raw, Mapping):
        p.add(where, "must be a mapping with `all`, `any` and/or `none`")
        return None
    for key in raw:
        if key not in ("all", "any", "none"):
            p.add(f"{where}.{key}", "unknown field (known: all, any, none)")
    groups: dict[str, tuple[Condition, ...]] = {}
    for group in ("all", "any", "none"):
        items = raw.get(group, [])
        if not isinstance(items, list):
            p.add(f"{where}.{group}", "must be a list of conditions")
            items = []
        conditions = []
        for i, item in enumerate(items):
            cond = _parse_condition(item, f"{where}.{group}[{i}]", p)
            if cond is not None:
                conditions.append(cond)
        groups[group] = tuple(conditions)
    if not raw.get("all") and not raw.get("any"):
        p.add(where, "needs at least one condition in `all` or `any`")
    return ObservationMatch(all=groups["all"], any=groups["any"], none=groups["none"])


def parse_condition(data: object, where: str = "condition") -> Condition:
    """Validate one condition on its own (for tests and tools).

    Raises :class:`RuleValidationError`.
    """
    p = _Problems()
    condition = _parse_condition(data, where, p)
    if p.items or condition is None:
        raise RuleValidationError(p.items or [f"{where}: invalid"])
    return condition


def _parse_condition(raw: object, where: str, p: _Problems) -> Condition | None:
    if not isinstance(raw, Mapping):
        p.add(where, "must be a mapping {kind, step, ok, phase, facts}")
        return None
    for key in raw:
        if key not in ("kind", "facts", *OBSERVATION_FIELDS):
            p.add(f"{where}.{key}", "unknown field (known: kind, step, ok, phase, facts)")
    kind = raw.get("kind")
    if not isinstance(kind, str) or not _KIND_RE.match(kind):
        p.add(f"{where}.kind", f"{kind!r} must be a dotted observation kind, e.g. tls.verify")
        kind = str(kind)
    fields: list[Check] = []
    for name in OBSERVATION_FIELDS:
        if name in raw:
            check = _parse_check(name, raw[name], f"{where}.{name}", p, allow_refs=False)
            if check is not None:
                fields.append(check)
    facts: list[Check] = []
    facts_raw = raw.get("facts", {})
    if not isinstance(facts_raw, Mapping):
        p.add(f"{where}.facts", "must map fact names to values or operators")
    else:
        for name, spec in facts_raw.items():
            if not isinstance(name, str) or not _NAME_RE.match(name):
                p.add(f"{where}.facts.{name}", "fact names are plain identifiers")
                continue
            check = _parse_check(name, spec, f"{where}.facts.{name}", p, allow_refs=True)
            if check is not None:
                facts.append(check)
    return Condition(kind=kind, fields=tuple(fields), facts=tuple(facts))


def _parse_check(
    name: str, spec: object, where: str, p: _Problems, *, allow_refs: bool
) -> Check | None:
    if not isinstance(spec, Mapping):
        if not _is_json_value(spec):
            p.add(where, f"{spec!r} is not a JSON value (quote dates and times)")
            return None
        return Check(name, (Comparison("eq", spec),))
    if not spec:
        p.add(where, "an operator mapping needs at least one operator")
        return None
    tests: list[Comparison] = []
    for op, value in spec.items():
        test = _parse_test(str(op), value, f"{where}.{op}", p, allow_refs=allow_refs)
        if test is not None:
            tests.append(test)
    return Check(name, tuple(tests)) if tests else None


def _parse_test(
    op: str, value: object, where: str, p: _Problems, *, allow_refs: bool
) -> Comparison | None:
    if op not in OPERATORS:
        p.add(where, f"unknown operator (known: {', '.join(OPERATORS)})")
        return None
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or not _is_json_value(value):
            p.add(where, "needs a non-empty list of JSON values")
            return None
        return Comparison(op, tuple(value))
    if op in NUMERIC_OPERATORS:
        if isinstance(value, Mapping) and allow_refs:
            ref = _parse_fact_ref(value, where, p)
            return Comparison(op, ref) if ref is not None else None
        if not _is_number(value) or not _is_json_scalar(value):
            p.add(
                where, f"{value!r} must be a number" + (" or {fact, times}" if allow_refs else "")
            )
            return None
        return Comparison(op, value)
    if op == "exists":
        if not isinstance(value, bool):
            p.add(where, "must be true or false")
            return None
        return Comparison(op, value)
    if op == "regex":
        if not isinstance(value, str):
            p.add(where, "must be a string")
            return None
        try:
            pattern = re.compile(value)
        except re.error as exc:
            p.add(where, f"does not compile: {exc}")
            return None
        return Comparison(op, value, pattern)
    # eq, ne, contains
    if not _is_json_value(value):
        p.add(where, f"{value!r} is not a JSON value (quote dates and times)")
        return None
    return Comparison(op, tuple(value) if isinstance(value, list) else value)


def _parse_fact_ref(raw: Mapping[Any, Any], where: str, p: _Problems) -> FactRef | None:
    for key in raw:
        if key not in ("fact", "times"):
            p.add(f"{where}.{key}", "unknown field (known: fact, times)")
    fact = raw.get("fact")
    times = raw.get("times", 1)
    ok = True
    if not isinstance(fact, str) or not _NAME_RE.match(fact):
        p.add(f"{where}.fact", "required: the name of another fact")
        ok = False
    if not _is_number(times) or not _is_json_scalar(times):
        p.add(f"{where}.times", "must be a number")
        ok = False
    return FactRef(str(fact), float(times)) if ok else None


def _parse_text_match(raw: object, p: _Problems) -> TextMatchSpec | None:
    where = "match.text"
    if not isinstance(raw, Mapping):
        p.add(where, "must be a mapping with `all`, `any`, `none`, `extract` and `priority`")
        return None
    for key in raw:
        if key not in ("all", "any", "none", "extract", "priority"):
            p.add(f"{where}.{key}", "unknown field (known: all, any, none, extract, priority)")
    priority = raw.get("priority")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
        p.add(f"{where}.priority", f"{priority!r} must be an integer")
        priority = None
    groups: dict[str, tuple[TextPattern, ...]] = {}
    for group in ("all", "any", "none"):
        items = raw.get(group, [])
        if not isinstance(items, list):
            p.add(f"{where}.{group}", "must be a list of regexes or {regex, flags}")
            items = []
        patterns = []
        for i, item in enumerate(items):
            pat = _parse_text_pattern(item, f"{where}.{group}[{i}]", p)
            if pat is not None:
                patterns.append(pat)
        groups[group] = tuple(patterns)
    if not raw.get("all") and not raw.get("any"):
        p.add(where, "needs at least one pattern in `all` or `any`")
    extract_raw = raw.get("extract", [])
    extract: list[str] = []
    group_names: set[str] = set()
    for pat in (*groups["all"], *groups["any"]):
        group_names.update(pat.pattern.groupindex)
    if not isinstance(extract_raw, list):
        p.add(f"{where}.extract", "must be a list of named groups")
    else:
        for i, name in enumerate(extract_raw):
            if not isinstance(name, str) or not _NAME_RE.match(name):
                p.add(f"{where}.extract[{i}]", f"{name!r} is not a plain name")
            elif name not in group_names:
                p.add(f"{where}.extract[{i}]", f"no pattern has a named group (?P<{name}>...)")
            else:
                extract.append(name)
    from regdoctor.engine.literals import rule_literals

    return TextMatchSpec(
        all=groups["all"],
        any=groups["any"],
        none=groups["none"],
        extract=tuple(extract),
        priority=priority,
        literals=rule_literals(groups["all"], groups["any"]),
    )


def _parse_text_pattern(raw: object, where: str, p: _Problems) -> TextPattern | None:
    if isinstance(raw, str):
        raw = {"regex": raw}  # shorthand: a bare string is {regex: ...} without flags
    if not isinstance(raw, Mapping):
        p.add(where, "must be a regex string or a mapping {regex, flags}")
        return None
    for key in raw:
        if key not in ("regex", "flags"):
            p.add(f"{where}.{key}", "unknown field (known: regex, flags)")
    regex = raw.get("regex")
    flags_raw = raw.get("flags", [])
    if not isinstance(regex, str) or not regex:
        p.add(f"{where}.regex", "required: a non-empty string")
        return None
    flags: list[str] = []
    value = 0
    if not isinstance(flags_raw, list):
        p.add(f"{where}.flags", f"must be a list of {', '.join(TEXT_FLAGS)}")
    else:
        for flag in flags_raw:
            if flag not in TEXT_FLAGS:
                p.add(f"{where}.flags", f"{flag!r} is not one of {', '.join(TEXT_FLAGS)}")
            else:
                flags.append(flag)
                value |= TEXT_FLAGS[flag]
    try:
        pattern = re.compile(regex, value)
    except re.error as exc:
        p.add(f"{where}.regex", f"does not compile: {exc}")
        return None
    return TextPattern(regex=regex, flags=tuple(flags), pattern=pattern)
