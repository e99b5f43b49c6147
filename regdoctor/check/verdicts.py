"""Per-runtime verdicts: would docker, containerd, podman, the kubelet pull this?

For each runtime in scope, walk its endpoints (:mod:`regdoctor.check.routes`, from the
runtime model) the way that runtime does: each endpoint's outcome is read from what the
probes observed (the host's DNS and TCP, the HTTPS handshake and its verification, and
the requests made after it over the scheme the probes went on with); a failure moves the
runtime to its next endpoint only where the runtime model says it does. The first
endpoint that works is where the runtime pulls from.

The rules still do all the judging: a verdict's category and reason are those of the
leading finding that applies to the runtime, and a finding applies to a runtime when
its evidence lies on that runtime's path (an error finding only when the runtime fails
there). A runtime that pulls has status ``ok``, or ``warning`` when a warning finding
applies to it (a dead mirror it falls back from, a slow registry).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from regdoctor import runtime as model
from regdoctor.check.routes import Route, Routes
from regdoctor.model import (
    PHASES,
    Finding,
    Observation,
    PhaseStatus,
    RuntimeVerdict,
    Severity,
    TargetReport,
)

__all__ = ["judge_runtimes"]

Kind = model.ErrorKind

#: Parts of a target's observations, by phase: which runtimes touched them.
_HOST_PHASES = frozenset({"dns", "tcp"})
_POST_PHASES = frozenset({"http", "auth", "image"})
_FAILED = (PhaseStatus.FAILED, PhaseStatus.CRASHED)
_ORDER = ("docker", "containerd", "podman", "kubernetes")
#: The reason of a runtime that lacks a CA another runtime has.
UNTRUSTED_HERE = "certificate signed by unknown authority (its CA is not where this runtime looks)"


@dataclass
class _Seen:
    """What the probes saw of one target, as the walk needs it."""

    host_failure: tuple[Kind, str] | None = None
    https: str | None = None  # the handshake outcome (ok, plain_http, timeout, ...)
    https_error: str | None = None
    verify_ok: bool = True
    verify_error: str | None = None
    verify_reason: str = "ok"
    #: per runtime: does its own trust set anchor the chain (None: not known)
    trusted_by: dict[str, bool] = field(default_factory=dict)
    trusted_with: str | None = None  # a CA file that anchors it, for another runtime
    went_on: str | None = None  # the scheme the later phases used (https/http/None)
    post_failure: tuple[Kind, str] | None = None  # after TLS: /v2/, auth, manifest
    tls_cut: bool = False  # the handshake was cut by regdoctor's own --timeout


@dataclass
class _Walk:
    """One runtime's way through its endpoints."""

    ok: bool = False
    endpoint: str | None = None
    failure: tuple[Kind, str] | None = None
    parts: set[str] = field(default_factory=set)  # host, https, post
    failed_part: str | None = None
    fell_back: list[str] = field(default_factory=list)  # "url: why" of endpoints left
    mirror_failed: bool = False  # a mirror failed and the runtime went on
    plain_http: bool = False
    unobserved: str | None = None


def judge_runtimes(
    reports: Sequence[TargetReport], routes: Routes, rule_dirs: Sequence[Path] = ()
) -> list[TargetReport]:
    """Each report with its per-runtime verdicts and its findings' runtimes."""
    by_host: dict[str, TargetReport] = {}
    for report in reports:
        if report.target.kind == "registry":
            known = by_host.get(report.target.registry)
            # a mirror checked with the image (not only as a registry) says more
            if known is None or (report.target.repository and not known.target.repository):
                by_host[report.target.registry] = report
    return [_judge(report, routes, by_host, rule_dirs) for report in reports]


