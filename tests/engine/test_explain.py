"""regdoctor.engine.explain: text matching, priorities (the cause wins over the symptom),
whole logs, extraction, redaction, the unrecognised answer."""

# ruff: noqa: E501 - real pasted errors are long lines

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from regdoctor.check.exit import explain_exit_code as exit_code
from regdoctor.engine import load_catalog
from regdoctor.engine.explain import (
    MAX_LINE_NUMBERS,
    SCAN_THRESHOLD,
    UNRECOGNISED,
    explain,
    normalise_line,
)
from regdoctor.engine.loader import Catalog
from regdoctor.engine.parse import parse_rule
from regdoctor.engine.schema import RuleValidationError
from regdoctor.model import Severity

CATALOG = load_catalog()


def lead(text: str, catalog: Catalog = CATALOG):
    matches = explain(catalog, text)
    leading = [m for m in matches if m.leading]
    assert len(leading) == 1, matches
    return leading[0]


def rule_yaml(tmp_path: Path, rule_id: str, text: dict, **extra) -> Path:
    data = {
        "id": rule_id,
        "category": extra.pop("category", "other"),
        "severity": extra.pop("severity", "error"),
        "confidence": {"live": "high", "text": "medium"},
        "title": extra.pop("title", "Rule {rule_id} on {registry}"),
        "match": {"text": text},
        "explanation": extra.pop("explanation", "Seen {host}."),
        "remediation": extra.pop(
            "remediation",
            [{"text": "Fix {registry}.", "commands": {"docker": "docker login {registry}"}}],
        ),
        **extra,
    }
    path = tmp_path / f"{rule_id}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- one line


def test_one_line_is_explained_with_fields_span_and_check():
    line = (
        'Error response from daemon: Get "https://registry.example.com:5000/v2/": '
        "x509: certificate signed by unknown authority"
    )
    m = lead(line)
    assert (m.rule, m.category, m.severity) == (
        "tls-unknown-authority",
        "tls.unknown_authority",
        Severity.ERROR,
    )
    assert m.confidence == "high"
    assert m.lines == (1,) and m.count == 1
    assert m.matched == "certificate signed by unknown authority"
    assert m.fields["registry"] == "registry.example.com:5000"
    assert m.fields["host"] == "registry.example.com"
    assert m.fields["port"] == "5000"
    assert m.check == "regdoctor check registry.example.com:5000"
    assert "registry.example.com:5000" in m.title
    commands = " ".join(c for step in m.remediation for c in step.commands.values())
    assert "/etc/docker/certs.d/registry.example.com:5000/ca.crt" in commands


def test_image_in_the_line_is_suggested_for_the_check():
    m = lead(
        'Failed to pull image "registry.example.com/team/app:1.2": rpc error: code = Unknown '
        'desc = failed to pull and unpack image "registry.example.com/team/app:1.2": failed to '
        'resolve reference "registry.example.com/team/app:1.2": registry.example.com/team/app:1.2: not found'
    )
    assert m.category == "image.manifest_unknown"
    assert m.fields["image"] == "registry.example.com/team/app:1.2"
    assert m.fields["repository"] == "team/app" and m.fields["tag"] == "1.2"
    assert m.check == "regdoctor check registry.example.com/team/app:1.2"


# --------------------------------------------------------------------------- priorities


def test_x509_while_fetching_a_token_is_about_the_token_server():
    m = lead(
        "failed to authorize: failed to fetch anonymous token: Get "
        '"https://auth.example.com/token?scope=repository%3Ateam%2Fapp%3Apull&service=registry.example.com": '
        "x509: certificate signed by unknown authority"
    )
    assert m.rule == "tls-realm-unknown-authority"
    assert m.category == "tls.unknown_authority"
    assert m.fields["host"] == "auth.example.com"
    assert m.fields["realm_host"] == "auth.example.com"
    assert "auth.example.com" in m.title


def test_proxyconnect_refused_is_the_proxy_not_the_registry():
    m = lead(
        'Get "https://registry-1.docker.io/v2/": proxyconnect tcp: dial tcp 203.0.113.1:3128: '
        "connect: connection refused"
    )
    assert m.category == "proxy.error"
    assert m.fields["proxy"] == "203.0.113.1:3128"
    matches = explain(CATALOG, "dial tcp 203.0.113.1:443: connect: connection refused")
    assert [x.category for x in matches] == ["tcp.refused"]


