"""The closed operator set, one behaviour at a time."""

from __future__ import annotations

import math

import pytest

from regdoctor.engine.match import comparison_holds, condition_matches, values_equal
from regdoctor.engine.parse import parse_condition
from regdoctor.engine.schema import Check, Comparison, Condition, FactRef
from tests.engine.engine_helpers import obs


def parse(spec: dict) -> Condition:
    return parse_condition(spec)


def holds(op: str, value, actual, facts=None) -> bool:
    cond = parse({"kind": "x.y", "facts": {"f": {op: value}}})
    test = cond.facts[0].tests[0]
    return comparison_holds(test, actual, facts or {"f": actual})


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("eq", "expired", "expired", True),
        ("eq", "expired", "Expired", False),
        ("eq", 443, 443.0, True),
        ("eq", True, 1, False),
        ("eq", 1, True, False),
        ("eq", None, None, True),
        ("eq", [1, 2], [1, 2], True),
        ("ne", "ok", "expired", True),
        ("ne", "ok", "ok", False),
        ("ne", "ok", None, True),
        ("in", ["a", "b"], "b", True),
        ("in", ["a", "b"], "c", False),
        ("in", [1, 2], True, False),
        ("not_in", [401, 407], 404, True),
        ("not_in", [401, 407], 401, False),
        ("gt", 60, 61, True),
        ("gt", 60, 60, False),
        ("ge", 60, 60, True),
        ("lt", 21, 20.5, True),
        ("lt", 21, "20", False),
        ("lt", 21, None, False),
        ("lt", 21, True, False),
        ("le", 21, 21, True),
        ("lt", 21, math.nan, False),
        ("exists", True, "x", True),
        ("exists", True, None, False),
        ("exists", False, None, True),
        ("exists", False, 0, False),
        ("contains", "b", ["a", "b"], True),
        ("contains", "b", ["a"], False),
        ("contains", "requir", "certificate required", True),
        ("contains", 1, "1", False),
        ("contains", "x", None, False),
        ("regex", "(?i)certificate required", "Certificate Required", True),
        ("regex", "^5", "500", True),
        ("regex", "^5", 500, False),
        ("regex", "x", None, False),
    ],
)
def test_operator(op, value, actual, expected):
    assert holds(op, value, actual) is expected


def test_scalar_means_eq():
    cond = parse({"kind": "tls.verify", "facts": {"enforced": True}})
    assert cond.facts[0].tests[0].op == "eq"
    assert condition_matches(cond, obs("tls.verify", enforced=True))
    assert not condition_matches(cond, obs("tls.verify", enforced=1))


def test_several_operators_on_one_fact_all_hold():
    cond = parse({"kind": "tls.chain", "facts": {"min_days_left": {"gt": 0, "lt": 21}}})
    assert condition_matches(cond, obs("tls.chain", min_days_left=5))
    assert not condition_matches(cond, obs("tls.chain", min_days_left=0))
    assert not condition_matches(cond, obs("tls.chain", min_days_left=30))


def test_missing_fact_is_null():
    assert condition_matches(parse({"kind": "a.b", "facts": {"x": None}}), obs("a.b"))
    assert condition_matches(parse({"kind": "a.b", "facts": {"x": {"ne": 1}}}), obs("a.b"))
    assert not condition_matches(parse({"kind": "a.b", "facts": {"x": {"gt": 1}}}), obs("a.b"))
    assert not condition_matches(
        parse({"kind": "a.b", "facts": {"x": {"exists": True}}}), obs("a.b")
    )


def test_fact_reference_operand():
    cond = parse(
        {
            "kind": "ratelimit.status",
            "facts": {"remaining": {"lt": {"fact": "limit", "times": 0.1}}},
        }
    )
    assert condition_matches(cond, obs("ratelimit.status", limit=5000, remaining=150))
    assert not condition_matches(cond, obs("ratelimit.status", limit=5000, remaining=600))
    assert not condition_matches(cond, obs("ratelimit.status", limit="many", remaining=1))
    assert not condition_matches(cond, obs("ratelimit.status", remaining=1))
    assert cond.facts[0].describe() == "remaining < 0.1 * limit"


def test_kind_step_ok_phase():
    cond = parse({"kind": "http.response", "step": "v2", "ok": False, "phase": "http"})
    assert condition_matches(cond, obs("http.response", step="v2", ok=False))
    assert not condition_matches(cond, obs("http.response", step="auth.token", ok=False))
    assert not condition_matches(cond, obs("http.response", step="v2", ok=True))
    assert not condition_matches(cond, obs("http.other", step="v2", ok=False))
    null_step = parse({"kind": "http.response", "step": None})
    assert condition_matches(null_step, obs("http.response"))
    assert not condition_matches(null_step, obs("http.response", step="v2"))
    phases = parse({"kind": "probe.timeout", "phase": {"in": ["http", "auth"]}})
    assert condition_matches(phases, obs("probe.timeout", phase="auth"))
    assert not condition_matches(phases, obs("probe.timeout", phase="tls"))


@pytest.mark.parametrize(
    ("spec", "sentence"),
    [
        ({"reason": {"in": ["expired", "not_yet_valid"]}}, "reason in [expired, not_yet_valid]"),
        ({"enforced": True}, "enforced = true"),
        ({"min_days_left": {"lt": 21}}, "min_days_left < 21"),
        ({"alpn": None}, "alpn = null"),
        ({"client_cert": {"exists": True}}, "client_cert is set"),
        ({"client_cert": {"exists": False}}, "client_cert is not set"),
        ({"alert": {"regex": "certificate required"}}, "alert matches /certificate required/"),
        ({"names": {"contains": "registry.test"}}, "names contains registry.test"),
        ({"status": {"not_in": [401, 407]}}, "status not in [401, 407]"),
    ],
)
def test_expected_sentence(spec, sentence):
    cond = parse({"kind": "tls.verify", "facts": spec})
    assert cond.describe() == f"a tls.verify observation with {sentence}"


def test_values_equal_is_total():
    weird = [math.nan, {"a": [1, {"b": None}]}, [[[]]], "", 0, -0.0, 10**40]
    for a in weird:
        for b in weird:
            assert values_equal(a, b) in (True, False)


def test_check_describe_joins_tests():
    check = Check("x", (Comparison("gt", 0), Comparison("lt", FactRef("limit", 0.5))))
    assert check.describe() == "x > 0 and x < 0.5 * limit"