def _judge(
    report: TargetReport,
    routes: Routes,
    by_host: dict[str, TargetReport],
    rule_dirs: Sequence[Path],
) -> TargetReport:
    if report.target.kind == "config":
        return _judge_config(report, routes)
    seen = _seen(report)
    addresses = _addresses(report.observations)
    verdicts: dict[str, RuntimeVerdict] = {}
    walks: dict[str, _Walk] = {}
    paths: list[Observation] = []
    for runtime in routes.runtimes:
        route = routes.route(runtime, report.target, addresses)
        if route.stopped is not None:
            verdicts[runtime] = RuntimeVerdict(
                runtime,
                "error",
                _stopped_reason(runtime, route),
                category="config.invalid",
            )
            paths.append(_stopped_observation(report, runtime, route))
            continue
        walks[runtime] = _walk(runtime, route, report, seen, by_host)
        paths.append(_path_observation(report, runtime, walks[runtime], seen, route))
    # The rules judge the runtimes' paths too (runtime.path observations): a fix that
    # only one runtime needs comes from a rule about that runtime.
    from regdoctor.check.catalog import catalog
    from regdoctor.engine import evaluate

    judged = replace(report, observations=(*report.observations, *paths))
    findings = evaluate(catalog(rule_dirs), judged.target, judged.observations)
    findings = [_with_runtimes(f, judged, walks) for f in findings]
    for runtime, walk in walks.items():
        verdicts[runtime] = _verdict(runtime, walk, findings, seen)
    for runtime, verdict in list(verdicts.items()):
        lead = _leading(findings, runtime, Severity.ERROR)
        if runtime not in walks and lead is not None:
            verdicts[runtime] = replace(verdict, category=lead.category)
    ordered = {r: verdicts[r] for r in routes.runtimes if r in verdicts}
    return replace(judged, findings=tuple(findings), runtimes=ordered)


def _path_observation(
    report: TargetReport, runtime: str, walk: _Walk, seen: _Seen, route: Route
) -> Observation:
    """``runtime.path``: how one runtime's pull of the target goes, for the rules."""
    from regdoctor.check.routes import VERSIONS

    kind, error = walk.failure if (walk.failure and not walk.ok) else (None, None)
    phase = {"host": "tcp", "https": "tls", "post": "http"}.get(walk.failed_part or "", "http")
    target = report.target
    return Observation(
        kind="runtime.path",
        target=target.id,
        ok=walk.ok,
        phase=phase if not walk.ok else "http",
        facts={
            "runtime": runtime,
            "version": VERSIONS.get(runtime),
            "outcome": "pulls" if walk.ok else "fails",
            "endpoint": walk.endpoint,
            "scheme": (walk.endpoint or "").partition("://")[0] or None,
            "kind": str(kind) if kind is not None else None,
            "plain_http": walk.plain_http,
            "fell_back": list(walk.fell_back),
            "mirror_failed": walk.mirror_failed,
            "unobserved": walk.unobserved,
            "registry": target.registry,
            "hostport": target.hostport,
            "tls_cut": seen.tls_cut,
            "hosts_toml": route.hosts_toml,
            "hosts_ignored": route.hosts_ignored,
            "lacks_ca": bool(walk.failure and walk.failure[1] == UNTRUSTED_HERE and not walk.ok),
            "endpoint_host": _host_of(walk.endpoint),
            "drops_port": _drops_port(walk.endpoint, target.registry) and not walk.ok,
            "ca_elsewhere": seen.trusted_with,
            "index": target.registry.removesuffix(":443"),
        },
        error=error,
    )


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    return url.partition("://")[2].split("/", 1)[0] or None


def _drops_port(url: str | None, registry: str) -> bool:
    """The endpoint names the registry's host without the port the image names (a
    hosts.toml ``server = "http://host"`` for ``host:5000``: port 80 is dialled)."""
    host = _host_of(url)
    name, sep, port = registry.rpartition(":")
    return bool(host and sep and port.isdigit() and host == name)


def _stopped_observation(report: TargetReport, runtime: str, route: Route) -> Observation:
    return Observation(
        kind="runtime.path",
        target=report.target.id,
        ok=False,
        phase="config",
        facts={
            "runtime": runtime,
            "outcome": "stopped",
            "message": route.stopped,
            "file": route.stopped_source,
            "registry": report.target.registry,
            **(
                {"fix_key": route.fix[0], "fix_bad": route.fix[1], "fix_good": route.fix[2]}
                if route.fix is not None
                else {}
            ),
        },
        error=_stopped_reason(runtime, route),
        source=route.stopped_source,
    )


