"""Verdicts that name what the runtime really does (review of session 8): unit tests of
one step each (the walk, which findings apply and lead, which targets are probed). The
real clients' agreement is tests/scenarios/runtimes/table_verdict2.py."""

from __future__ import annotations

from dataclasses import replace

from regdoctor.check.pipeline import uncontacted
from regdoctor.check.routes import Route
from regdoctor.check.seen import Kind, Seen
from regdoctor.check.verdicts import _gone_on_from, _lead_on_paths, _with_runtimes
from regdoctor.check.walk import walk_runtime
from regdoctor.model import Finding, RuntimeVerdict, Severity, TargetReport
from regdoctor.model.target import Target
from regdoctor.runtime.common import Endpoint

REGISTRY = "behind.test:5000"


def _report(registry: str = REGISTRY, **target: object) -> TargetReport:
    host, _, port = registry.partition(":")
    spec = Target(
        raw=f"{registry}/team/app:1.2",
        registry=registry,
        host=host,
        port=int(port or 443),
        repository="team/app",
        tag="1.2",
        **target,  # type: ignore[arg-type]
    )
    return TargetReport(spec, {}, (), (), (), 0.0)


def _endpoint(scheme: str, host: str = REGISTRY, **more: object) -> Endpoint:
    fields: dict[str, object] = {
        "url": f"{scheme}://{host}/v2/",
        "scheme": scheme,
        "host": host,
        "path_prefix": "/v2",
        "mirror": False,
        "skip_verify": False,
        "source": "test",
    }
    fields.update(more)
    return Endpoint(**fields)  # type: ignore[arg-type]


