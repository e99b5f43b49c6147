"""The masking patterns are compiled on first use, and a pattern is skipped on a text that
lacks the words every match of it holds: the result is the same as running them all."""

from __future__ import annotations

import json
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from regdoctor.redact import secrets
from tests.render.test_render_redact import CASES, UNTOUCHED

_PIECES = [
    "password",
    "Passwd",
    "client_secret",
    "token",
    "access_token",
    "auth",
    "Authorization",
    "bearer ",
    "Basic ",
    "Ym9iOmh1bnRlcjI=",
    "eyJhbGciOi",
    ".",
    "https://",
    "bob:pw@",
    "host/v2/",
    "?",
    "&",
    ";",
    "=",
    ":",
    " ",
    '"',
    "'",
    "\\",
    "--",
    "creds",
    "docker-",
    "abc123456789",
    "<password>",
    "$TOKEN",
    "x",
    "\u017f",  # long s: Unicode case folding, every pattern is tried
]


def _all_rules(text: str) -> str:
    for pattern, repl in secrets._RULES:
        text = pattern.sub(repl, text)
    return text


@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
@settings(max_examples=600, deadline=None)
def test_skipping_patterns_changes_nothing(text):
    assert secrets._apply_rules(text) == _all_rules(text)


def test_known_cases_agree():
    texts = [case[0] for case in CASES] + list(UNTOUCHED)
    texts += [json.dumps(json.dumps(t)) for t in texts]
    for text in texts:
        assert secrets._apply_rules(text) == _all_rules(text), text


_PROBE = """
import json, sys
from regdoctor.redact import secrets
compiled = lambda: sorted(
    name for name, value in vars(secrets).items()
    if isinstance(value, secrets._Pattern) and value._compiled is not None
)
before = compiled()
secrets.redact(sys.argv[1])
print(json.dumps([before, compiled()]))
"""


def _compiled_after(text: str) -> tuple[list[str], list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, text], capture_output=True, text=True, check=True
    )
    before, after = json.loads(proc.stdout)
    return before, after


def test_patterns_are_compiled_only_when_a_text_may_match():
    before, after = _compiled_after(
        'Error response from daemon: Get "https://registry.example.com:5000/v2/": '
        "x509: certificate signed by unknown authority"
    )
    assert before == [] and after == []
    _before, after = _compiled_after("login: Authorization: Bearer abc123456789")
    assert after == ["_AUTH_HEADER", "_BEARER"]


def test_prepare_compiles_every_pattern_a_url_query_needs() -> None:
    """``secrets.prepare`` (the idle worker's, while the first requests are in flight)
    compiles the rules' patterns and those a URL with a query string needs (the token
    request's ``?account=...&scope=...``), so that redacting it compiles nothing."""
    program = (
        "import json\n"
        "from regdoctor.redact import secrets\n"
        "secrets.prepare()\n"
        "names = [n for n, v in vars(secrets).items() if isinstance(v, secrets._Pattern)]\n"
        "print(json.dumps([n for n in names if getattr(secrets, n)._compiled is None]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(proc.stdout) == []
