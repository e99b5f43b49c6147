"""One runtime's way through its endpoints, the way that runtime goes: each endpoint's
outcome from what was seen (:mod:`regdoctor.check.seen`), a failure moving on only where
the runtime model says the runtime does (:func:`regdoctor.runtime.falls_back`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from regdoctor import runtime as model
from regdoctor.check.routes import Route
from regdoctor.check.seen import FAILED, Kind, Seen, phase_error, phase_status, post_kind
from regdoctor.model import TargetReport

#: The reason of a runtime that lacks a CA another runtime has.
UNTRUSTED_HERE = "certificate signed by unknown authority (its CA is not where this runtime looks)"
#: The reason of a containerd hosts.toml entry without the ``ca`` another entry has.
UNTRUSTED_ENTRY = (
    "certificate signed by unknown authority (this hosts.toml entry has no ca; another has)"
)
#: The reason of a containerd hosts.toml entry whose own ``ca`` does not anchor the chain
#: while another entry's does (a rotated CA written on one entry only).
UNTRUSTED_ENTRY_CA = (
    "certificate signed by unknown authority"
    " (this hosts.toml entry's ca does not anchor the chain; another entry's does)"
)


#: The part of a failure at a mirror elsewhere (no part of this target).
_ELSEWHERE = "elsewhere"


@dataclass(eq=False)
class Walk:
    """One runtime's way through its endpoints."""

    ok: bool = False
    endpoint: str | None = None
    failure: tuple[Kind, str] | None = None
    parts: set[str] = field(default_factory=set)  # host, https, post
    failed_part: str | None = None
    #: containerd/kubernetes: the parts of every endpoint that failed (it reports the
    #: first non-404 error, not the last one)
    failed_parts: set[str] = field(default_factory=set)
    fell_back: list[str] = field(default_factory=list)  # "url: why" of endpoints left
    mirror_failed: bool = False  # a mirror failed and the runtime went on
    path_trap: str | None = None  # a mirror asked under a path its host does not serve
    plain_http: bool = False
    unobserved: str | None = None
    #: the index (in the route) of an endpoint that failed only because its own
    #: hosts.toml entry has no ``ca`` while another entry of the file has one that anchors
    untrusted_entry: int | None = None
    passed_not_found: bool = False  # it went on after a 404 (containerd: next host)
    #: the current endpoint's outcome is its http:// retry's (podman's insecure
    #: registry: containers/image pings http:// after any https:// error), so the
    #: request that pulled or failed is the http:// one
    plain_retry: bool = False
    #: the TLS handshake with the target's own host failed at a TLS server (an alert: a
    #: client certificate it wants) before the runtime went on to http:// there: the
    #: http:// retry meets a TLS port, so the https:// failure is what to fix
    tls_server_failed: bool = False
    #: containerd: the failure reported is an earlier mirror's (elsewhere: its findings
    #: are on that mirror's own report), not one of this target's endpoints
    failed_elsewhere: bool = False


def _own(endpoint: model.Endpoint, report: TargetReport) -> bool:
    from regdoctor.check.routes import endpoint_is_target

    return endpoint_is_target(endpoint, report.target)


def https_outcome(
    seen: Seen, skip_verify: bool, runtime: str = "", index: int | None = None
) -> tuple[Kind, str] | None:
    """None when HTTPS gets through (TLS, and verification unless skipped), for the
    runtime's own trust set (its certs.d, its hosts.toml ``ca``; with ``index``, the
    ``ca`` of that endpoint's own hosts.toml entry)."""
    outcome = seen.https
    if outcome is None:
        return Kind.TLS, "HTTPS was not tried (http:// given)"
    if outcome == "ok":
        if skip_verify:
            return None
        if entry_trust(seen, runtime, index) is False and seen.trusted_by.get(runtime):
            return Kind.TLS, UNTRUSTED_ENTRY
        trusted = seen.trusted_by.get(runtime)
        authority = seen.verify_reason in ("unknown_authority", "self_signed")
        if trusted is False and (seen.verify_ok or (authority and seen.trusted_with)):
            # the chain anchors at a CA of this machine (another runtime's, or one only a
            # runtime out of scope reads), not where this runtime looks
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
    if outcome == "unresolved":
        # https:// goes direct and the name does not resolve here; http:// would go
        # through HTTP_PROXY (probes/dns.py)
        return Kind.DNS, seen.https_error or "no such host"
    return Kind.TLS, seen.https_error or f"TLS handshake failed ({outcome})"