def _stopped_reason(runtime: str, route: Route) -> str:
    where = f" ({route.stopped_source})" if route.stopped_source else ""
    if runtime == "docker":
        return f"dockerd will not start{where}: {route.stopped}"
    return f"{runtime} cannot pull{where}: {route.stopped}"


# -- what was seen ------------------------------------------------------------------------


def _addresses(observations: Sequence[Observation]) -> list[str]:
    for o in observations:
        if o.kind == "dns.answer" and o.facts.get("role", "registry") == "registry" and o.ok:
            addresses = o.facts.get("addresses")
            if isinstance(addresses, list):
                return [str(a) for a in addresses]
    return []


def _phase(report: TargetReport, name: str) -> PhaseStatus | None:
    return next((p.status for p in report.phases if p.name == name), None)


def _phase_error(report: TargetReport, name: str) -> str:
    phase = next((p for p in report.phases if p.name == name), None)
    return (phase.error or phase.reason or "") if phase is not None else ""


def _seen(report: TargetReport) -> _Seen:
    seen = _Seen()
    if _phase(report, "dns") in _FAILED:
        seen.host_failure = (Kind.DNS, _phase_error(report, "dns"))
    elif _phase(report, "tcp") in _FAILED:
        seen.host_failure = (Kind.CONNECT, _phase_error(report, "tcp"))
    handshake = next(
        (
            o
            for o in report.observations
            if o.kind == "tls.handshake" and o.facts.get("role", "registry") == "registry"
        ),
        None,
    )
    if handshake is not None:
        seen.https = str(handshake.facts.get("outcome") or "failed")
        seen.https_error = handshake.error
        seen.went_on = str(handshake.facts.get("scheme_decision") or "https")
        seen.tls_cut = seen.https == "timeout" and bool(handshake.facts.get("cut_by_timeout"))
    elif _phase(report, "tls") is PhaseStatus.NOT_APPLICABLE and report.target.scheme == "http":
        seen.went_on = "http"
    verify = next(
        (
            o
            for o in report.observations
            if o.kind == "tls.verify" and o.facts.get("role", "registry") == "registry"
        ),
        None,
    )
    if verify is not None and verify.facts.get("reason") not in (None, "ok"):
        seen.verify_ok = False
        seen.verify_error = verify.error
        seen.verify_reason = str(verify.facts.get("reason"))
    if verify is not None and isinstance(verify.facts.get("trusted_by"), dict):
        seen.trusted_by = {str(k): bool(v) for k, v in verify.facts["trusted_by"].items()}
        seen.trusted_with = verify.facts.get("trusted_with")
    if _phase(report, "tls") in _FAILED and seen.went_on == "https" and seen.https == "ok":
        seen.went_on = None  # stopped at verification: nothing observed after it
    if seen.went_on is not None:
        for name in ("http", "auth", "image"):
            if _phase(report, name) in _FAILED:
                seen.post_failure = (_post_kind(report, name), _phase_error(report, name))
                break
    return seen


def _post_kind(report: TargetReport, phase: str) -> Kind:
    """The runtime model's kind of a failure after TLS, from the failing observation."""
    failing = next(
        (o for o in report.observations if o.phase == phase and not o.ok),
        None,
    )
    if failing is None:
        return Kind.SERVER_ERROR
    status = failing.facts.get("status")
    outcome = str(failing.facts.get("outcome") or "")
    codes = " ".join(str(c) for c in failing.facts.get("error_codes") or [])
    if "timeout" in outcome:
        return Kind.TIMEOUT
    if status == 401 or "UNAUTHORIZED" in codes or outcome in ("unauthorized", "rejected"):
        return Kind.UNAUTHORIZED
    if status == 403 or "DENIED" in codes or outcome == "denied":
        return Kind.DENIED
    if status == 404 or "UNKNOWN" in codes or outcome in ("manifest_unknown", "name_unknown"):
        return Kind.NOT_FOUND
    if status == 429 or "TOOMANYREQUESTS" in codes:
        return Kind.TOO_MANY_REQUESTS
    if outcome == "http_on_https":
        return Kind.HTTP_ON_HTTPS
    if outcome in ("refused", "unreachable", "connect_error"):
        return Kind.CONNECT
    return Kind.SERVER_ERROR