def test_credential_helper_error_wins_over_the_401_it_causes():
    text = textwrap.dedent(
        """\
        error getting credentials - err: exit status 1, out: `pass not initialized: exit status 1`
        Error response from daemon: Get "https://registry.example.com/v2/": no basic auth credentials
        """
    )
    matches = explain(CATALOG, text)
    assert [m.category for m in matches] == ["auth.credential_helper", "auth.unauthorized"]
    assert [m.leading for m in matches] == [True, False]
    assert [m.lines for m in matches] == [(1,), (2,)]
    # also when the symptom comes first, and when both are on one line
    swapped = "\n".join(reversed(text.strip().splitlines()))
    assert lead(swapped).category == "auth.credential_helper"
    one = 'error getting credentials - err: exec: "docker-credential-desktop": executable file not found in $PATH, out: ``: no basic auth credentials'
    assert [m.category for m in explain(CATALOG, one)] == ["auth.credential_helper"]
    assert explain(CATALOG, one)[0].fields["helper"] == "desktop"


@pytest.mark.parametrize(
    ("line", "category"),
    [
        (
            "dial tcp: lookup r.example on 192.0.2.2:53: read udp 192.0.2.9:4000->192.0.2.2:53: i/o timeout",
            "dns.failure",
        ),
        (
            "dial tcp: lookup r.example on [::1]:53: read udp [::1]:50843->[::1]:53: read: connection refused",
            "dns.failure",
        ),
        ("dial tcp: lookup r.example on 192.0.2.2:53: no such host", "dns.nxdomain"),
        ('Get "https://r.example/v2/": dial tcp 192.0.2.5:443: i/o timeout', "tcp.timeout"),
        (
            'Get "https://r.example/v2/": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)',
            "http.timeout",
        ),
        (
            "rpc error: code = DeadlineExceeded desc = dial tcp 192.0.2.5:443: i/o timeout",
            "tcp.timeout",
        ),
        ('Get "https://r.example/v2/": net/http: TLS handshake timeout', "tls.handshake"),
        ("API error (500): toomanyrequests: You have reached your pull rate limit.", "ratelimit"),
        (
            "denied: Your authorization token has expired. Reauthenticate and try again.",
            "auth.token_expired",
        ),
        (
            "pull access denied for foo, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
            "auth.denied",
        ),
        (
            "no matching manifest for linux/arm64/v8 in the manifest list entries: no match for platform in manifest: not found",
            "image.platform_mismatch",
        ),
        ("write /var/lib/docker/tmp/x: no space left on device: unexpected EOF", "client.disk"),
        (
            "x509: certificate has expired or is not yet valid: current time 2019-01-01T00:00:00Z is before 2024-01-01T00:00:00Z",
            "tls.expired",
        ),
        (
            "errors:\\ndenied: requested access to the resource is denied\\nunauthorized: authentication required",
            "auth.denied",
        ),
    ],
)
def test_the_cause_wins_over_the_symptom(line, category):
    assert lead(line).category == category


def test_priority_ties_go_to_the_more_specific_rule(tmp_path):
    rule_yaml(tmp_path, "one", {"any": ["boom"]}, category="tcp.reset")
    rule_yaml(tmp_path, "two", {"all": ["boom", "bang"]}, category="server.error")
    catalog = load_catalog([tmp_path], bundled=False)
    assert lead("boom bang", catalog).rule == "two"
    assert lead("boom", catalog).rule == "one"


def test_text_priority_overrides_the_rule_priority(tmp_path):
    rule_yaml(tmp_path, "low", {"any": ["boom"], "priority": 1}, priority=50)
    rule_yaml(tmp_path, "high", {"any": ["boom"]}, priority=5)
    catalog = load_catalog([tmp_path], bundled=False)
    assert lead("boom", catalog).rule == "high"
    assert catalog.get("low").text_priority == 1 and catalog.get("high").text_priority == 5


# --------------------------------------------------------------------------- semantics


def test_all_any_none_and_extract(tmp_path):
    rule_yaml(
        tmp_path,
        "paste",
        {
            "all": [r"registry (?P<registry>[\w.:-]+) says"],
            "any": [{"regex": "NOPE", "flags": ["i"]}, "other"],
            "none": ["ignore me"],
            "extract": ["registry"],
        },
        title="Refused by {registry} at {address}",
        explanation="{host} said no",
    )
    catalog = load_catalog([tmp_path], bundled=False)
    m = lead("registry r.example:5000 says nope", catalog)
    assert m.rule == "paste"
    assert m.fields["registry"] == "r.example:5000"
    assert m.title == "Refused by r.example:5000 at its address"
    assert m.explanation == "R.example said no" or m.explanation == "r.example said no"
    assert m.remediation[0].commands["docker"] == "docker login r.example:5000"
    assert lead("registry r.example:5000 says nope, ignore me", catalog).rule == UNRECOGNISED
    assert lead("registry r.example:5000 says yes", catalog).rule == UNRECOGNISED