def entry_trust(seen: Seen, runtime: str, index: int | None) -> bool | None:
    """Whether the endpoint at ``index`` of the runtime's route trusts the chain with its
    own entry's CA files (None: not known, or not at stake)."""
    entries = seen.trusted_at.get(runtime)
    if index is None or entries is None or not 0 <= index < len(entries):
        return None
    return entries[index]


def walk_runtime(
    runtime: str,
    route: Route,
    report: TargetReport,
    seen: Seen,
    by_host: dict[str, TargetReport],
) -> Walk:
    walk = Walk()
    previous: tuple[Kind, str] | None = None
    # containerd reports the first error that is not a 404 once every host failed,
    # whatever the later hosts answered (resolver.go Resolve, v1.6.20: firstErr):
    # (failure, endpoint, part)
    first: tuple[tuple[Kind, str], str, str | None] | None = None
    endpoints = list(route.endpoints)
    for index, endpoint in enumerate(endpoints):
        last = index == len(endpoints) - 1
        if not _own(endpoint, report):
            checked, result = elsewhere(endpoint, by_host)
            if checked and result is None and endpoint.path_prefix.rstrip("/") != "/v2":
                # the host answers as a registry at /v2/, but the runtime asks under a
                # path (hosts.toml without override_path appends /v2 to it)
                walk.path_trap = endpoint.url
                result = (Kind.NOT_FOUND, f"{endpoint.url}: the registry answers at /v2/")
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
            result = _here(endpoint, seen, walk, runtime, index)
            if result is not None and result[1] == UNTRUSTED_ENTRY:
                if endpoint.ca:  # it has one: the wrong one, not a missing one
                    result = Kind.TLS, UNTRUSTED_ENTRY_CA
                else:
                    walk.untrusted_entry = index
        url = _as_http(endpoint.url) if walk.plain_retry else endpoint.url
        walk.plain_retry = False
        if result is None:
            walk.ok, walk.endpoint = True, url
            walk.plain_http = walk.plain_http or endpoint.scheme == "http"
            return walk
        previous = result
        walk.failure, walk.endpoint = result, url
        if last or not model.falls_back(_model_name(runtime), result[0], mirror=endpoint.mirror):
            if last and first is not None:
                walk.failure, walk.endpoint, walk.failed_part = first
                walk.failed_elsewhere = walk.failed_part == _ELSEWHERE
                walk.failed_part = None if walk.failed_elsewhere else walk.failed_part
            return walk
        if (
            first is None
            and result[0] is not Kind.NOT_FOUND
            and _model_name(runtime) == "containerd"
        ):
            first = result, endpoint.url, walk.failed_part if _own(endpoint, report) else _ELSEWHERE
        walk.fell_back.append(f"{endpoint.url}: {result[1]}")
        walk.passed_not_found = walk.passed_not_found or result[0] is Kind.NOT_FOUND
        # a hosts.toml [host] for the registry's own host:port that fails only for the ca
        # another entry has is tls-hosts-entry-lacks-ca-passed's, not a failed mirror
        # (any other failure there, or a podman mirror on the same host:port, is one)
        entry_only = walk.untrusted_entry == index and _own(endpoint, report)
        walk.mirror_failed = walk.mirror_failed or (endpoint.mirror and not entry_only)
    return walk


def _as_http(url: str) -> str:
    """The same endpoint over plain HTTP (host, port and path kept: containers/image
    retries ``http://`` + the registry's host:port, docker_client.go
    detectPropertiesHelper, v5.23.1)."""
    return "http://" + url.partition("://")[2] if url.startswith("https://") else url


def _model_name(runtime: str) -> str:
    return "containerd" if runtime == "kubernetes" else runtime


