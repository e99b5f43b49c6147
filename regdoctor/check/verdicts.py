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
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from regdoctor.check.routes import Route, Routes
from regdoctor.check.seen import Kind, Said, Seen, addresses_of, seen_of
from regdoctor.check.walk import (
    UNTRUSTED_ENTRY,
    UNTRUSTED_HERE,
    Walk,
    report_for_host,
    walk_runtime,
)
from regdoctor.model import (
    PHASES,
    Finding,
    Observation,
    RuntimeVerdict,
    Severity,
    Target,
    TargetReport,
)

if TYPE_CHECKING:
    from regdoctor.engine.loader import Catalog
    from regdoctor.runtime import Endpoint

__all__ = ["judge_runtimes"]


#: Parts of a target's observations, by phase: which runtimes touched them.
_HOST_PHASES = frozenset({"dns", "tcp"})
_POST_PHASES = frozenset({"http", "auth", "image"})
_ORDER = ("docker", "containerd", "podman", "kubernetes")


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
    # every registry that answers https:// in plain HTTP: podman's insecure fixes for one
    # table (its location and its mirrors) write the same drop-in, so each marks them all
    plain = frozenset(
        report.target.registry
        for report in reports
        if report.target.kind == "registry" and seen_of(report).https == "plain_http"
    )
    judged = [_judge(report, routes, by_host, rule_dirs, plain) for report in reports]
    judged = [_gone_on_from(report, judged) for report in judged]
    judged = [_category_from_elsewhere(report, judged) for report in judged]
    return [_on_no_path(report, routes) for report in judged]


def _on_no_path(report: TargetReport, routes: Routes) -> TargetReport:
    """An error finding that applies to no runtime in scope (a name the node does not
    resolve that every runtime reaches through its proxy, a search registry podman goes
    on from, a CA regdoctor lacks that the runtime has) is true, but it is not what stops
    any pull: it is a warning, so that the summary's counts, the exit code (through a
    configuration target's status), the text, JSON, Markdown, JUnit and metrics outputs
    all say so alike. Without runtimes in scope (a library caller), the rule's severity
    stands."""
    if not routes.runtimes:
        return report
    findings = tuple(
        replace(f, severity=Severity.WARNING)
        if f.severity is Severity.ERROR and not f.runtimes
        else f
        for f in report.findings
    )
    if findings == report.findings:
        return report
    return replace(report, findings=findings)


def _gone_on_from(report: TargetReport, judged: Sequence[TargetReport]) -> TargetReport:
    """A mirror (a registries.conf search registry, a daemon.json mirror) that fails for
    a runtime which then goes on and pulls the image: its error findings are the
    mirror's, not what stops that runtime, so they do not list it (podman tries the
    next search registry after any error: containers/common libimage/pull.go
    copySingleImageFromRegistry, v0.50; dockerd its next endpoint: distribution/pull.go
    Pull, v20.10). The warnings that say it went on (mirror-fallback) still do."""
    target = report.target
    if not target.mirror_of:
        return report
    pulls = {
        runtime
        for other in judged
        if not other.target.mirror_of and _serves(target, other.target)
        for runtime, verdict in other.runtimes.items()
        if verdict.status != "error"
    }
    if not pulls:
        return report
    findings = [
        replace(f, runtimes=tuple(r for r in f.runtimes if r not in pulls))
        if f.severity is Severity.ERROR
        else f
        for f in report.findings
    ]
    # the runtime fails here but pulls the image: this mirror's failure is a warning
    # for it (the mirror-fallback warning lists it), not a failed pull
    verdicts = {
        runtime: replace(verdict, status="warning")
        if runtime in pulls and verdict.status == "error"
        else verdict
        for runtime, verdict in report.runtimes.items()
    }
    if findings == list(report.findings) and verdicts == dict(report.runtimes):
        return report
    return replace(report, findings=tuple(_lead_on_paths(findings)), runtimes=verdicts)


