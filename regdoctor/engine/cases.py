"""Rule cases: every rule's sibling ``<id>.cases.yaml`` with must-match and look-alike
must-not-match observation sets (semgrep style).

```yaml
cases:
  - name: expired leaf certificate
    expect: match                 # or no_match
    target: "registry.test:5000"  # optional, default "registry.test:443"
    contains: ["registry.test"]   # optional: text the title + explanation must contain
    observations:
      - {kind: tls.verify, phase: tls, ok: false, facts: {reason: expired, enforced: true}}
```

An observation's ``phase`` defaults to its kind's first word when that is a phase
(``tls.verify`` -> ``tls``); ``ok`` defaults to true. ``target`` may also be a mapping of
:class:`~regdoctor.model.Target` fields.

A case with ``text:`` (a pasted error, one line or a whole log) runs ``explain`` instead:

```yaml
  - name: docker pull through a private CA
    expect: match                  # the rule is the leading (likely-cause) result
    text: 'Get "https://r.example:5000/v2/": x509: certificate signed by unknown authority'
    fields: {registry: "r.example:5000", host: r.example}   # optional: extracted values
  - name: look-alike, the proxy refused, not the registry
    expect: no_match               # the rule is not the leading result
    text: 'proxyconnect tcp: dial tcp 10.0.0.1:3128: connect: connection refused'
  - name: look-alike, another rule's wording that this one must not read at all
    expect: no_match
    absent: true                   # optional: the rule alone does not match, not only loses
    text: 'x509: certificate is valid for a.example, not r.example'
```

When the runner is given the whole catalog (the catalog test, ``regdoctor rules test``
on the bundled rules), text cases run against all of it: that is what proves that the
cause wins over the symptom. Without it, the rule runs alone.

The same code runs the catalog test and ``regdoctor rules test``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regdoctor.engine.evaluate import evaluate
from regdoctor.engine.loader import CASES_SUFFIX, Catalog, load_yaml
from regdoctor.engine.schema import Rule
from regdoctor.model import PHASES, Observation, Target

DEFAULT_TARGET = "registry.test:443"
EXPECTS = ("match", "no_match")
_CASE_KEYS = frozenset(
    {"name", "expect", "target", "observations", "text", "contains", "fields", "absent"}
)
_OBSERVATION_KEYS = frozenset(
    {"kind", "phase", "ok", "step", "facts", "error", "evidence", "source", "duration_ms"}
)


@dataclass(frozen=True, slots=True)
class CaseResult:
    rule: str
    case: str
    expect: str  # "match", "no_match", or "" for a problem with the cases file itself
    passed: bool
    message: str = ""
    path: Path | None = None
    skipped: bool = False
    text: bool = False  # a text (paste) case

    def __str__(self) -> str:
        status = "skip" if self.skipped else ("ok" if self.passed else "FAIL")
        text = f"{status} {self.rule} :: {self.case}"
        return f"{text}: {self.message}" if self.message else text


class CaseError(ValueError):
    pass


def cases_path_for(rule: Rule) -> Path | None:
    if rule.path is None:
        return None
    return rule.path.with_name(rule.id + CASES_SUFFIX)


def parse_target(spec: object) -> Target:
    """A test target from ``"host[:port][/repository[:tag|@digest]]"`` or a mapping."""
    if spec is None:
        spec = DEFAULT_TARGET
    if isinstance(spec, Mapping):
        data = dict(spec)
        raw = str(data.pop("raw", data.get("registry", DEFAULT_TARGET)))
        registry = str(data.pop("registry", raw))
        host = str(data.pop("host", registry.rsplit(":", 1)[0]))
        port = data.pop("port", 443)
        try:
            return Target(raw=raw, registry=registry, host=host, port=int(port), **data)
        except TypeError as exc:
            raise CaseError(f"target: {exc}") from exc
    if not isinstance(spec, str) or not spec:
        raise CaseError("target: must be a string or a mapping of Target fields")
    registry, _, rest = spec.partition("/")
    host, port = registry, 443
    if registry.startswith("["):
        end = registry.find("]")
        host = registry[1:end]
        if registry[end + 1 :].startswith(":"):
            port = int(registry[end + 2 :])
    elif ":" in registry:
        host, _, port_text = registry.rpartition(":")
        if not port_text.isdigit():
            raise CaseError(f"target: bad port in {spec!r}")
        port = int(port_text)
    repository = tag = digest = None
    if rest:
        repository = rest
        if "@" in rest:
            repository, digest = rest.split("@", 1)
        else:
            last = rest.rsplit("/", 1)[-1]
            if ":" in last:
                repository, tag = rest.rsplit(":", 1)
    return Target(
        raw=spec,
        registry=registry,
        host=host,
        port=port,
        repository=repository,
        tag=tag,
        digest=digest,
    )


def parse_observation(spec: object, target: str, where: str) -> Observation:
    if not isinstance(spec, Mapping):
        raise CaseError(f"{where}: must be a mapping {{kind, phase, ok, step, facts}}")
    unknown = set(spec) - _OBSERVATION_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown fields {', '.join(sorted(map(str, unknown)))}")
    kind = spec.get("kind")
    if not isinstance(kind, str):
        raise CaseError(f"{where}.kind: required")
    phase = spec.get("phase")
    if phase is None:
        prefix = kind.split(".", 1)[0]
        if prefix not in PHASES:
            raise CaseError(f"{where}.phase: required for kind {kind}")
        phase = prefix
    facts = spec.get("facts", {})
    if not isinstance(facts, Mapping):
        raise CaseError(f"{where}.facts: must be a mapping")
    ok = spec.get("ok", True)
    if not isinstance(ok, bool):
        raise CaseError(f"{where}.ok: must be true or false")
    return Observation(
        kind=kind,
        target=target,
        ok=ok,
        phase=str(phase),
        step=spec.get("step"),
        facts=dict(facts),
        error=spec.get("error"),
        evidence=spec.get("evidence"),
        source=spec.get("source"),
        duration_ms=spec.get("duration_ms"),
    )


def _run_text_case(
    rule: Rule, case: Mapping[str, Any], name: str, path: Path, catalog: Catalog | None
) -> CaseResult:
    from regdoctor.engine.explain import explain

    expect = str(case.get("expect"))

    def fail(message: str) -> CaseResult:
        return CaseResult(rule.id, name, expect, False, message, path, text=True)

    if "observations" in case or "target" in case:
        return fail("a case has either `text` or `observations` (and `target`), not both")
    if rule.text is None:
        return fail("the rule has no match.text to run text cases against")
    text = case.get("text")
    if not isinstance(text, str) or not text.strip():
        return fail("text: must be a non-empty string")
    if catalog is None or rule.id not in catalog.ids:
        catalog = Catalog(rules=(rule,))
    results = explain(catalog, text)
    ok = CaseResult(rule.id, name, expect, True, "", path, text=True)
    leading = next((m for m in results if m.leading), None)
    matched = leading is not None and leading.rule == rule.id
    if expect == "match" and not matched:
        got = f"{leading.rule} ({leading.category})" if leading else "nothing"
        mine = next((m for m in results if m.rule == rule.id), None)
        why = " (it matched, but another rule leads)" if mine else ""
        return fail(f"expected this rule to lead, got {got}{why}: {rule.describe_match()}")
    if expect == "no_match" and matched:
        return fail(f"expected another result, the rule leads: {leading.title if leading else ''}")
    absent = case.get("absent", False)
    if not isinstance(absent, bool) or (absent and expect != "no_match"):
        return fail("absent: true or false, and only with expect: no_match")
    if absent:
        # the rule alone, so that a rule of higher priority on the same line cannot hide it
        alone = explain(Catalog(rules=(rule,)), text)
        mine = next((m for m in alone if m.rule == rule.id), None)
        if mine is not None:
            return fail(f"expected the rule not to match at all, it matched: {mine.matched!r}")
    if not matched:
        return ok
    assert leading is not None
    fields = case.get("fields", {})
    if not isinstance(fields, Mapping):
        return fail("fields: must map field names to expected values")
    wrong = {
        str(k): leading.fields.get(str(k))
        for k, v in fields.items()
        if leading.fields.get(str(k)) != (None if v is None else str(v))
    }
    if wrong:
        return fail(f"fields differ: expected {dict(fields)!r}, got {wrong!r}")
    contains = case.get("contains", [])
    if contains:
        if not isinstance(contains, list) or not all(isinstance(c, str) for c in contains):
            return fail("contains: must be a list of strings")
        shown = f"{leading.title}\n{leading.explanation}"
        missing = [c for c in contains if c not in shown]
        if missing:
            return fail(f"title + explanation lack {missing!r}: {shown!r}")
    return ok


def _run_case(
    rule: Rule, case: object, index: int, path: Path, catalog: Catalog | None = None
) -> CaseResult:
    if not isinstance(case, Mapping):
        return CaseResult(rule.id, f"#{index + 1}", "", False, "a case must be a mapping", path)
    name = str(case.get("name") or f"#{index + 1}")
    expect = case.get("expect")

    def fail(message: str) -> CaseResult:
        return CaseResult(rule.id, name, str(expect or ""), False, message, path)

    unknown = set(case) - _CASE_KEYS
    if unknown:
        return fail(f"unknown fields {', '.join(sorted(map(str, unknown)))}")
    if expect not in EXPECTS:
        return fail(f"expect: {expect!r} must be match or no_match")
    if "text" in case:
        return _run_text_case(rule, case, name, path, catalog)
    if "fields" in case or "absent" in case:
        return fail("fields, absent: only for text cases")
    if rule.observations is None:
        return fail("the rule has no match.observations to run observation cases against")
    raw_observations = case.get("observations")
    if not isinstance(raw_observations, list):
        return fail("observations: required, a list")
    try:
        target = parse_target(case.get("target"))
        observations = [
            parse_observation(o, target.raw, f"observations[{i}]")
            for i, o in enumerate(raw_observations)
        ]
    except (CaseError, ValueError) as exc:
        return fail(str(exc))
    only_rule = Catalog(rules=(rule,))
    findings = [f for f in evaluate(only_rule, target, observations) if f.rule == rule.id]
    matched = bool(findings)
    if expect == "match" and not matched:
        return fail("expected a match, the rule did not fire: " + rule.describe_match())
    if expect == "no_match" and matched:
        return fail(f"expected no match, the rule fired: {findings[0].title}")
    contains = case.get("contains", [])
    if contains:
        if not isinstance(contains, list) or not all(isinstance(c, str) for c in contains):
            return fail("contains: must be a list of strings")
        if not matched:
            return fail("contains: only makes sense with expect: match")
        shown = f"{findings[0].title}\n{findings[0].explanation}"
        missing = [c for c in contains if c not in shown]
        if missing:
            return fail(f"title + explanation lack {missing!r}: {shown!r}")
    return CaseResult(rule.id, name, str(expect), True, "", path)


def run_cases(rule: Rule, cases_path: Path, catalog: Catalog | None = None) -> list[CaseResult]:
    """Run every case of ``cases_path`` against ``rule`` (text cases against ``catalog``
    too, when given: see the module docstring)."""
    try:
        data = load_yaml(cases_path)
    except ValueError as exc:
        return [CaseResult(rule.id, cases_path.name, "", False, str(exc), cases_path)]
    cases: Any = data.get("cases") if isinstance(data, Mapping) else None
    if not isinstance(cases, list) or not cases:
        message = "must hold a mapping with a non-empty `cases:` list"
        return [CaseResult(rule.id, cases_path.name, "", False, message, cases_path)]
    return [_run_case(rule, case, i, cases_path, catalog) for i, case in enumerate(cases)]


def run_catalog_cases(catalog: Catalog) -> list[CaseResult]:
    """Run every rule's cases; a rule without a cases file, or without both a ``match``
    and a ``no_match`` case, yields a failed result."""
    results: list[CaseResult] = []
    for rule in catalog.rules:
        path = cases_path_for(rule)
        if path is None or not path.is_file():
            results.append(
                CaseResult(rule.id, "cases file", "", False, f"missing {rule.id}{CASES_SUFFIX}")
            )
            continue
        rule_results = run_cases(rule, path, catalog)
        results.extend(rule_results)
        for expect in EXPECTS:
            if not any(r.expect == expect for r in rule_results):
                message = f"needs at least one `expect: {expect}` case"
                results.append(
                    CaseResult(rule.id, f"has a {expect} case", expect, False, message, path)
                )
            if rule.text is not None and not any(
                r.expect == expect and r.text for r in rule_results
            ):
                message = f"has match.text, so needs a `text:` case with `expect: {expect}`"
                results.append(
                    CaseResult(rule.id, f"has a text {expect} case", expect, False, message, path)
                )
    return results
