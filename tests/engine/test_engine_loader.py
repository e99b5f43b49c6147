"""Loading: a broken rule file becomes a load error naming the file and the field,
and never stops the other rules from loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from regdoctor.engine import load_catalog, load_rule
from regdoctor.engine.loader import BUNDLED_RULES_DIR
from regdoctor.engine.parse import parse_rule
from regdoctor.engine.schema import RuleValidationError
from tests.engine.engine_helpers import rule_data, write_rule


def problems_for(tmp_path: Path, name: str) -> tuple[str, ...]:
    catalog = load_catalog([tmp_path], bundled=False)
    (error,) = [e for e in catalog.errors if e.path.name == name]
    return error.problems


def test_good_user_rule_loads_next_to_the_bundled_ones(tmp_path):
    write_rule(tmp_path, "my-rule")
    catalog = load_catalog([tmp_path])
    assert not [e for e in catalog.errors if e.path.parent == tmp_path]
    assert catalog.get("my-rule") is not None
    assert "tls-expired" in catalog.ids
    only_user = load_catalog([tmp_path], bundled=False)
    assert only_user.ids == ("my-rule",) and only_user.errors == ()


def test_bad_files_become_errors_and_the_rest_still_load(tmp_path):
    write_rule(tmp_path, "good-one")
    (tmp_path / "bad-yaml.yaml").write_text("id: bad-yaml\ntitle: [unclosed\n")
    write_rule(tmp_path, "bad-category", category="tls.nope")
    write_rule(tmp_path, "stem-differs", id="other-id")
    write_rule(
        tmp_path,
        "bad-operator",
        match={"observations": {"all": [{"kind": "dns.answer", "facts": {"x": {"like": 1}}}]}},
    )
    write_rule(
        tmp_path,
        "bad-regex",
        match={"observations": {"all": [{"kind": "dns.answer", "facts": {"x": {"regex": "("}}}]}},
    )
    (tmp_path / "nested").mkdir()
    write_rule(tmp_path / "nested", "good-two")
    catalog = load_catalog([tmp_path])

    assert {"good-one", "good-two"} <= set(catalog.ids)
    assert len(catalog.rules) > 50  # the bundled catalog is still there
    by_file = {e.path.name: e for e in catalog.errors if e.path.is_relative_to(tmp_path)}
    assert set(by_file) == {
        "bad-yaml.yaml",
        "bad-category.yaml",
        "stem-differs.yaml",
        "bad-operator.yaml",
        "bad-regex.yaml",
    }
    assert "invalid YAML at line 3" in by_file["bad-yaml.yaml"].message
    assert by_file["bad-category.yaml"].problems[0].startswith("category:")
    assert by_file["stem-differs.yaml"].problems[0].startswith("id:")
    assert "stem-differs" in by_file["stem-differs.yaml"].message
    assert (
        "match.observations.all[0].facts.x.like: unknown operator"
        in by_file["bad-operator.yaml"].message
    )
    assert "match.observations.all[0].facts.x.regex: does not compile" in (
        by_file["bad-regex.yaml"].message
    )
    assert str(tmp_path / "bad-regex.yaml") in str(by_file["bad-regex.yaml"])


def test_cases_files_are_not_rules(tmp_path):
    write_rule(tmp_path, "with-cases")
    (tmp_path / "with-cases.cases.yaml").write_text("cases: []\n")
    catalog = load_catalog([tmp_path], bundled=False)
    assert catalog.ids == ("with-cases",) and catalog.errors == ()


def test_duplicate_id_keeps_the_first(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_rule(tmp_path / "a", "dup")
    write_rule(tmp_path / "b", "dup")
    catalog = load_catalog([tmp_path], bundled=False)
    assert catalog.ids.count("dup") == 1
    (error,) = catalog.errors
    assert error.path == tmp_path / "b" / "dup.yaml"
    assert "already defined" in error.message


def test_a_user_rule_cannot_silently_replace_a_bundled_one(tmp_path):
    write_rule(tmp_path, "tls-expired", category="tls.expired")
    catalog = load_catalog([tmp_path])
    assert catalog.get("tls-expired").path.is_relative_to(BUNDLED_RULES_DIR)
    (error,) = [e for e in catalog.errors if e.path.parent == tmp_path]
    assert error.path.name == "tls-expired.yaml" and "already defined" in error.message


def test_missing_extra_dir_is_an_error(tmp_path):
    catalog = load_catalog([tmp_path / "nope"], bundled=False)
    assert catalog.errors[0].problems == ("no such rule file or folder",)


def test_a_single_file_can_be_given(tmp_path):
    path = write_rule(tmp_path, "single")
    assert load_catalog([path], bundled=False).ids == ("single",)


def test_not_a_mapping(tmp_path):
    (tmp_path / "listy.yaml").write_text("- 1\n- 2\n")
    assert "must hold a mapping" in problems_for(tmp_path, "listy.yaml")[0]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"severity": "fatal"}, "severity"),
        ({"priority": "high"}, "priority"),
        ({"confidence": {"live": "sure", "text": "low"}}, "confidence.live"),
        ({"confidence": "high"}, "confidence"),
        ({"title": ""}, "title"),
        ({"explanation": None}, "explanation"),
        ({"remediation": []}, "remediation"),
        (
            {"remediation": [{"text": "x", "commands": {"rkt": "rkt fetch"}}]},
            "remediation[0].commands.rkt",
        ),
        ({"remediation": [{"commands": {"docker": "x"}}]}, "remediation[0].text"),
        ({"references": ["not a url"]}, "references[0]"),
        ({"extra": 1}, "extra"),
        ({"match": {}}, "match"),
        ({"match": {"observations": {"none": [{"kind": "dns.answer"}]}}}, "match.observations"),
        ({"match": {"observations": {"all": [{"facts": {}}]}}}, "match.observations.all[0].kind"),
        (
            {"match": {"observations": {"all": [{"kind": "dns.answer", "colour": 1}]}}},
            "match.observations.all[0].colour",
        ),
        (
            {"match": {"observations": {"all": [{"kind": "a.b", "facts": {"x": {"in": "a"}}}]}}},
            "match.observations.all[0].facts.x.in",
        ),
        (
            {"match": {"observations": {"all": [{"kind": "a.b", "facts": {"x": {"lt": "5"}}}]}}},
            "match.observations.all[0].facts.x.lt",
        ),
        (
            {"match": {"observations": {"all": [{"kind": "a.b", "facts": {"x": {"exists": 1}}}]}}},
            "match.observations.all[0].facts.x.exists",
        ),
        ({"match": {"text": {"any": [{"regex": "x", "flags": ["q"]}]}}}, "match.text.any[0].flags"),
        ({"match": {"text": {"any": [{"regex": "(x"}]}}}, "match.text.any[0].regex"),
        (
            {"match": {"text": {"any": [{"regex": "x"}], "extract": ["host"]}}},
            "match.text.extract[0]",
        ),
    ],
)
def test_field_validation(override, field):
    with pytest.raises(RuleValidationError) as info:
        parse_rule(rule_data("r", **override))
    assert any(p.startswith(f"{field}:") for p in info.value.problems), info.value.problems


def test_text_match_validates_and_describes():
    rule = parse_rule(
        rule_data(
            "r",
            match={
                "text": {
                    "any": [
                        {"regex": r"x509: certificate signed by unknown authority", "flags": ["i"]}
                    ],
                    "all": [{"regex": r"(?P<host>[\w.-]+):\d+"}],
                    "extract": ["host"],
                }
            },
        )
    )
    assert rule.observations is None
    assert rule.text is not None and rule.text.extract == ("host",)
    assert "text any of /x509: certificate signed by unknown authority/i" in rule.describe_match()


def test_every_problem_is_reported_at_once():
    with pytest.raises(RuleValidationError) as info:
        parse_rule(rule_data("r", category="nope", severity="bad", title="{a.b}"))
    fields = {p.split(":")[0] for p in info.value.problems}
    assert {"category", "severity", "title"} <= fields


def test_load_rule_reads_one_file(tmp_path):
    rule = load_rule(write_rule(tmp_path, "one"))
    assert rule.id == "one" and rule.path == tmp_path / "one.yaml"
    assert rule.area == tmp_path.name