def _serves(mirror: Target, image: Target) -> bool:
    """``mirror`` is a place a runtime pulls ``image`` from. The plan records the images
    a mirror or search registry serves (``mirror_for``): a search registry's repository
    is the short name completed there (``nginx`` at secure.test is secure.test/nginx,
    the image docker.io/library/nginx: containers/image docker/reference adds
    ``library/`` for docker.io only), so the repositories need not be equal. A mirror
    target made elsewhere (without ``mirror_for``) is matched by registry, repository and
    reference."""
    if mirror.mirror_for:
        return image.id in mirror.mirror_for
    return (
        image.registry == mirror.mirror_of
        and image.repository == mirror.repository
        and image.reference == mirror.reference
    )


def _category_from_elsewhere(report: TargetReport, judged: Sequence[TargetReport]) -> TargetReport:
    """A runtime whose pull fails at another host than the target's own (podman's
    registries.conf ``location`` elsewhere, its last search registry) and that has no
    error finding here: the category is that host's report's leading error finding for
    it (x509 unknown authority), not only the kind of failure (a TLS failure)."""
    from urllib.parse import urlsplit

    changed = {}
    for runtime, verdict in report.runtimes.items():
        if verdict.status != "error" or not verdict.endpoint:
            continue
        if _leading(report.findings, runtime, Severity.ERROR) is not None:
            continue
        host = urlsplit(verdict.endpoint).netloc
        if host in (report.target.registry, report.target.host):
            continue
        others = {
            r.target.registry: r for r in judged if r is not report and r.target.kind == "registry"
        }
        other = report_for_host(host, others)
        lead = _leading(other.findings, runtime, Severity.ERROR) if other is not None else None
        if lead is not None:
            changed[runtime] = replace(verdict, category=lead.category)
    return replace(report, runtimes={**report.runtimes, **changed}) if changed else report


def _judge(
    report: TargetReport,
    routes: Routes,
    by_host: dict[str, TargetReport],
    rule_dirs: Sequence[Path],
    plain: frozenset[str] = frozenset(),
) -> TargetReport:
    if report.target.kind == "config":
        return _judge_config(report, routes)
    seen = seen_of(report)
    addresses = addresses_of(report.observations)
    verdicts: dict[str, RuntimeVerdict] = {}
    walks: dict[str, Walk] = {}
    #: a stopped runtime's walk once the stop's fix is in: its faults are named too
    #: (their findings list the runtime), its verdict stays the stop
    ahead: dict[str, Walk] = {}
    paths: list[Observation] = []
    for runtime in routes.runtimes:
        route = routes.route(runtime, report.target, addresses)
        if route.rewrite is not None:
            route = routes.podman_rewrite_stop(route, plain)
        if route.stopped is not None:
            verdicts[runtime] = RuntimeVerdict(
                runtime,
                "error",
                _stopped_reason(runtime, route),
                category="config.invalid",
            )
            paths.append(_stopped_observation(report, runtime, route))
            if route.behind:
                fixed = replace(route, endpoints=route.behind, stopped=None, fix=None)
                walk = walk_runtime(runtime, fixed, report, seen, by_host)
                if not walk.ok:
                    ahead[runtime] = walk
                    path = _path_observation(report, runtime, walk, seen, fixed)
                    if runtime == "podman" and _insecure_helps(walk):
                        path = _with_podman_fix(path, report, routes, by_host, plain)
                    paths.append(path)
            continue
        walks[runtime] = walk_runtime(runtime, route, report, seen, by_host)
        path = _path_observation(report, runtime, walks[runtime], seen, route)
        if runtime == "podman" and _insecure_helps(walks[runtime]):
            path = _with_podman_fix(path, report, routes, by_host, plain)
        paths.append(path)
    # The rules judge the runtimes' paths too (runtime.path observations): a fix that
    # only one runtime needs comes from a rule about that runtime.
    from regdoctor.check.catalog import catalog

    judged = replace(report, observations=(*report.observations, *paths))
    findings = _evaluate_by_credential(judged, routes.runtimes, catalog(rule_dirs))
    findings = _lead_on_paths([_with_runtimes(f, judged, {**ahead, **walks}) for f in findings])
    for runtime, walk in walks.items():
        verdicts[runtime] = _verdict(runtime, walk, findings, seen)
    for runtime, verdict in list(verdicts.items()):
        lead = _leading(findings, runtime, Severity.ERROR)
        if runtime not in walks and lead is not None:
            verdicts[runtime] = replace(verdict, category=lead.category)
    ordered = {r: verdicts[r] for r in routes.runtimes if r in verdicts}
    return replace(judged, findings=tuple(findings), runtimes=ordered)


