"""Whatever the probes put into facts, evaluation never raises and never crashes a rule."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regdoctor.engine import RULE_CRASHED, Catalog, evaluate, load_catalog
from regdoctor.engine.template import render
from regdoctor.model import PHASES, Observation
from tests.engine.engine_helpers import target

# the bundled rules only: load errors are the catalog test's concern
CATALOG = Catalog(rules=load_catalog().rules)
KINDS = sorted(
    {
        c.kind
        for r in CATALOG.rules
        if r.observations
        for c in (*r.observations.all, *r.observations.any, *r.observations.none)
    }
)
FACT_NAMES = sorted(
    {
        check.name
        for r in CATALOG.rules
        if r.observations
        for c in (*r.observations.all, *r.observations.any, *r.observations.none)
        for check in c.facts
    }
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["expired", "registry", "realm", "connected", "http", "[bold]x[/]", "{host}"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)
facts = st.dictionaries(
    st.one_of(st.sampled_from(FACT_NAMES), st.text(max_size=12)), values, max_size=8
)
observations = st.builds(
    Observation,
    kind=st.one_of(st.sampled_from(KINDS), st.text(max_size=12)),
    target=st.just("registry.test:5000"),
    ok=st.booleans(),
    phase=st.one_of(st.sampled_from(PHASES), st.text(max_size=6)),
    step=st.one_of(st.none(), st.sampled_from(["v2", "auth.token", "manifest.head"])),
    facts=facts,
    error=st.one_of(st.none(), st.text(max_size=20)),
)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(observations, max_size=8))
def test_evaluate_never_raises(obs_list):
    findings = evaluate(CATALOG, target(), obs_list)
    assert not [f for f in findings if f.rule == RULE_CRASHED]
    for finding in findings:
        assert isinstance(finding.title, str) and isinstance(finding.explanation, str)
        assert all(0 <= i < len(obs_list) for i in finding.observations)
    if findings:
        assert findings[0].leading == (findings[0].severity.value != "info")
        assert not any(f.leading for f in findings[1:])
        ranks = [f.severity.rank for f in findings]
        assert ranks == sorted(ranks)


@settings(database=None)
@given(st.dictionaries(st.text(max_size=10), values, max_size=6), st.text(max_size=40))
def test_render_never_raises(context, template):
    assert isinstance(render(template, context), str)


def test_nan_and_infinity_are_not_numbers_that_match():
    from tests.engine.engine_helpers import obs

    findings = evaluate(
        CATALOG,
        target(),
        [
            obs("http.response", step="v2", clock_skew_abs_s=math.nan),
            obs("tls.chain", min_days_left=math.inf),
            obs("tls.verify", reason="ok"),
        ],
    )
    assert findings == []