def _here(
    endpoint: model.Endpoint, seen: Seen, walk: Walk, runtime: str, index: int | None = None
) -> tuple[Kind, str] | None:
    """The outcome of one of the target's own endpoints; records the parts touched and
    the part this endpoint failed at (None: not known). containerd goes on after a 404
    and may fail elsewhere, and reports its first error that is not a 404: its walk
    keeps every part that failed. dockerd and podman report their last error (moby
    pullEndpoints lastErr), so only the last endpoint's part counts for them."""
    walk.failed_part = None  # not the part of an endpoint before this one
    result = _own_outcome(endpoint, seen, walk, runtime, index)
    if result is not None and walk.failed_part is not None and _model_name(runtime) == "containerd":
        walk.failed_parts.add(walk.failed_part)
    return result


def _own_outcome(
    endpoint: model.Endpoint, seen: Seen, walk: Walk, runtime: str, index: int | None
) -> tuple[Kind, str] | None:
    walk.parts.add("host")
    if seen.host_failure is not None:
        walk.failed_part = "host"
        return seen.host_failure
    if endpoint.scheme == "https":
        walk.parts.add("https")
        failure = https_outcome(seen, endpoint.skip_verify, runtime, index)
        if failure is not None and failure[0] is Kind.TLS and seen.https in ("alert", "failed"):
            walk.tls_server_failed = True
        if (
            failure is not None
            and endpoint.http_fallback
            and (
                failure[0] in (Kind.TLS, Kind.HTTP_ON_HTTPS, Kind.CONNECT)
                # containers/image pings http:// after any https:// error, a DNS one too
                # (docker_client.go detectPropertiesHelper, v5.23.1); containerd's
                # HTTPFallback never retries after a DNS error (docs/runtime-model.md)
                or (failure[0] is Kind.DNS and runtime == "podman")
            )
        ):
            plain = _plain(seen, walk, runtime)
            if plain is None or seen.went_on == "http":
                walk.plain_retry = True
                return plain
        if failure is not None:
            walk.failed_part = "host" if failure[0] is Kind.DNS else "https"
            return failure
        if seen.went_on != "https":
            walk.unobserved = "the requests after the TLS handshake"
            return Kind.TLS, "not observed"
        return _post(seen, walk, runtime)
    return _plain(seen, walk, runtime)


def _plain(seen: Seen, walk: Walk, runtime: str) -> tuple[Kind, str] | None:
    """An ``http://`` endpoint of the target's own host."""
    if seen.went_on == "http":
        walk.plain_http = True
        return _post(seen, walk, runtime)
    if seen.https == "ok":
        walk.failed_part = "https"
        return Kind.HTTP_ON_HTTPS, "the server speaks TLS on this port: http:// gets no registry"
    walk.unobserved = "plain HTTP"
    walk.failed_part = "https"
    return Kind.CONNECT, "plain HTTP was not tried after the HTTPS failure"


def _post(seen: Seen, walk: Walk, runtime: str) -> tuple[Kind, str] | None:
    walk.parts.add("post")
    if runtime in seen.post_by_runtime:  # its own credential's dance, made beside
        own = seen.post_by_runtime[runtime]
        if runtime in seen.unobserved_post:
            walk.unobserved = "the requests with its own credential"
        if own is not None:
            walk.failed_part = "post"
            return own
    elif seen.post_failure is not None and (seen.post_only is None or runtime in seen.post_only):
        walk.failed_part = "post"
        return seen.post_failure
    if runtime in seen.peer_failures:
        walk.failed_part = "post"
        return seen.peer_failures[runtime]
    return None


def report_for_host(host: str, by_host: Mapping[str, TargetReport]) -> TargetReport | None:
    """The report of ``host`` (``host[:port]`` as an endpoint names it) in this run, by
    its registry key: with or without :443, and a name without a dot, which keeps its
    port (``team:443``)."""
    report = by_host.get(host) or by_host.get(host.removesuffix(":443"))
    if report is None and ":" not in host:
        report = by_host.get(f"{host}:443")
    return report


def elsewhere(
    endpoint: model.Endpoint, by_host: dict[str, TargetReport]
) -> tuple[bool, tuple[Kind, str] | None]:
    """A mirror's outcome, from its own report in this run: (checked, failure)."""
    report = report_for_host(endpoint.host, by_host)
    if report is None:
        return False, None
    for name in ("dns", "tcp", "tls", "http", "image"):
        if phase_status(report, name) in FAILED:
            kind = {"dns": Kind.DNS, "tcp": Kind.CONNECT, "tls": Kind.TLS}.get(name)
            return True, (kind or post_kind(report, name), phase_error(report, name))
    return True, None