def _evaluate_by_credential(
    report: TargetReport, runtimes: Sequence[str], rules: Catalog
) -> list[Finding]:
    """The rules on the target's observations; with dances made beside for other
    credentials (``credential_beside``, :mod:`regdoctor.probes.credential_beside`), once
    on the target's own dance and once per other credential, each time as if that
    credential's dance were the only one (its findings cite its observations, which name
    its runtimes): a runtime is judged on what its own credential got."""
    from regdoctor.engine import evaluate

    observations = report.observations
    groups = sorted(
        {
            int(o.facts.get("credential_group") or 0)
            for o in observations
            if o.facts.get("credential_beside")
        }
    )

    def view(keep: list[int], scope: Sequence[str]) -> list[Finding]:
        found = evaluate(rules, report.target, [observations[i] for i in keep], runtimes=scope)
        return [
            replace(f, observations=tuple(keep[j] for j in f.observations if j < len(keep)))
            for f in found
        ]

    if not groups:
        return evaluate(rules, report.target, observations, runtimes=runtimes)
    own = [i for i, o in enumerate(observations) if not o.facts.get("credential_beside")]
    findings = view(own, runtimes)
    # a finding on the target's own dance is its group's: its text written for its
    # runtimes (the rules' ``{if runtime_...}``; the renderers show the commands of the
    # runtimes a finding names first: render/commands.finding_scope)
    first = next((o for o in observations if o.facts.get("credential_group") == 0), None)
    scope0 = [str(r) for r in first.facts.get("runtimes") or ()] if first is not None else []
    if scope0:
        theirs = {(f.rule, f.observations): f for f in view(own, scope0)}
        findings = [
            theirs.get((f.rule, f.observations), f)
            if any(_own_dance(observations[i]) for i in f.observations)
            else f
            for f in findings
        ]
    for group in groups:
        mine = {
            i
            for i, o in enumerate(observations)
            if o.facts.get("credential_beside") and o.facts.get("credential_group") == group
        }
        # its text is for its runtimes only (the others pull with their own credential)
        scope = next(
            ([str(r) for r in observations[i].facts.get("runtimes") or ()] for i in sorted(mine)),
            list(runtimes),
        )
        keep = [i for i in own if not _own_dance(observations[i])] + sorted(mine)
        keep.sort()
        findings.extend(
            f
            for f in view(keep, [r for r in runtimes if r in scope] or runtimes)
            if mine & set(f.observations)
        )
    # one leading finding, as evaluate chooses it: the first of the most severe (the
    # target's own dance's first among equals), an info note never; an error of another
    # credential's dance leads where the target's own credential pulls
    findings.sort(key=lambda f: f.severity.rank)
    return [
        replace(f, leading=index == 0 and f.severity is not Severity.INFO)
        for index, f in enumerate(findings)
    ]


def _own_dance(observation: Observation) -> bool:
    """Part of the target's own dance and what came after it (its auth and image
    phases): left out where another credential's dance is judged."""
    phase = observation.facts.get("phase") if observation.kind == "phase.failed" else None
    return observation.phase in ("auth", "image") or phase in ("auth", "image")


def _path_observation(
    report: TargetReport, runtime: str, walk: Walk, seen: Seen, route: Route
) -> Observation:
    """``runtime.path``: how one runtime's pull of the target goes, for the rules."""
    from regdoctor.check.routes import VERSIONS

    kind, why = walk.failure if (walk.failure and not walk.ok) else (None, None)
    # quote only what was observed; the walk's own words are the reason, not a message
    error = why if isinstance(why, Said) else None
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
            "walk_reason": why,
            "plain_http": walk.plain_http,
            "fell_back": list(walk.fell_back),
            "mirror_failed": walk.mirror_failed,
            "unobserved": walk.unobserved,
            "registry": target.registry,
            "hostport": target.hostport,
            "tls_cut": seen.tls_cut,
            "hosts_toml": route.hosts_toml,
            "hosts_ignored": route.hosts_ignored,
            "short_name": route.short_name,
            "full_name": route.full_name,
            "lacks_ca": bool(
                walk.failure
                and walk.failure[1] == UNTRUSTED_HERE
                and not walk.ok
                and seen.trusted_with
            ),
            "endpoint_host": _host_of(walk.endpoint),
            "path_mirror": (walk.path_trap or "").removesuffix("/").removesuffix("/v2") or None,
            "path_mirror_root": _root_of(walk.path_trap),
            "drops_port": _drops_port(walk.endpoint, target.registry) and not walk.ok,
            "ca_elsewhere": seen.trusted_with,
            "ca_table": _failed_table(walk, route),
            "index": target.registry.removesuffix(":443"),
            **_entry_facts(runtime, walk, seen, route),
        },
        error=error,
    )


