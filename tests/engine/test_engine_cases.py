"""The rule-cases runner used by the catalog test and `regdoctor rules test`."""

from __future__ import annotations

from regdoctor.engine import load_catalog, run_cases, run_catalog_cases
from regdoctor.engine.cases import parse_target
from tests.engine.engine_helpers import write_rule


def write_cases(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_passing_and_failing_cases(tmp_path):
    write_rule(tmp_path, "nx")
    cases = write_cases(
        tmp_path / "nx.cases.yaml",
        """\
cases:
  - name: fires
    expect: match
    contains: ["registry.test", "bad.test"]
    observations:
      - {kind: dns.answer, facts: {outcome: nxdomain, name: bad.test}}
  - name: wrongly expected to fire
    expect: match
    observations:
      - {kind: dns.answer, facts: {outcome: answer}}
  - name: wrongly expected not to fire
    expect: no_match
    observations:
      - {kind: dns.answer, facts: {outcome: nxdomain}}
  - name: text missing
    expect: match
    contains: ["nowhere"]
    observations:
      - {kind: dns.answer, facts: {outcome: nxdomain}}
  - name: bad expect
    expect: maybe
    observations: []
  - name: paste
    expect: match
    text: "x509: certificate signed by unknown authority"
""",
    )
    rule = load_catalog([tmp_path], bundled=False).get("nx")
    results = {r.case: r for r in run_cases(rule, cases)}
    assert results["fires"].passed
    assert not results["wrongly expected to fire"].passed
    assert "did not fire" in results["wrongly expected to fire"].message
    assert not results["wrongly expected not to fire"].passed
    assert "nowhere" in results["text missing"].message
    assert not results["bad expect"].passed
    # text cases run with explain: this rule has no match.text to run them against
    assert not results["paste"].passed and results["paste"].text
    assert "no match.text" in results["paste"].message
    assert str(results["fires"]).startswith("ok nx :: fires")


def test_catalog_cases_need_a_file_and_both_kinds(tmp_path):
    write_rule(tmp_path, "no-file")
    write_rule(tmp_path, "only-match")
    write_cases(
        tmp_path / "only-match.cases.yaml",
        """\
cases:
  - {name: m, expect: match, observations: [{kind: dns.answer, facts: {outcome: nxdomain}}]}
""",
    )
    catalog = load_catalog([tmp_path], bundled=False)
    failures = [r for r in run_catalog_cases(catalog) if not r.passed]
    assert {(r.rule, r.case) for r in failures} == {
        ("no-file", "cases file"),
        ("only-match", "has a no_match case"),
    }


def test_broken_cases_file(tmp_path):
    write_rule(tmp_path, "r")
    path = write_cases(tmp_path / "r.cases.yaml", "cases: {oops\n")
    (result,) = run_cases(load_catalog([tmp_path], bundled=False).get("r"), path)
    assert not result.passed and "invalid YAML" in result.message


def test_parse_target():
    t = parse_target("registry.test:5000/team/app:1.0")
    assert (t.registry, t.host, t.port, t.repository, t.tag) == (
        "registry.test:5000",
        "registry.test",
        5000,
        "team/app",
        "1.0",
    )
    assert parse_target(None).port == 443
    d = parse_target("[2001:db8::1]:5000/app@sha256:abc")
    assert (d.host, d.port, d.repository, d.digest) == ("2001:db8::1", 5000, "app", "sha256:abc")
    m = parse_target({"raw": "r.test", "host": "r.test", "port": 80, "scheme": "http"})
    assert (m.scheme, m.port, m.registry) == ("http", 80, "r.test")


def test_absent_asks_that_the_rule_alone_does_not_match(tmp_path):
    """``absent: true`` on a no_match text case: the rule must not match at all, even
    where a rule of higher priority leads (not leading is not enough)."""
    catalog = load_catalog()
    rule = catalog.get("tls-verify-error")
    cases = write_cases(
        tmp_path / "c.cases.yaml",
        """\
cases:
  - name: another rule leads, this one does not match
    expect: no_match
    absent: true
    text: 'x509: certificate is valid for a.example.test, not r.example.test'
  - name: another rule leads, but this one matched too
    expect: no_match
    absent: true
    text: "x509: certificate signed by unknown authority\\nx509: certificate has expired"
  - name: absent on a match case
    expect: match
    absent: true
    text: 'x509: certificate signed by unknown authority'
""",
    )
    results = {r.case: r for r in run_cases(rule, cases, catalog)}
    assert results["another rule leads, this one does not match"].passed
    second = results["another rule leads, but this one matched too"]
    assert not second.passed and "not to match at all" in second.message
    assert not results["absent on a match case"].passed