# -- one runtime's walk -------------------------------------------------------------------


def _own(endpoint: model.Endpoint, report: TargetReport) -> bool:
    from regdoctor.check.routes import endpoint_is_target

    return endpoint_is_target(endpoint, report.target)


def _https_outcome(seen: _Seen, skip_verify: bool, runtime: str = "") -> tuple[Kind, str] | None:
    """None when HTTPS gets through (TLS, and verification unless skipped), for the
    runtime's own trust set (its certs.d, its hosts.toml ``ca``)."""
    outcome = seen.https
    if outcome is None:
        return Kind.TLS, "HTTPS was not tried (http:// given)"
    if outcome == "ok":
        if skip_verify:
            return None
        trusted = seen.trusted_by.get(runtime)
        authority = seen.verify_reason in ("unknown_authority", "self_signed")
        if seen.verify_ok and trusted is False:
            return Kind.TLS, UNTRUSTED_HERE
        if seen.verify_ok or (authority and trusted):
            return None
        return Kind.TLS, seen.verify_error or "certificate verification failed"
    if outcome == "plain_http":
        return Kind.HTTP_ON_HTTPS, "server gave HTTP response to HTTPS client"
    if outcome == "timeout":
        return Kind.TIMEOUT, seen.https_error or "TLS handshake timeout"
    if outcome in ("refused", "unreachable"):
        return Kind.CONNECT, seen.https_error or outcome
    return Kind.TLS, seen.https_error or f"TLS handshake failed ({outcome})"


def _walk(
    runtime: str,
    route: Route,
    report: TargetReport,
    seen: _Seen,
    by_host: dict[str, TargetReport],
) -> _Walk:
    walk = _Walk()
    previous: tuple[Kind, str] | None = None
    endpoints = list(route.endpoints)
    for index, endpoint in enumerate(endpoints):
        last = index == len(endpoints) - 1
        if not _own(endpoint, report):
            checked, result = _elsewhere(endpoint, by_host)
            if not checked:
                walk.fell_back.append(f"{endpoint.url}: not checked in this run")
                continue
        else:
            if (
                runtime == "docker"
                and endpoint.scheme == "http"
                and previous is not None
                and not model.docker_tries_plain_http_after(previous[0])
            ):
                continue  # dockerd skips http:// once https answered over TLS
            result = _here(endpoint, seen, walk, runtime)
        if result is None:
            walk.ok, walk.endpoint = True, endpoint.url
            walk.plain_http = walk.plain_http or endpoint.scheme == "http"
            return walk
        previous = result
        walk.failure, walk.endpoint = result, endpoint.url
        if last or not model.falls_back(_model_name(runtime), result[0], mirror=endpoint.mirror):
            return walk
        walk.fell_back.append(f"{endpoint.url}: {result[1]}")
        walk.mirror_failed = walk.mirror_failed or endpoint.mirror
    return walk


def _model_name(runtime: str) -> str:
    return "containerd" if runtime == "kubernetes" else runtime