def _insecure_helps(walk: Walk) -> bool:
    """podman failed where marking the endpoint insecure is the fix: it answered plain
    HTTP to https:// (tls-plain-http), or its port 443 refused while a plain-HTTP
    registry may listen on 80 (tcp-refused-plain-http-80). Not a certificate podman does
    not trust, where insecure = true would only switch verification off: that drop-in
    is no rule's fix (review of h-fixcmd3)."""
    if walk.ok or walk.failure is None:
        return False
    return walk.failure[0] in (Kind.HTTP_ON_HTTPS, Kind.CONNECT)


def _with_podman_fix(
    path: Observation,
    report: TargetReport,
    routes: Routes,
    by_host: dict[str, TargetReport],
    plain: frozenset[str] = frozenset(),
) -> Observation:
    """podman's failing endpoint with the registries.conf drop-in that marks it insecure
    (the table podman uses for the image, or the mirror's own entry): a mirror target
    is looked up with its registry's image. The table's other endpoints in ``plain``
    (registries that answer https:// in plain HTTP) are marked too, so that the fixes
    for each write the same drop-in."""
    host = path.facts.get("endpoint_host")
    if not isinstance(host, str):
        return path
    target = report.target
    if target.mirror_of:
        upstream = report_for_host(target.mirror_of, by_host)
        target = (
            upstream.target
            if upstream is not None
            else replace(target, registry=target.mirror_of, repository=None, tag=None, digest=None)
        )
    facts = routes.podman_insecure_fix(target, host, plain)
    return replace(path, facts={**path.facts, **facts}) if facts else path


def _entry_facts(runtime: str, walk: Walk, seen: Seen, route: Route) -> dict[str, object]:
    """containerd: the walk failed (or, when it pulls, went on from) at a hosts.toml
    entry that has no ``ca`` while another entry of the file has one that anchors the
    chain (each entry has its own TLS config: hosts.go ConfigureHosts, v1.6.20).
    ``entry_ca``: that other entry's CA files as the file writes them (all of them),
    ``entry_ca_table``: its table ("server": the file's root, else the ``[host]`` key);
    ``entry_is_server``: the entry that fails is the file's root (``server``), and
    ``entry_table`` is its table; ``after_not_found``: containerd got there after a 404
    ("trying next host", resolver.go Resolve)."""
    index = walk.untrusted_entry
    if index is None or (
        not walk.ok and (walk.failure is None or walk.failure[1] != UNTRUSTED_ENTRY)
    ):
        return {"entry_lacks_ca": False}
    entry = route.endpoints[index]
    trusted = seen.trusted_at.get(runtime) or []
    anchor = next((e for e, ok in zip(route.endpoints, trusted, strict=False) if ok and e.ca), None)
    if anchor is not None:
        source: tuple[str, tuple[str, ...]] | None = (_table_of(anchor), anchor.ca)
    else:
        # the entry with the CA is not on the route (a root whose capabilities leave out
        # resolve): the file's entry that names a CA file this runtime's own trust
        # anchors at (not ``trusted_with``: the first trusting runtime's, docker's
        # certs.d when docker is in scope too)
        mine = seen.trusted_anchors.get(runtime) or [seen.trusted_with or ""]
        source = next(
            (
                (table, cas)
                for table, cas in route.hosts_cas
                if seen.trusted_by.get(runtime) and any(ca in cas for ca in mine)
            ),
            None,
        )
    if source is None or entry.ca:
        return {"entry_lacks_ca": False}
    return {
        "entry_lacks_ca": True,
        "entry_ca": ", ".join(source[1]),
        "entry_ca_table": source[0],
        "entry_endpoint": entry.url,
        "entry_is_server": entry.root,
        # the table to add the ca to: "server" (the file's root) or the [host."KEY"] key
        "entry_table": _table_of(entry),
        "after_not_found": walk.passed_not_found,
    }


