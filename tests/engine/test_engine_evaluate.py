"""Evaluation: one finding per rule, templates filled, findings sorted, the first leads."""

from __future__ import annotations

from pathlib import Path

from regdoctor.engine import RULE_INVALID, Catalog, evaluate, load_catalog
from regdoctor.engine.loader import load_rule
from regdoctor.engine.schema import RuleLoadError
from regdoctor.model import Observation, Severity
from tests.engine.engine_helpers import obs, target, write_rule


def bundled_rules() -> Catalog:
    """The bundled rules without any load errors (those are the catalog test's concern)."""
    return Catalog(rules=load_catalog().rules)


def catalog_of(tmp_path: Path, *specs: dict) -> Catalog:
    rules = []
    for spec in specs:
        spec = dict(spec)
        rules.append(load_rule(write_rule(tmp_path, spec.pop("id"), **spec)))
    return Catalog(rules=tuple(rules))


def one_condition(kind: str, **facts) -> dict:
    return {"observations": {"all": [{"kind": kind, "facts": facts}]}}


def test_dns_failure_leads_over_a_later_phase_error():
    catalog = bundled_rules()
    t = target("registry.test:5000/team/app:1.0", repository="team/app", tag="1.0")
    observations = [
        obs(
            "image.manifest",
            ok=False,
            repository="team/app",
            reference="1.0",
            outcome="manifest_unknown",
            status=404,
        ),
        obs("dns.answer", ok=False, name="registry.test", role="registry", outcome="timeout"),
    ]
    findings = evaluate(catalog, t, observations)
    assert [f.rule for f in findings] == ["dns-failure", "image-manifest-unknown"]
    assert findings[0].leading and not findings[1].leading
    assert findings[0].phase == "dns" and findings[0].observations == (1,)


def test_severity_comes_before_phase():
    catalog = bundled_rules()
    observations = [
        obs(
            "dns.system",
            name="registry.test",
            addresses=["192.0.2.9"],
            source="/etc/hosts",
            dns_addresses=["192.0.2.10"],
        ),
        obs(
            "image.manifest",
            ok=False,
            repository="a",
            reference="1",
            outcome="server_error",
            status=500,
        ),
    ]
    findings = evaluate(catalog, target(), observations)
    assert [(f.rule, f.severity) for f in findings] == [
        ("image-server-error", Severity.ERROR),
        ("dns-hosts-override", Severity.WARNING),
    ]
    assert findings[0].leading


def test_priority_then_id_break_ties(tmp_path):
    catalog = catalog_of(
        tmp_path,
        {"id": "b-low", "priority": 0},
        {"id": "a-low", "priority": 0},
        {"id": "c-high", "priority": 50},
    )
    findings = evaluate(catalog, target(), [obs("dns.answer", outcome="nxdomain")])
    assert [f.rule for f in findings] == ["c-high", "a-low", "b-low"]
    assert [f.leading for f in findings] == [True, False, False]


def test_one_finding_per_rule_with_every_triggering_observation(tmp_path):
    catalog = catalog_of(
        tmp_path, {"id": "refused", "match": one_condition("tcp.connect", outcome="refused")}
    )
    observations = [
        obs("tcp.connect", ok=False, address="192.0.2.1", port=5000, outcome="refused"),
        obs("dns.answer", outcome="answer"),
        obs("tcp.connect", ok=False, address="192.0.2.2", port=5000, outcome="refused"),
    ]
    (finding,) = evaluate(catalog, target(), observations)
    assert finding.observations == (0, 2)
    assert finding.phase == "tcp"
    assert finding.confidence == "high"
    assert finding.target == "registry.test:5000"