def _here(
    endpoint: model.Endpoint, seen: _Seen, walk: _Walk, runtime: str
) -> tuple[Kind, str] | None:
    """The outcome of one of the target's own endpoints; records the parts touched."""
    walk.parts.add("host")
    if seen.host_failure is not None:
        walk.failed_part = "host"
        return seen.host_failure
    if endpoint.scheme == "https":
        walk.parts.add("https")
        failure = _https_outcome(seen, endpoint.skip_verify, runtime)
        if (
            failure is not None
            and endpoint.http_fallback
            and failure[0]
            in (
                Kind.TLS,
                Kind.HTTP_ON_HTTPS,
                Kind.CONNECT,
            )
        ):
            plain = _plain(seen, walk)
            if plain is None or seen.went_on == "http":
                return plain
        if failure is not None:
            walk.failed_part = "https"
            return failure
        if seen.went_on != "https":
            walk.unobserved = "the requests after the TLS handshake"
            return Kind.TLS, "not observed"
        return _post(seen, walk)
    return _plain(seen, walk)


def _plain(seen: _Seen, walk: _Walk) -> tuple[Kind, str] | None:
    """An ``http://`` endpoint of the target's own host."""
    if seen.went_on == "http":
        walk.plain_http = True
        return _post(seen, walk)
    if seen.https == "ok":
        walk.failed_part = "https"
        return Kind.HTTP_ON_HTTPS, "the server speaks TLS on this port: http:// gets no registry"
    walk.unobserved = "plain HTTP"
    walk.failed_part = "https"
    return Kind.CONNECT, "plain HTTP was not tried after the HTTPS failure"


def _post(seen: _Seen, walk: _Walk) -> tuple[Kind, str] | None:
    walk.parts.add("post")
    if seen.post_failure is not None:
        walk.failed_part = "post"
        return seen.post_failure
    return None


def _elsewhere(
    endpoint: model.Endpoint, by_host: dict[str, TargetReport]
) -> tuple[bool, tuple[Kind, str] | None]:
    """A mirror's outcome, from its own report in this run: (checked, failure)."""
    host = endpoint.host
    report = by_host.get(host) or by_host.get(host.removesuffix(":443"))
    if report is None:
        return False, None
    for name in ("dns", "tcp", "tls", "http", "image"):
        if _phase(report, name) in _FAILED:
            kind = {"dns": Kind.DNS, "tcp": Kind.CONNECT, "tls": Kind.TLS}.get(name)
            return True, (kind or _post_kind(report, name), _phase_error(report, name))
    return True, None


# -- which findings apply to which runtime ------------------------------------------------


def _part_of(finding: Finding, report: TargetReport) -> str:
    phases = {
        report.observations[i].phase for i in finding.observations if i < len(report.observations)
    }
    phases = phases or {finding.phase}
    if phases & _POST_PHASES:
        return "post"
    if "tls" in phases:
        return "https"
    if phases & _HOST_PHASES:
        return "host"
    return "any"


def _config_runtimes(finding: Finding, report: TargetReport) -> set[str] | None:
    """The runtimes a finding on configuration observations names, if it names any."""
    named = {
        str(report.observations[i].facts.get("runtime"))
        for i in finding.observations
        if i < len(report.observations)
        and report.observations[i].kind.startswith("config.")
        and report.observations[i].facts.get("runtime")
    }
    for i in finding.observations:  # an observation that says whom it concerns
        listed = (
            report.observations[i].facts.get("runtimes") if i < len(report.observations) else None
        )
        if isinstance(listed, list):
            named |= {str(r) for r in listed}
            if not listed:
                return set()
    if report.target.runtime and not named:
        named = {report.target.runtime}
    return named or None


def _with_runtimes(finding: Finding, report: TargetReport, walks: dict[str, _Walk]) -> Finding:
    on_paths = {
        str(report.observations[i].facts.get("runtime"))
        for i in finding.observations
        if i < len(report.observations) and report.observations[i].kind == "runtime.path"
    }
    if on_paths:
        return replace(finding, runtimes=tuple(r for r in _ORDER if r in on_paths))
    named = _config_runtimes(finding, report)
    part = _part_of(finding, report)
    applies = []
    for runtime, walk in walks.items():
        if (
            named is not None
            and runtime not in named
            and not (runtime == "kubernetes" and "containerd" in named)
        ):
            continue
        if part != "any" and named is None and part not in walk.parts:
            continue
        # an error on the pull's path counts for a runtime that fails there; one beside
        # the path (an unhealthy Harbor component) counts for every runtime
        on_path = finding.severity is Severity.ERROR and part != "any" and named is None
        if on_path and (walk.ok or walk.failed_part not in (part, None)):
            continue
        applies.append(runtime)
    return replace(finding, runtimes=tuple(applies))