def _failed_table(walk: Walk, route: Route) -> str | None:
    """containerd with a hosts.toml: the table ("server" or the ``[host]`` key) of the
    entry the walk failed at. containerd 1.6 reads the ``*.crt`` of the registry's
    certs.d directory only when it has no hosts.toml (remotes/docker/config/hosts.go
    loadHostDir: hosts.toml, else the directory's files): with one, a CA reaches the
    pull only as that entry's ``ca``."""
    if not route.hosts_toml or walk.ok or not walk.endpoint:
        return None
    entry = next((e for e in route.endpoints if e.url == walk.endpoint), None)
    return _table_of(entry) if entry is not None else None


def _table_of(endpoint: Endpoint) -> str:
    """A hosts.toml entry's table: "server" for the file's root, else its [host] key."""
    if endpoint.root or endpoint.hosts_key is None:
        return "server"
    return endpoint.hosts_key


def _root_of(url: str | None) -> str | None:
    """``https://mirror.test`` of ``https://mirror.test/cache/v2/``."""
    if not url:
        return None
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


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
    from regdoctor.runtime.common import split_reference

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
            # podman's rewrite stop: the host of the name it could not rewrite (for a
            # short name, the search registry it stopped at, not docker.io)
            **(
                {"rewrite_host": split_reference(route.rewrite[1]).domain}
                if route.rewrite is not None
                else {}
            ),
            **(
                {"fix_key": route.fix[0], "fix_bad": route.fix[1], "fix_good": route.fix[2]}
                if route.fix is not None
                else {}
            ),
            **dict(route.fix_facts),
        },
        error=_stopped_reason(runtime, route),
        source=route.stopped_source,
    )


def _stopped_reason(runtime: str, route: Route) -> str:
    where = f" ({route.stopped_source})" if route.stopped_source else ""
    if runtime == "docker" and (route.fix is None or route.fix[0] != "certs-unpaired"):
        return f"dockerd will not start{where}: {route.stopped}"
    return f"{runtime} cannot pull{where}: {route.stopped}"


# -- which findings apply to which runtime ------------------------------------------------


def _part_of(finding: Finding, report: TargetReport) -> str:
    cited = [report.observations[i] for i in finding.observations if i < len(report.observations)]
    if any(o.facts.get("role") == "realm" for o in cited):
        # the token server's connection and certificate: the auth step, after /v2/
        return "post"
    phases = {o.phase for o in cited}
    phases = phases or {finding.phase}
    if phases & _POST_PHASES:
        return "post"
    if "tls" in phases:
        return "https"
    if phases & _HOST_PHASES:
        return "host"
    return "any"


def _config_runtimes(
    finding: Finding, report: TargetReport, *, target_default: bool = True
) -> set[str] | None:
    """The runtimes a finding on configuration observations names, if it names any
    (``target_default``: else the runtime whose configuration the target came from)."""
    named = {
        str(report.observations[i].facts.get("runtime"))
        for i in finding.observations
        if i < len(report.observations)
        and report.observations[i].kind.startswith("config.")
        and report.observations[i].facts.get("runtime")
    }
    listed_any: set[str] | None = None
    for i in finding.observations:  # an observation that says whom it concerns
        listed = (
            report.observations[i].facts.get("runtimes") if i < len(report.observations) else None
        )
        if isinstance(listed, list):
            if not listed:
                return set()
            listed_any = (listed_any or set()) | {str(r) for r in listed}
    if listed_any is not None:
        # the narrower statement wins: a config.toml table only the CRI plugin reads
        # names runtime "containerd" (the file's owner) and runtimes ["kubernetes"]
        return listed_any
    if target_default and report.target.runtime and not named and not _image_of_all(report):
        named = {report.target.runtime}
    return named or None