def test_phase_is_that_of_the_first_condition(tmp_path):
    match = {
        "observations": {
            "all": [
                {"kind": "auth.result", "facts": {"realm_scheme": "http"}},
                {"kind": "http.response", "step": "v2", "facts": {"scheme": "https"}},
            ]
        }
    }
    catalog = catalog_of(tmp_path, {"id": "two", "match": match})
    observations = [
        obs("http.response", step="v2", scheme="https"),
        obs("auth.result", realm_scheme="http"),
    ]
    (finding,) = evaluate(catalog, target(), observations)
    assert finding.phase == "auth"
    assert finding.observations == (0, 1)


def test_none_blocks_and_any_needs_one(tmp_path):
    match = {
        "observations": {
            "any": [
                {"kind": "tcp.connect", "facts": {"outcome": "timeout"}},
                {"kind": "tcp.connect", "facts": {"outcome": "unreachable"}},
            ],
            "none": [{"kind": "tcp.connect", "facts": {"outcome": "connected"}}],
        }
    }
    catalog = catalog_of(tmp_path, {"id": "anyone", "match": match})
    assert evaluate(catalog, target(), [obs("tcp.connect", outcome="unreachable")])
    assert not evaluate(catalog, target(), [obs("tcp.connect", outcome="refused")])
    assert not evaluate(
        catalog,
        target(),
        [obs("tcp.connect", outcome="timeout"), obs("tcp.connect", outcome="connected")],
    )


def test_template_context(tmp_path):
    catalog = catalog_of(
        tmp_path,
        {
            "id": "ctx",
            "title": "{registry} {host} {port} {hostport} {scheme} {image} {target}",
            "explanation": "{name} {outcome} {missing} {peer} {error} {kind} {phase}",
            "match": {
                "observations": {
                    "all": [
                        {"kind": "tls.verify", "facts": {"reason": "expired"}},
                        {"kind": "dns.answer"},
                    ]
                }
            },
        },
    )
    t = target("registry.test:5000/team/app:1.0", repository="team/app", tag="1.0")
    observations = [
        obs("dns.answer", name="registry.test", outcome="answer"),
        obs(
            "tls.verify",
            ok=False,
            error="x509 says no",
            host="auth.test",
            port=8443,
            reason="expired",
            outcome="first-wins",
        ),
    ]
    (finding,) = evaluate(catalog, t, observations)
    assert finding.title == (
        "registry.test:5000 registry.test 5000 registry.test:5000 ? "
        "registry.test:5000/team/app:1.0 registry.test:5000/team/app:1.0"
    )
    # facts of the first condition's observation win; target names win over facts
    assert finding.explanation == (
        "registry.test first-wins ? auth.test:8443 x509 says no tls.verify tls"
    )
    assert finding.remediation[0].text == "Fix it on registry.test."
    assert finding.remediation[0].commands == {"docker": "docker login registry.test:5000"}


def test_digest_reference_in_image():
    from regdoctor.engine.evaluate import target_context

    t = target("r.test:443/app@sha256:abc", repository="app", digest="sha256:abc")
    assert target_context(t)["image"] == "r.test:443/app@sha256:abc"
    assert target_context(target())["image"] is None


def test_load_errors_become_warning_findings(tmp_path):
    (tmp_path / "broken.yaml").write_text("id: [\n")
    catalog = load_catalog([tmp_path], bundled=False)
    findings = evaluate(catalog, target(), [])
    (finding,) = findings
    assert finding.rule == RULE_INVALID
    assert finding.category == "other"
    assert finding.severity is Severity.WARNING
    assert "broken.yaml" in finding.title and "invalid YAML" in finding.explanation
    assert finding.leading


def test_load_error_findings_sort_after_target_warnings(tmp_path):
    catalog = Catalog(
        rules=bundled_rules().rules,
        errors=(RuleLoadError(tmp_path / "x.yaml", ("category: bad",)),),
    )
    observations = [
        obs("dns.system", name="n", addresses=["192.0.2.9"], source="/etc/hosts", dns_addresses=[])
    ]
    findings = evaluate(catalog, target(), observations)
    assert [f.rule for f in findings] == ["dns-hosts-override", RULE_INVALID]