def _leading(findings: Sequence[Finding], runtime: str, severity: Severity) -> Finding | None:
    mine = [f for f in findings if runtime in f.runtimes and f.severity is severity]
    if not mine:
        return None
    leading = [f for f in mine if f.leading]
    if leading:
        return leading[0]
    return min(mine, key=lambda f: PHASES.index(f.phase) if f.phase in PHASES else len(PHASES))


_KIND_CATEGORY = {
    Kind.DNS: "dns.failure",
    Kind.CONNECT: "tcp.refused",
    Kind.TIMEOUT: "tls.handshake",
    Kind.TLS: "tls.handshake",
    Kind.HTTP_ON_HTTPS: "tls.http_on_https",
    Kind.UNAUTHORIZED: "auth.unauthorized",
    Kind.DENIED: "auth.denied",
    Kind.NOT_FOUND: "image.manifest_unknown",
    Kind.TOO_MANY_REQUESTS: "ratelimit",
    Kind.SERVER_ERROR: "server.error",
}


def _verdict(runtime: str, walk: _Walk, findings: Sequence[Finding], seen: _Seen) -> RuntimeVerdict:
    if not walk.ok:
        kind, error = walk.failure or (Kind.SERVER_ERROR, "no endpoint to try")
        lead = _leading(findings, runtime, Severity.ERROR)
        reason = lead.title if lead is not None else error
        if walk.unobserved:
            reason = f"{reason} (regdoctor did not observe {walk.unobserved})"
        if seen.tls_cut and kind is Kind.TIMEOUT:
            reason += "; regdoctor's --timeout cut the handshake, which the runtime waits 10 s for"
        return RuntimeVerdict(
            runtime,
            "error",
            reason,
            endpoint=walk.endpoint,
            category=lead.category if lead is not None else _KIND_CATEGORY.get(kind, "other"),
        )
    beside = _leading(findings, runtime, Severity.ERROR)
    how = f"pulls from {walk.endpoint}"
    if beside is not None:  # it pulls now, but something beside the pull is broken
        return RuntimeVerdict(
            runtime, "error", f"{how}, but {beside.title}", walk.endpoint, beside.category
        )
    warning = _leading(findings, runtime, Severity.WARNING)
    if walk.plain_http:
        how += " over plain HTTP"
    if walk.fell_back:
        how += " after " + "; ".join(walk.fell_back)
    if warning is not None:
        return RuntimeVerdict(
            runtime, "warning", f"{how}: {warning.title}", walk.endpoint, warning.category
        )
    return RuntimeVerdict(runtime, "ok", how, walk.endpoint)


# -- configuration files -----------------------------------------------------------------


def _judge_config(report: TargetReport, routes: Routes) -> TargetReport:
    """A configuration file judged alone: a verdict for the runtime that reads it."""
    owner = report.target.runtime
    runtimes = [
        r
        for r in routes.runtimes
        if owner in (r, None) or (owner == "containerd" and r == "kubernetes")
    ]
    findings = tuple(replace(f, runtimes=tuple(runtimes)) for f in report.findings)
    verdicts = {}
    for runtime in runtimes:
        worst = next((f for f in findings if f.severity is Severity.ERROR), None) or next(
            (f for f in findings if f.severity is Severity.WARNING), None
        )
        if worst is None:
            verdicts[runtime] = RuntimeVerdict(runtime, "ok", "read without problems")
        else:
            status = "error" if worst.severity is Severity.ERROR else "warning"
            verdicts[runtime] = RuntimeVerdict(runtime, status, worst.title, None, worst.category)
    return replace(report, findings=findings, runtimes=verdicts)
