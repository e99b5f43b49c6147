"""Every rule's text as a reader gets it: each rule's title, explanation and steps are
rendered with the observations of its own ``match`` cases (``<id>.cases.yaml``), and the
result must read as written English: no "1 lines" or "1 tags", no doubled words ("the
the"), no template field left unfilled (``?`` for a value its observations lack) or
unrendered (``{name}``)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.cases import cases_path_for, parse_observation, parse_target
from regdoctor.engine.evaluate import build_context
from regdoctor.engine.loader import load_yaml
from regdoctor.engine.match import match_observations
from regdoctor.engine.schema import Rule
from regdoctor.engine.template import render

CATALOG = load_catalog()

#: "1 lines", "1 tags", "1 addresses": a count of one with a plural noun. Words that end
#: in s and are singular (status, address, process) are not plurals.
_ONE_PLURAL = re.compile(r"(?<![\w.:/-])1 ([a-z]+s)\b")
_SINGULAR_ENDINGS = ("ss", "us", "is")
#: words that end in s and are no plural, and units
_NOT_PLURALS = ("ms", "as", "was", "has", "its", "this", "yes", "does")
#: "the the"; not "mirror mirror.test:5000" (a word, then a host name that starts so)
_DOUBLED = re.compile(r"\b([A-Za-z]{2,})\s+\1\b(?![.:\w-])", re.IGNORECASE)
_UNRENDERED = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def plural_problems(text: str) -> list[str]:
    return [
        f"count of one with a plural: {m.group(0)!r}"
        for m in _ONE_PLURAL.finditer(text)
        if not m.group(1).endswith(_SINGULAR_ENDINGS) and m.group(1) not in _NOT_PLURALS
    ]


def doubled_problems(text: str) -> list[str]:
    return [f"doubled word: {m.group(0)!r}" for m in _DOUBLED.finditer(text)]


def _rendered(rule: Rule) -> Iterator[tuple[str, str, list[str]]]:
    """(case name, the rule's prose rendered for it, the names it lacked)."""
    path = cases_path_for(rule)
    if path is None or not path.is_file() or rule.observations is None:
        return
    data = load_yaml(path)
    for case in data.get("cases", []) if isinstance(data, Mapping) else []:
        if case.get("expect") != "match" or "observations" not in case:
            continue
        target = parse_target(case.get("target"))
        observations = [
            parse_observation(o, target.raw, f"observations[{i}]")
            for i, o in enumerate(case["observations"])
        ]
        result = match_observations(rule.observations, observations)
        assert result is not None, f"{rule.id}: case {case.get('name')} does not match"
        context = build_context(target, observations, result)
        # the same case with every count at one: "1 lines" shows only then
        ones = {k: _one(v) for k, v in context.items()}
        for name, values in (
            (str(case.get("name")), context),
            (f"{case.get('name')} (counts at 1)", ones),
        ):
            lacking: list[str] = []

            def missing(name: str, lacking: list[str] = lacking) -> str:
                lacking.append(name)
                return "?"

            texts = [rule.title, rule.explanation, *(s.text for s in rule.remediation)]
            prose = "\n".join(render(t, values, missing) for t in texts)
            yield name, prose, lacking


def _one(value: object) -> object:
    """A count as one: ints (not bools) and lists of length > 1."""
    if isinstance(value, int) and not isinstance(value, bool):
        return 1
    return value


RULES = [r for r in CATALOG.rules if r.observations is not None]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_prose_reads_well_with_its_own_cases(rule: Rule) -> None:
    problems: list[str] = []
    for case, prose, lacking in _rendered(rule):
        found = plural_problems(prose) + doubled_problems(prose)
        found += [f"unrendered field {m}" for m in _UNRENDERED.findall(prose)]
        found += [f"no value for {{{name}}}" for name in dict.fromkeys(lacking)]
        problems += [f"{case}: {p}" for p in found]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("found in 1 lines of the log", True),
        ("1 tags exist", True),
        ("1 address answered", False),
        ("HTTP 1 status", False),
        ("2 tags exist", False),
        ("version 1.1 lines", False),
    ],
)
def test_the_plural_check_tells_one_from_many(text: str, bad: bool) -> None:
    assert bool(plural_problems(text)) == bad


def test_the_doubled_word_check() -> None:
    assert doubled_problems("The name the the registry")
    assert not doubled_problems("the name that the registry names")