def test_unknown_values_are_shell_variables_in_commands(tmp_path):
    rule_yaml(tmp_path, "bare", {"any": ["it broke"]})
    catalog = load_catalog([tmp_path], bundled=False)
    m = lead("it broke", catalog)
    assert m.remediation[0].commands["docker"] == (
        "REGISTRY=''  # fill in: the registry, as in image references (host[:port])"
        '\ndocker login "${REGISTRY:?}"'
    )
    assert m.title == "Rule <rule_id> on the registry"
    assert m.check is None


def test_rule_without_literal_still_matches(tmp_path):
    rule_yaml(tmp_path, "shapeless", {"any": [r"\d{3}\s\w+"]})
    catalog = load_catalog([tmp_path], bundled=False)
    assert catalog.get("shapeless").text.literals is None
    log = "\n".join(["noise"] * (SCAN_THRESHOLD + 10) + ["500 boom"])
    assert lead(log, catalog).lines == (SCAN_THRESHOLD + 11,)


def test_schema_validates_text_fields():
    base = {
        "id": "x",
        "category": "other",
        "severity": "error",
        "confidence": {"live": "high", "text": "low"},
        "title": "t",
        "explanation": "e",
        "remediation": [{"text": "r"}],
    }
    rule = parse_rule(
        {**base, "match": {"text": {"any": ["a+b"], "priority": 7}}, "text_title": "T"}
    )
    assert rule.text is not None and rule.text.priority == 7 and rule.text_title == "T"
    assert rule.text.literals is None  # "a+b": no literal of 3 characters
    with pytest.raises(RuleValidationError, match=r"match\.text\.priority"):
        parse_rule({**base, "match": {"text": {"any": ["x"], "priority": "high"}}})
    with pytest.raises(RuleValidationError, match="text_title: only makes sense"):
        parse_rule(
            {
                **base,
                "match": {"observations": {"all": [{"kind": "dns.answer"}]}},
                "text_title": "T",
            }
        )
    with pytest.raises(RuleValidationError, match="text_explanation"):
        parse_rule({**base, "match": {"text": {"any": ["x"]}}, "text_explanation": ""})


# --------------------------------------------------------------------------- logs


def test_a_log_reports_each_distinct_error_once_in_order():
    log = textwrap.dedent(
        """\
        $ docker pull registry.example.com/team/app:1.2
        Error response from daemon: Get "https://registry.example.com/v2/": x509: certificate signed by unknown authority
        retrying...
        Error response from daemon: Get "https://registry.example.com/v2/": x509: certificate signed by unknown authority
        $ docker pull nginx
        Error response from daemon: toomanyrequests: You have reached your pull rate limit.
        Error response from daemon: Get "https://registry.example.com/v2/": x509: certificate signed by unknown authority
        """
    )
    matches = explain(CATALOG, log)
    assert [m.category for m in matches] == ["tls.unknown_authority", "ratelimit"]
    assert matches[0].lines == (2, 4, 7) and matches[0].count == 3
    assert matches[1].lines == (6,)
    assert matches[1].fields["image"] == "nginx"  # from the command above it
    assert matches[1].fields["registry"] == "docker.io"
    assert sum(m.leading for m in matches) == 1


def test_same_rule_for_two_registries_is_two_errors():
    log = (
        'Get "https://a.example/v2/": dial tcp 192.0.2.1:443: connect: connection refused\n'
        'Get "https://b.example/v2/": dial tcp 192.0.2.2:443: connect: connection refused\n'
    )
    matches = explain(CATALOG, log)
    assert [m.fields["registry"] for m in matches] == ["a.example", "b.example"]


def test_long_log_gives_what_its_lines_give_alone():
    errors = [
        'Get "https://a.example/v2/": dial tcp 192.0.2.1:443: connect: connection refused',
        "Error response from daemon: manifest for team/app:9 not found: manifest unknown",
        "failed to register layer: no space left on device",
    ]
    lines = []
    for i in range(3000):
        lines.append(
            errors[i % 3] if i % 997 == 5 else f"2024-01-01T00:00:{i % 60:02d}Z step {i} ok"
        )
    log = "\n".join(lines)
    assert len(lines) > SCAN_THRESHOLD
    matches = explain(CATALOG, log)
    expected = {}
    for number, line in enumerate(lines, start=1):
        for m in explain(CATALOG, line):
            if m.recognised:
                expected.setdefault(m.rule, []).append(number)
    assert {m.rule: list(m.lines) for m in matches} == expected


def test_line_numbers_are_capped_but_counted():
    log = "\n".join(["unexpected EOF"] * (MAX_LINE_NUMBERS + 50))
    (m,) = explain(CATALOG, log)
    assert m.count == MAX_LINE_NUMBERS + 50 and len(m.lines) == MAX_LINE_NUMBERS