def _image_of_all(report: TargetReport) -> bool:
    """The target is the image's own registry (not a mirror a runtime's configuration
    adds): every runtime in scope pulls from it, whichever runtime's configuration gave
    it its settings (an insecure-registries entry of daemon.json). A finding that cites
    no configuration is then judged per runtime by where its walk fails, not narrowed to
    that runtime: containerd refused at 443 is named by tcp-refused too."""
    target = report.target
    return target.mirror_of is None and target.repository is not None


def _with_runtimes(finding: Finding, report: TargetReport, walks: dict[str, Walk]) -> Finding:
    on_paths = {
        str(report.observations[i].facts.get("runtime"))
        for i in finding.observations
        if i < len(report.observations) and report.observations[i].kind == "runtime.path"
    }
    if on_paths:
        return replace(finding, runtimes=tuple(r for r in _ORDER if r in on_paths))
    named = _config_runtimes(finding, report)
    # what the finding's own observations cite (not only the configuration the target
    # came from, an insecure-registries entry): a finding that cites none is judged by
    # the part of the walk where the runtime failed
    cited = _config_runtimes(finding, report, target_default=False)
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
        on_path = finding.severity is Severity.ERROR and part != "any"
        if on_path and walk.ok:
            # the runtime's walk pulls (a later hosts.toml entry, a fallback): an error on
            # its path is not what stops it, whichever configuration the finding cites
            continue
        if (
            on_path
            and cited is None
            and walk.failed_part not in (part, None)
            and part not in walk.failed_parts
            # the handshake failed at a TLS server and the http:// retry met its TLS
            # port (dockerd's loopback fallback): the https:// failure is the one to fix
            and not (part == "https" and walk.tls_server_failed)
        ):
            continue
        applies.append(runtime)
    return replace(finding, runtimes=tuple(applies))


def _lead_on_paths(findings: list[Finding]) -> list[Finding]:
    """The leading finding is the first that applies to a runtime in scope: one that
    applies to none (a refused tunnel the runtimes go on from, to http:// through the
    proxy) is true but not why any pull fails, so it does not lead. None applies to a
    runtime: nothing leads."""
    lead = next((f for f in findings if f.leading), None)
    if lead is None or lead.runtimes:
        return findings
    new = next((f for f in findings if f.runtimes and f.severity is not Severity.INFO), None)
    return [replace(f, leading=f is new) if f is new or f.leading else f for f in findings]


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


def _verdict(runtime: str, walk: Walk, findings: Sequence[Finding], seen: Seen) -> RuntimeVerdict:
    if not walk.ok:
        kind, error = walk.failure or (Kind.SERVER_ERROR, "no endpoint to try")
        # containerd reports an earlier mirror's error: that mirror's findings say why
        lead = None if walk.failed_elsewhere else _leading(findings, runtime, Severity.ERROR)
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
    if seen.withheld:
        # the runtime sends the credentials to the plain-HTTP realm; regdoctor did not,
        # so whether they are accepted is not known
        how += " if its credentials are accepted (not verified: regdoctor did not send them)"
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
    findings = tuple(_config_finding(f, report, runtimes) for f in report.findings)
    verdicts = {}
    for runtime in runtimes:
        mine = [f for f in findings if runtime in f.runtimes]
        worst = next((f for f in mine if f.severity is Severity.ERROR), None) or next(
            (f for f in mine if f.severity is Severity.WARNING), None
        )
        if worst is None:
            verdicts[runtime] = RuntimeVerdict(runtime, "ok", "read without problems")
        else:
            status = "error" if worst.severity is Severity.ERROR else "warning"
            verdicts[runtime] = RuntimeVerdict(runtime, status, worst.title, None, worst.category)
    return replace(report, findings=findings, runtimes=verdicts)


def _config_finding(finding: Finding, report: TargetReport, runtimes: list[str]) -> Finding:
    """A configuration file's finding, for the runtimes it concerns: those its
    observations name (a config.toml problem in the CRI plugin's tables stops only the
    kubelet's pulls), else every runtime that reads the file."""
    named: set[str] = set()
    for i in finding.observations:
        listed = (
            report.observations[i].facts.get("runtimes") if i < len(report.observations) else None
        )
        if not isinstance(listed, list):
            return replace(finding, runtimes=tuple(runtimes))  # one names no runtime: all
        named |= {str(r) for r in listed}
    return replace(finding, runtimes=tuple(r for r in runtimes if r in named))
