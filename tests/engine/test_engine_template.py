"""Templates: only plain names, checked at load, rendered without str.format."""

from __future__ import annotations

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.template import format_value, render, template_problems
from tests.engine.engine_helpers import write_rule


@pytest.mark.parametrize(
    "template",
    [
        "{__class__}",
        "{a.b}",
        "{x[0]}",
        "{host.__class__.__mro__}",
        "{0}",
        "{}",
        "{_private}",
        "{host!r}",
        "{host:>30}",
        "{host:{port}}",
        "unbalanced {host",
        "stray } brace",
    ],
)
def test_unsafe_or_broken_placeholders_are_rejected(template):
    assert template_problems(template)


@pytest.mark.parametrize(
    "template", ["plain", "{host}:{port}", "{{literal}} {name}", "{{{{.SystemTime}}}}"]
)
def test_plain_templates_pass(template):
    assert template_problems(template) == []


@pytest.mark.parametrize("bad", ["{__class__}", "{a.b}", "{x[0]}"])
def test_rule_with_unsafe_placeholder_fails_to_load(tmp_path, bad):
    write_rule(tmp_path, "unsafe", title=f"Bad {bad}")
    catalog = load_catalog([tmp_path], bundled=False)
    assert catalog.get("unsafe") is None
    (error,) = [e for e in catalog.errors if e.path.name == "unsafe.yaml"]
    assert any(p.startswith("title:") for p in error.problems)


def test_unsafe_placeholder_in_a_command_names_the_field(tmp_path):
    write_rule(
        tmp_path,
        "unsafe-command",
        text="""\
        id: unsafe-command
        category: other
        severity: info
        confidence: {live: low, text: low}
        title: t
        match: {observations: {all: [{kind: dns.answer}]}}
        explanation: e
        remediation:
          - text: ok
            commands:
              podman: "podman login {registry.__init__}"
        """,
    )
    (error,) = load_catalog([tmp_path], bundled=False).errors
    assert error.problems[0].startswith("remediation[0].commands.podman:")


def test_missing_names_render_as_question_mark():
    assert render("{host}:{port} {nothing}", {"host": "h"}) == "h:? ?"
    assert render("{value}", {"value": None}) == "?"


def test_markup_and_braces_in_values_stay_verbatim():
    context = {"detail": "[bold red]x[/] {host} {{y}}", "host": "h"}
    assert render("{detail}", context) == "[bold red]x[/] {host} {{y}}"


def test_literal_braces():
    assert render("{{{{.SystemTime}}}} {{json}} {a}", {"a": 1}) == "{{.SystemTime}} {json} 1"


def test_value_formatting():
    assert format_value(["a", "b"]) == "a, b"
    assert format_value([]) == "(none)"
    assert format_value(True) == "true"
    assert format_value(False) == "false"
    assert format_value(600.0) == "600"
    assert format_value(-300.5) == "-300.5"
    assert format_value({"os": "linux", "arch": "arm64"}) == "os=linux, arch=arm64"
    assert format_value("x" * 5000).endswith("…")
    assert len(format_value("x" * 5000)) == 1000


def test_render_never_raises_on_a_broken_template():
    assert render("{a.b} {", {"a": 1}) == "{a.b} {"
    assert render("{a.b}", {"a": 1}) == "?"


def test_plural_field_counts_its_noun() -> None:
    from regdoctor.engine.template import placeholders, plural, render, template_problems

    text = "{n|tag} of {m|entry|entries}"
    assert template_problems(text) == []
    assert placeholders(text) == ["n", "m"]
    assert render(text, {"n": 1, "m": 1}) == "1 tag of 1 entry"
    assert render(text, {"n": 3, "m": 0}) == "3 tags of 0 entries"
    assert render(text, {}) == "? tags of ? entries"
    assert plural(1.0, "second") == "1 second" and plural(2.5, "second") == "2.5 seconds"
    assert template_problems("{n|Tag}") != []  # a noun is lower case


def test_list_filters_say_a_list_as_a_sentence() -> None:
    from regdoctor.engine.template import placeholders, render, template_problems

    text = "{tags|and}; {tags|and 2}; {tags|or}; {tags|count}; {tags|tag}"
    assert template_problems(text) == []
    assert placeholders(text) == ["tags"] * 5
    assert render(text, {"tags": ["1.2", "1.3", "2.0"]}) == (
        "1.2, 1.3 and 2.0; 1.2, 1.3 and 1 more; 1.2, 1.3 or 2.0; 3; 3 tags"
    )
    assert render(text, {"tags": ["1.2"]}) == "1.2; 1.2; 1.2; 1; 1 tag"
    assert render("{a|and}", {"a": ["x", "y"]}) == "x and y"
    assert render("{a|and 2}", {"a": ["x", "y"]}) == "x and y"  # nothing left over
    assert render("{a|and}|{a|count}", {"a": []}) == "(none)|0"
    assert render("{a|and}|{a|count}", {}) == "?|?"
    assert render("{a|or 1}", {"a": ["docker", "podman", "containerd"]}) == "docker or 2 more"
    assert template_problems("{a|and 0}") != []  # a cap is 1 to 99
    assert template_problems("{a|and 100}") != []


def test_a_conditional_can_test_an_enum_value() -> None:
    from regdoctor.engine.template import condition_names, render, template_problems

    text = "{if outcome=nxdomain}no such name{else}{outcome}{end}{unless count=0}, {count}{end}"
    assert template_problems(text) == []
    assert condition_names(text) == ["outcome", "count"]
    assert render(text, {"outcome": "nxdomain", "count": 0}) == "no such name"
    assert render(text, {"outcome": "timeout", "count": 2}) == "timeout, 2"
    assert render(text, {"count": None}) == "?, ?"  # a missing value is not "0"
    assert render("{if on=true}on{end}", {"on": True}) == "on"
