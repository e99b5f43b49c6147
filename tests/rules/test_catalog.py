"""The bundled rule catalog: it loads, every rule's cases pass, and every rule only uses
categories, observation kinds, steps and fact names that exist.

The contract of what rules may match on is docs/observations.md; the catalog page
docs/rules.md is generated (`python -m regdoctor.engine.catalog_doc > docs/rules.md`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from regdoctor.engine import CATEGORIES, Rule, load_catalog, run_cases
from regdoctor.engine.cases import cases_path_for
from regdoctor.engine.catalog_doc import AREA_ORDER, render_catalog
from regdoctor.engine.schema import Condition
from regdoctor.engine.template import (
    ENGINE_NAMES,
    RUNTIME_NAMES,
    TARGET_NAMES,
    TEXT_NAMES,
    USER_NAMES,
    condition_names,
    placeholders,
)

ROOT = Path(__file__).resolve().parents[2]
OBSERVATIONS_DOC = ROOT / "docs" / "observations.md"
RULES_DOC = ROOT / "docs" / "rules.md"

CATALOG = load_catalog()
RULES = {rule.id: rule for rule in CATALOG.rules}
IDS = sorted(RULES)


def _doc() -> str:
    return OBSERVATIONS_DOC.read_text(encoding="utf-8")


def documented_kinds() -> set[str]:
    """Dotted names in the first column of a table, or opening a line: `dns.answer`: ..."""
    kinds: set[str] = set()
    for line in _doc().splitlines():
        first = re.match(r"^\|\s*`([a-z_]+(?:\.[a-z_]+)+)`\s*\|", line)
        opening = re.match(r"^`([a-z_]+(?:\.[a-z_]+)+)`", line)
        for m in (first, opening):
            if m:
                kinds.add(m.group(1))
    return kinds


def documented_steps() -> set[str]:
    """Backticked values on the lines that talk about `step`."""
    steps: set[str] = set()
    for line in _doc().splitlines():
        if "`step`" in line:
            steps.update(re.findall(r"`([a-z0-9_.]+)`", line))
    steps.discard("step")
    return steps


def documented_names() -> set[str]:
    """Every backticked identifier in the doc: fact names (and values) rules may use."""
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", _doc()))


def conditions(rule: Rule) -> list[Condition]:
    if rule.observations is None:
        return []
    m = rule.observations
    return [*m.all, *m.any, *m.none]


def test_catalog_loads_without_errors():
    assert CATALOG.errors == ()
    assert len(CATALOG.rules) >= 60


def test_doc_parsing_finds_the_contract():
    kinds = documented_kinds()
    assert {
        "dns.answer",
        "tcp.connect",
        "tls.verify",
        "http.response",
        "auth.result",
        "image.manifest",
        "probe.crashed",
        "ratelimit.status",
    } <= kinds
    assert {"v2", "auth.token", "manifest.head", "tags.list"} <= documented_steps()


@pytest.mark.parametrize("rule_id", IDS)
def test_rule_cases(rule_id):
    rule = RULES[rule_id]
    path = cases_path_for(rule)
    assert path is not None and path.is_file(), f"{rule_id} needs {rule_id}.cases.yaml"
    results = run_cases(rule, path, CATALOG)  # text cases against the whole catalog
    failures = [str(r) for r in results if not r.passed]
    assert not failures, "\n".join(failures)
    expects = {r.expect for r in results if not r.skipped}
    assert expects == {"match", "no_match"}, f"{rule_id} needs a match and a no_match case"
    if rule.text is not None:
        text_expects = {r.expect for r in results if r.text}
        assert text_expects == {"match", "no_match"}, (
            f"{rule_id} has match.text: it needs a text case that must match and a look-alike"
        )


@pytest.mark.parametrize("rule_id", IDS)
def test_rule_uses_the_contract(rule_id):
    rule = RULES[rule_id]
    assert rule.category in CATEGORIES
    assert rule.area in AREA_ORDER, f"{rule.path} is not in one of {AREA_ORDER}"
    kinds, steps, names = documented_kinds(), documented_steps(), documented_names()
    for cond in conditions(rule):
        assert cond.kind in kinds, f"{rule_id}: kind {cond.kind} is not in observations.md"
        for check in cond.facts:
            assert check.name in names, f"{rule_id}: fact {check.name} is not in observations.md"
        for check in cond.fields:
            if check.name != "step":
                continue
            for test in check.tests:
                values = test.value if isinstance(test.value, tuple) else (test.value,)
                for value in values:
                    assert value is None or value in steps, f"{rule_id}: step {value} unknown"


@pytest.mark.parametrize("rule_id", IDS)
def test_rule_placeholders_are_known_names(rule_id):
    rule = RULES[rule_id]
    known = set(TARGET_NAMES) | set(ENGINE_NAMES) | set(TEXT_NAMES) | set(USER_NAMES)
    known |= set(RUNTIME_NAMES)
    known |= documented_names()
    if rule.text is not None:
        known |= set(rule.text.extract)
    for where, template in rule.templates():
        used = placeholders(template) + condition_names(template)
        unknown = [n for n in used if n not in known]
        assert not unknown, f"{rule_id} {where}: unknown placeholders {unknown}"


def test_verification_rules_only_fire_when_enforced():
    for rule in CATALOG.rules:
        for cond in rule.observations.all if rule.observations else ():
            if cond.kind != "tls.verify":
                continue
            facts = {c.name: c for c in cond.facts}
            if rule.severity.value == "error":
                assert "enforced" in facts, f"{rule.id} must require enforced: true"
                assert facts["enforced"].tests[0].value is True


def test_rules_doc_lists_every_rule():
    text = RULES_DOC.read_text(encoding="utf-8")
    missing = [rule_id for rule_id in IDS if f"`{rule_id}`" not in text]
    assert not missing, f"docs/rules.md lacks {missing}"


def test_rules_doc_is_up_to_date():
    assert RULES_DOC.read_text(encoding="utf-8") == render_catalog(CATALOG), (
        "regenerate it: python -m regdoctor.engine.catalog_doc > docs/rules.md"
    )


_REQUEST_AREAS = ("tcp", "tls", "http", "auth", "image")


@pytest.mark.parametrize("rule_id", IDS)
def test_a_failing_request_says_when_the_proxy_was_in_its_path(rule_id):
    """Every error or warning about a request names the environment's proxy when one was
    in the path (by host:port, never with credentials), unless the rule is about the
    proxy itself and names it already."""
    from regdoctor.engine.template import render

    rule = RULES[rule_id]
    if rule.area not in _REQUEST_AREAS or rule.severity.value == "info":
        return
    if rule.category.startswith("proxy.") or "{proxy" in rule.explanation:
        return
    assert "{if via_proxy}" in rule.explanation, f"{rule_id}: no {{if via_proxy}} sentence"
    context = {"via_proxy": "192.0.2.3:3128", "via_proxy_env": "HTTPS_PROXY"}
    shown = render(rule.explanation, context)
    assert "the proxy 192.0.2.3:3128 (from HTTPS_PROXY)" in shown
    without = render(rule.explanation, {})
    assert "192.0.2.3" not in without and "went through the proxy" not in without
