"""redact_lines: the same masking as redacting a whole indented JSON document, with the
patterns run only on the lines that hold a trigger word (a tag scan's large output)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regdoctor.redact.secrets import (
    _TRIGGERS,
    MASK,
    Redactor,
    _trigger_starts,
    redact,
    redact_lines,
)
from tests.render.test_render_redact import CASES, UNTOUCHED


def _document() -> str:
    texts = [case[0] for case in CASES] + UNTOUCHED
    return json.dumps(
        {
            "endpoint": "https://bob:hunter2@registry.example.com:5000",
            "tags": [
                {"tag": f"t{i:04d}", "digest": f"sha256:{i:064x}", "outcome": "found"}
                for i in range(300)
            ],
            "errors": texts,
            "facts": {"password": "opaque-pass-1234", "access_token": "tok-abcdef123456"},
            "literal": "the run's password is s3cret-literal-value here",
        },
        indent=1,
    )


def test_same_as_redacting_the_whole_text():
    text = _document()
    out = redact_lines(text)
    assert out == redact(text)
    assert "bob:hunter2@" not in out and "opaque-pass-1234" not in out and MASK in out
    assert '"tag": "t0299"' in out


def test_same_as_a_redactor_with_literal_secrets():
    text = _document()
    redactor = Redactor(["s3cret-literal-value"])
    out = redact_lines(text, redactor)
    assert out == redactor.redact(text)
    assert "s3cret-literal-value" not in out


def test_text_without_triggers_is_unchanged():
    text = json.dumps({"tags": [f"t{i}" for i in range(50)]}, indent=1)
    assert redact_lines(text) == text
    assert redact_lines("") == ""


#: Trigger letters, separators, and three characters that case-fold onto ASCII ones
#: (long s, Kelvin sign, dotless i): those texts take the regex path.
_ALPHABET = 'aAuUtThHbBeErRsSiIcCyYjJpPwWoOkKnNdD:/?&;=-_ \n"xq\u017f\u212a\u0131'


@given(st.text(alphabet=_ALPHABET, max_size=80))
@settings(max_examples=400, deadline=None)
def test_trigger_finder_agrees_with_the_trigger_regex(text):
    """The fast finder marks exactly the lines the pre-filter regex marks."""
    lines_fast = {text.count("\n", 0, at) for at in _trigger_starts(text)}
    lines_regex = {text.count("\n", 0, m.start()) for m in _TRIGGERS.finditer(text)}
    assert lines_fast == lines_regex
    assert redact_lines(text) == "\n".join(redact(line) for line in text.split("\n"))


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ('--docker-password="hunter2" -n team', '--docker-password="****" -n team'),
        ("x --password 'hunter2'", "x --password '****'"),
        ('password="hunter2"', 'password="****"'),
        ("--password=ab\\cd x", "--password=**** x"),
        # the variable a remediation command reads is not a secret
        ('--docker-password="$REGISTRY_PASSWORD" -n', '--docker-password="$REGISTRY_PASSWORD" -n'),
    ],
)
def test_quoted_values_are_masked_also_inside_json_text(text: str, masked: str) -> None:
    """A quoted password is masked inside its quotes; in a JSON document redacted as text
    (``tags --format json``) the quotes are escaped, and the document stays JSON."""
    assert redact(text) == masked
    document = json.dumps({"command": text}, indent=1)
    assert json.loads(redact_lines(document)) == {"command": masked}