def _finding(rule: str, phase: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(rule, "x", severity, "high", "t", phase, rule, "")


# -- HTTP_PROXY alone: the https:// attempt ends in DNS, http:// goes through the proxy ---

UNRESOLVED = Seen(https="unresolved", https_error="behind.test: nxdomain", went_on="http")


def test_podman_goes_on_to_http_after_a_dns_error_and_names_that_url() -> None:
    """containers/image pings http:// after any https:// error of an insecure registry
    (docker_client.go detectPropertiesHelper, v5.23.1), a DNS one too."""
    route = Route("podman", (_endpoint("https", skip_verify=True, http_fallback=True),))
    walk = walk_runtime("podman", route, _report(), UNRESOLVED, {})
    assert walk.ok and walk.endpoint == f"http://{REGISTRY}/v2/"


def test_containerd_does_not_go_on_to_http_after_a_dns_error() -> None:
    """containerd's HTTPFallback retries over http:// after an HTTP answer, a TLS
    handshake timeout or a refused connection, never after a DNS error (review of
    session 8: the walk retried for every endpoint with a fallback): ctr and the CRI
    fail with "lookup ...: no such host"."""
    for runtime in ("containerd", "kubernetes"):
        route = Route(runtime, (_endpoint("https", skip_verify=True, http_fallback=True),))
        walk = walk_runtime(runtime, route, _report(), UNRESOLVED, {})
        assert not walk.ok and walk.failure is not None and walk.failure[0] is Kind.DNS
        assert walk.failed_part == "host"


def test_docker_fails_in_dns_without_http_and_goes_on_with_it() -> None:
    """docker without insecure-registries: https:// only, which ends in the node's DNS
    (the DNS finding is its); with it, dockerd goes on to http:// (moby
    distribution/pull.go Pull: the ping's DNS error is a fallbackError, v20.10)."""
    report = _report()
    alone = walk_runtime("docker", Route("docker", (_endpoint("https"),)), report, UNRESOLVED, {})
    assert not alone.ok and alone.failure is not None and alone.failure[0] is Kind.DNS
    assert alone.failed_part == "host"
    insecure = Route("docker", (_endpoint("https"), _endpoint("http")))
    on = walk_runtime("docker", insecure, report, UNRESOLVED, {})
    assert on.ok and on.endpoint == f"http://{REGISTRY}/v2/"
    dns = _finding("dns-nxdomain", "dns")
    assert _with_runtimes(dns, report, {"docker": alone, "podman": on}).runtimes == ("docker",)


def test_podman_fails_at_its_http_retry_and_the_endpoint_says_http() -> None:
    """The proxy refused the CONNECT, the http:// retry is answered 407: the request that
    failed is the http:// one (podman's message: "pinging container registry ...:
    invalid status code from registry 407")."""
    seen = Seen(
        https="proxy_refused",
        https_error="Proxy Authentication Required",
        went_on="http",
        post_failure=(Kind.SERVER_ERROR, "407 Proxy Authentication Required"),
    )
    route = Route("podman", (_endpoint("https", skip_verify=True, http_fallback=True),))
    walk = walk_runtime("podman", route, _report(), seen, {})
    assert not walk.ok and walk.endpoint == f"http://{REGISTRY}/v2/"


def test_a_tls_port_met_by_the_http_retry_leaves_the_handshake_failure_to_fix() -> None:
    """dockerd's loopback fallback: the handshake failed at a TLS server (it wants a
    client certificate), the http:// retry meets its TLS port and breaks: the TLS
    finding applies to docker (its fix is what makes the pull work)."""
    seen = Seen(
        https="alert",
        https_error="tls alert bad certificate",
        went_on="http",
        post_failure=(Kind.SERVER_ERROR, "connection reset"),
    )
    route = Route("docker", (_endpoint("https"), _endpoint("http")))
    report = _report()
    walk = walk_runtime("docker", route, report, seen, {})
    tls = _with_runtimes(_finding("tls-client-cert-required", "tls"), report, {"docker": walk})
    assert tls.runtimes == ("docker",)


# -- the leading finding applies to a runtime ---------------------------------------------


def test_a_finding_on_no_runtimes_path_does_not_lead() -> None:
    tunnel = replace(_finding("proxy-tunnel-refused", "tcp"), leading=True)
    login = replace(_finding("http-proxy-auth-required", "http"), runtimes=("podman",))
    note = replace(_finding("note", "http", Severity.INFO), runtimes=("podman",))
    led = _lead_on_paths([tunnel, note, login])
    assert [f.rule for f in led if f.leading] == ["http-proxy-auth-required"]
    assert _lead_on_paths([tunnel]) == [replace(tunnel, leading=False)]
    kept = replace(login, leading=True)
    assert _lead_on_paths([kept, tunnel]) == [kept, tunnel]


# -- a mirror (search registry) the runtime goes on from ----------------------------------


def _pair(upstream_status: str) -> tuple[TargetReport, TargetReport]:
    image = replace(
        _report("docker.io"),
        runtimes={"podman": RuntimeVerdict("podman", upstream_status, "r", None)},
    )
    refused = replace(_finding("tcp-refused", "tcp"), runtimes=("podman",), leading=True)
    fallback = replace(
        _finding("mirror-unreachable", "http", Severity.WARNING), runtimes=("podman",)
    )
    mirror = replace(
        _report("secure.test", mirror_of="docker.io", runtime="podman", scheme="https"),
        findings=(refused, fallback),
    )
    return image, mirror


def test_a_search_registry_podman_goes_on_from_lists_it_on_no_error() -> None:
    image, mirror = _pair("ok")
    judged = _gone_on_from(mirror, [image, mirror])
    refused, fallback = judged.findings
    assert refused.runtimes == () and not refused.leading
    assert fallback.runtimes == ("podman",) and fallback.leading


def test_a_search_registry_still_lists_a_runtime_whose_pull_fails() -> None:
    image, mirror = _pair("error")
    assert _gone_on_from(mirror, [image, mirror]) is mirror


# -- hosts no runtime contacts are not probed --------------------------------------------


class _Routes:
    def __init__(self, **routes: Route) -> None:
        self.runtimes = tuple(routes)
        self._routes = routes

    def route(self, runtime: str, target: Target, addresses: object = ()) -> Route:
        return self._routes[runtime]


def test_an_alias_elsewhere_leaves_the_image_host_unprobed() -> None:
    target = _report("registry-1.docker.io").target
    alias = Route("podman", (_endpoint("https", "tls.test:5443"),))
    why = uncontacted(target, _Routes(podman=alias))  # type: ignore[arg-type]
    assert why is not None and "podman pulls it from tls.test:5443" in why
    own = Route("docker", (_endpoint("https", "registry-1.docker.io"),))
    assert uncontacted(target, _Routes(podman=alias, docker=own)) is None  # type: ignore[arg-type]
    stopped = Route("podman", stopped="short-name did not resolve")
    assert uncontacted(target, _Routes(podman=stopped)) is None  # type: ignore[arg-type]


def test_the_tui_checker_skips_a_host_no_runtime_contacts() -> None:
    """The TUI checks target by target (tui/engine_bridge.py): the same skip as check."""
    import asyncio

    from regdoctor.model import PhaseStatus
    from regdoctor.options import CheckOptions
    from regdoctor.tui.engine_bridge import EngineChecker

    target = _report("registry-1.docker.io").target
    alias = Route("podman", (_endpoint("https", "tls.test:5443"),))
    checker = EngineChecker(CheckOptions(timeout=0.5, deadline=1.0), routes=_Routes(podman=alias))  # type: ignore[arg-type]
    report = asyncio.run(checker(target))
    # no probe ran (only the verdict's own runtime.path: podman's walk to tls.test)
    assert [o.kind for o in report.observations] == ["runtime.path"]
    assert {p.status for p in report.phases} == {PhaseStatus.SKIPPED}