def test_text_only_rules_are_skipped_live(tmp_path):
    catalog = catalog_of(
        tmp_path, {"id": "paste-only", "match": {"text": {"any": [{"regex": "x509"}]}}}
    )
    assert evaluate(catalog, target(), [obs("dns.answer", outcome="nxdomain")]) == []


def test_no_observations_no_findings():
    assert evaluate(bundled_rules(), target(), []) == []


def test_an_info_note_never_leads():
    from regdoctor.engine import load_catalog

    observations = [
        Observation(
            kind="runtime.path",
            target="t",
            ok=True,
            phase="http",
            facts={"runtime": "docker", "outcome": "pulls", "plain_http": True},
        ),
    ]
    findings = evaluate(load_catalog(), target(), observations)
    assert findings and all(f.severity is Severity.INFO for f in findings)
    assert not any(f.leading for f in findings)


def test_a_failed_phase_no_rule_explains_is_an_error():
    from regdoctor.engine.evaluate import RULE_UNEXPLAINED

    failed = Observation(
        kind="phase.failed",
        target="t",
        ok=False,
        phase="auth",
        facts={"phase": "auth", "status": "failed"},
        error="HTTP 307",
    )
    findings = evaluate(load_catalog(), target(), [failed])
    assert [f.rule for f in findings] == [RULE_UNEXPLAINED]
    assert findings[0].severity is Severity.ERROR and findings[0].leading
    assert "HTTP 307" in findings[0].explanation
    # when a rule already names an error, the safety net stays out of the way
    refused = Observation(
        kind="tcp.connect",
        target="t",
        ok=False,
        phase="tcp",
        facts={"role": "registry", "outcome": "refused", "address": "192.0.2.1", "port": 443},
    )
    findings = evaluate(load_catalog(), target(), [refused, failed])
    assert RULE_UNEXPLAINED not in [f.rule for f in findings]


def test_the_proxy_in_the_path_is_named_by_host_and_port(tmp_path):
    """``via_proxy``: the target's proxy.configured observation, whichever observation
    triggered the rule, as host:port (the URL with its credentials never reaches it)."""
    catalog = catalog_of(
        tmp_path,
        {
            "id": "ctx",
            "title": "t",
            "explanation": "missing.{if via_proxy} Through {via_proxy} ({via_proxy_env}).{end}",
            "match": {"observations": {"all": [{"kind": "image.manifest", "ok": False}]}},
        },
    )
    t = target("registry.test:5000/team/app:1.0", repository="team/app", tag="1.0")
    manifest = obs("image.manifest", ok=False, outcome="manifest_unknown")
    proxy = obs(
        "proxy.configured",
        proxy="http://user:****@192.0.2.3:3128",
        env="HTTPS_PROXY",
        proxy_hostport="192.0.2.3:3128",
    )
    (finding,) = evaluate(catalog, t, [proxy, manifest])
    assert finding.explanation == "missing. Through 192.0.2.3:3128 (HTTPS_PROXY)."
    (finding,) = evaluate(catalog, t, [manifest])
    assert finding.explanation == "missing."


def test_the_proxy_variable_is_the_one_for_the_request_s_scheme(tmp_path):
    """``via_proxy_env``: the DNS phase names HTTPS_PROXY (the first attempt is https),
    but a 407 to the plain-HTTP request an insecure registry's pull went on to came
    through HTTP_PROXY's proxy: Go's ProxyFromEnvironment picks by the URL's scheme, and
    a fix must put the login there."""
    catalog = catalog_of(
        tmp_path,
        {
            "id": "ctx",
            "title": "t",
            "explanation": "via {via_proxy_env}",
            "match": {
                "observations": {"all": [{"kind": "http.response", "facts": {"status": 407}}]}
            },
        },
    )
    proxy = obs("proxy.configured", env="HTTPS_PROXY", proxy_hostport="192.0.2.3:3128")

    def answer(url: str) -> Observation:
        return obs("http.response", ok=False, url=url, status=407, proxy="http://192.0.2.3:3128")

    t = target("registry.test:5000/team/app:1.0")
    (finding,) = evaluate(catalog, t, [proxy, answer("http://registry.test:5000/v2/")])
    assert finding.explanation == "via HTTP_PROXY"
    (finding,) = evaluate(catalog, t, [proxy, answer("https://registry.test:5000/v2/")])
    assert finding.explanation == "via HTTPS_PROXY"