def test_ansi_codes_crlf_and_escaped_quotes_are_normalised():
    assert normalise_line('\x1b[31merror\x1b[0m msg=\\"x\\"\r') == 'error msg="x"'
    m = lead(
        'level=error msg="Handler for POST /v1.41/images/create returned error: Get \\"https://r.example/v2/\\": '
        'x509: certificate has expired or is not yet valid"\r\n'
    )
    assert m.category == "tls.expired" and m.fields["registry"] == "r.example"
    colored = "\x1b[1;31mERROR\x1b[0m: toomanyrequests: rate limit"
    assert lead(colored).category == "ratelimit"


def test_huge_lines_and_odd_bytes_do_not_break_it():
    m = lead("x" * 100_000 + " no space left on device")  # beyond the matched prefix
    assert m.rule == UNRECOGNISED
    # Odd characters around an error leave it an error; NUL bytes make a line binary data
    # (skipped: a "401" in random bytes is no HTTP status).
    assert lead("\x01 \ufffd manifest unknown \u202e").category == "image.manifest_unknown"
    assert lead("\x00\x01 \ufffd manifest unknown \u202e").rule == UNRECOGNISED


# --------------------------------------------------------------------------- secrets


def test_secrets_in_the_paste_are_masked_everywhere():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
    line = (
        f'Get "https://bob:hunter2@registry.example.com/v2/?token={jwt}": Authorization: Bearer {jwt} '
        "x509: certificate signed by unknown authority"
    )
    m = lead(line)
    shown = repr(m.to_dict())
    assert "hunter2" not in shown and jwt not in shown
    assert "****" in m.line
    assert m.matched == "certificate signed by unknown authority"
    assert m.fields["registry"] == "registry.example.com"


# --------------------------------------------------------------------------- nothing


def test_nothing_recognised_says_so_and_still_extracts():
    m = lead(
        'Error: GET "https://quay.example.com/v2/team/app/manifests/1.0": HTTP status 418 teapot'
    )
    assert m.rule == UNRECOGNISED and m.category == "other" and m.severity == Severity.INFO
    assert m.fields["registry"] == "quay.example.com"
    assert m.fields["status"] == "418"
    assert m.check == "regdoctor check quay.example.com/team/app:1.0"
    assert "no rule" in m.explanation and "quay.example.com" in m.explanation
    assert exit_code([m]) == 0


def test_plain_prose_is_not_an_error():
    matches = explain(CATALOG, "Hello, I pulled nginx yesterday and it worked.\nThanks!")
    assert [m.rule for m in matches] == [UNRECOGNISED]


def test_exit_codes():
    error = lead("manifest unknown")
    assert exit_code([error]) == 2
    assert exit_code(explain(CATALOG, "all good")) == 0


def test_only_warnings_exit_1(tmp_path):
    rule_yaml(tmp_path, "soft", {"any": ["deprecated thing"]}, severity="warning")
    rule_yaml(tmp_path, "hard", {"any": ["broken thing"]})
    catalog = load_catalog([tmp_path], bundled=False)
    assert exit_code(explain(catalog, "a deprecated thing")) == 1
    assert exit_code(explain(catalog, "a deprecated thing\na broken thing")) == 2


def test_long_log_finder_sees_overlapping_literals(tmp_path):
    """The long-log pre-filter reports the longest literal at each position; literals
    that overlap it or sit inside it must still select their rules."""
    from regdoctor.engine.explain import _candidates, build_index

    rule_yaml(tmp_path, "left", {"any": ["xabc"]})
    rule_yaml(tmp_path, "right", {"any": ["bcdy"]})
    rule_yaml(tmp_path, "inner", {"any": ["authorized"]})
    rule_yaml(tmp_path, "outer", {"any": ["unauthorized"]})
    catalog = load_catalog([tmp_path], bundled=False)
    index = build_index(catalog)
    ids = {rule.id: i for i, rule in enumerate(index.rules)}
    for long_log in (False, True):
        assert _candidates(index, "..xabcdy..", long_log) == {ids["left"], ids["right"]}
        assert _candidates(index, "401 Unauthorized", long_log) == {ids["inner"], ids["outer"]}


def test_the_explain_engine_is_headless_and_offline(tmp_path):
    """explain() needs no terminal, network or TLS library, and with the rule cache
    filled, not even PyYAML."""
    import json
    import os
    import subprocess
    import sys

    program = (
        "import json, sys\n"
        "from regdoctor.engine.cache import load_catalog_cached\n"
        "from regdoctor.engine.explain import explain\n"
        "explain(load_catalog_cached(text_only=True), 'x509: certificate signed by unknown authority')\n"
        "names = ('httpx', 'dns', 'OpenSSL', 'textual', 'rich', 'ssl', 'socket', 'jwt', 'yaml')\n"
        "print(json.dumps([m for m in names if m in sys.modules]))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True
        ).stdout
        for _ in range(2)
    ]
    assert json.loads(outputs[0]) in ([], ["yaml"])  # the first run reads the rule files
    assert json.loads(outputs[1]) == []