def test_the_proxy_named_is_the_one_the_request_went_through(tmp_path):
    """HTTPS_PROXY and HTTP_PROXY name two proxies: the 407 to the plain-HTTP request
    came from HTTP_PROXY's, so the fix names that proxy with that variable (never the
    other proxy's host under HTTP_PROXY), by host and port only."""
    catalog = catalog_of(
        tmp_path,
        {
            "id": "ctx",
            "title": "t",
            "explanation": "{via_proxy} from {via_proxy_env}",
            "match": {
                "observations": {"all": [{"kind": "http.response", "facts": {"status": 407}}]}
            },
        },
    )
    proxy = obs("proxy.configured", env="HTTPS_PROXY", proxy_hostport="192.0.2.3:3128")
    answer = obs(
        "http.response",
        ok=False,
        url="http://registry.test:5000/v2/",
        status=407,
        proxy="http://user:****@198.51.100.4:8080",
    )
    t = target("registry.test:5000/team/app:1.0")
    (finding,) = evaluate(catalog, t, [proxy, answer])
    assert finding.explanation == "198.51.100.4:8080 from HTTP_PROXY"


def test_the_pod_s_pull_secret_fills_secret_and_namespace(tmp_path):
    """``config.endpoint``'s pod_secret (the Secret the kubelet authenticates with) fills
    ``{secret}`` and ``{namespace}``, and ``pod_secret_key`` names its entry; a
    triggering fact of the same name wins (a k8s.pull_secret finding's own secret)."""
    catalog = catalog_of(
        tmp_path,
        {
            "id": "ctx",
            "title": "t",
            "explanation": "{secret} in {namespace} at {pod_secret_key}.",
            "match": {"observations": {"all": [{"kind": "image.manifest", "ok": False}]}},
        },
    )
    t = target("registry.test:5000/team/app:1.0", repository="team/app", tag="1.0")
    endpoint = obs(
        "config.endpoint",
        pod_secret="team-pull",
        pod_secret_namespace="ci",
        pod_secret_key="https://registry.test:5000/v1/",
    )
    (finding,) = evaluate(catalog, t, [endpoint, obs("image.manifest", ok=False)])
    assert finding.explanation == "team-pull in ci at https://registry.test:5000/v1/."
    manifest = obs("image.manifest", ok=False, secret="own", namespace="shop")
    (finding,) = evaluate(catalog, t, [endpoint, manifest])
    assert finding.explanation.startswith("own in shop at ")


def test_a_pod_secret_the_kubelet_skips_fills_secret_and_namespace(tmp_path):
    """``pod_secret_unmatched`` (the pod names a Secret with no entry the kubelet uses
    for the image) fills ``{secret}`` and ``{namespace}`` when nothing else does: the
    fix adds the entry to the pod's own Secret; ``pod_secret_key`` stays unset."""
    catalog = catalog_of(
        tmp_path,
        {
            "id": "ctx",
            "title": "t",
            "explanation": "{secret} in {namespace}{if pod_secret_key} at {pod_secret_key}{end}.",
            "match": {"observations": {"all": [{"kind": "image.manifest", "ok": False}]}},
        },
    )
    t = target("registry.test:5000/team/app:1.0", repository="team/app", tag="1.0")
    endpoint = obs(
        "config.endpoint",
        pod_secret_unmatched="team-pull",
        pod_secret_unmatched_namespace="ci",
    )
    (finding,) = evaluate(catalog, t, [endpoint, obs("image.manifest", ok=False)])
    assert finding.explanation == "team-pull in ci."
