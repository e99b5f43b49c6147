"""What the probes saw of one target, in the terms a runtime's walk needs: the host's
DNS and TCP, the HTTPS handshake and its verification (per runtime's own trust set),
the scheme the later requests went on with, and the first failure after TLS as the
runtime model's kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from regdoctor import runtime as model
from regdoctor.model import Observation, PhaseStatus, TargetReport

Kind = model.ErrorKind
FAILED = (PhaseStatus.FAILED, PhaseStatus.CRASHED)


class Said(str):
    """Text an observation recorded (a server's answer, a client's error): the only text a
    ``runtime.path`` observation quotes as its ``error``. The walk's own words ("plain
    HTTP was not tried ...") are plain ``str`` and go to its ``reason`` fact."""

    __slots__ = ()


def said(text: str | None) -> Said | None:
    return Said(text) if text else None


@dataclass(eq=False)
class Seen:
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
    #: per runtime: its own CA files that anchor the chain
    trusted_anchors: dict[str, list[str]] = field(default_factory=dict)
    #: per runtime, per endpoint of its route: does that endpoint's own trust (a
    #: hosts.toml entry's ``ca``) anchor the chain (None: TLS not at stake there)
    trusted_at: dict[str, list[bool | None]] = field(default_factory=dict)
    went_on: str | None = None  # the scheme the later phases used (https/http/None)
    post_failure: tuple[Kind, str] | None = None  # after TLS: /v2/, auth, manifest
    tls_cut: bool = False  # the handshake was cut by regdoctor's own --timeout
    #: regdoctor withheld the credentials from a plain-HTTP token realm (the runtimes
    #: send them: containerd 1.6 ``remotes/docker/auth/fetch.go`` FetchToken sets Basic
    #: auth on whatever realm URL the challenge names; dockerd and podman likewise), so
    #: the refusal that followed is its own, not the runtime's
    withheld: str | None = None
    #: the runtimes ``post_failure`` applies to (None: every one): a blob storage host
    #: whose certificate only some runtimes refuse (``image.blob`` ``runtimes``)
    post_only: frozenset[str] | None = None
    #: per runtime, the failure at a peer host only some runtimes refuse while the others
    #: go on (the token realm's certificate, trusted by another runtime's CA files)
    peer_failures: dict[str, tuple[Kind, str]] = field(default_factory=dict)
    #: per runtime whose credential is not the target's own (its dance was made beside,
    #: ``credential_beside``): its own outcome after TLS, None when its dance and
    #: manifest request got through and nothing the target's own requests saw after
    #: them applies (a runtime not here: ``post_failure`` as for every runtime)
    post_by_runtime: dict[str, tuple[Kind, str] | None] = field(default_factory=dict)
    #: runtimes whose credential's dance regdoctor did not see end (it crashed, or the
    #: run's deadline came first): their failure is regdoctor's, not the registry's
    unobserved_post: set[str] = field(default_factory=set)


def addresses_of(observations: Sequence[Observation]) -> list[str]:
    for o in observations:
        if o.kind == "dns.answer" and o.facts.get("role", "registry") == "registry" and o.ok:
            addresses = o.facts.get("addresses")
            if isinstance(addresses, list):
                return [str(a) for a in addresses]
    return []


def phase_status(report: TargetReport, name: str) -> PhaseStatus | None:
    return next((p.status for p in report.phases if p.name == name), None)


def phase_error(report: TargetReport, name: str) -> str:
    """The phase's error as observed (a :class:`Said`), else its reason (regdoctor's)."""
    phase = next((p for p in report.phases if p.name == name), None)
    if phase is None:
        return ""
    return Said(phase.error) if phase.error else (phase.reason or "")


def seen_of(report: TargetReport) -> Seen:
    seen = Seen()
    if phase_status(report, "dns") in FAILED:
        seen.host_failure = (Kind.DNS, phase_error(report, "dns"))
    elif phase_status(report, "tcp") in FAILED:
        seen.host_failure = (Kind.CONNECT, phase_error(report, "tcp"))
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
        seen.https_error = said(handshake.error)
        seen.went_on = str(handshake.facts.get("scheme_decision") or "https")
        seen.tls_cut = seen.https == "timeout" and bool(handshake.facts.get("cut_by_timeout"))
    elif (
        phase_status(report, "tls") is PhaseStatus.NOT_APPLICABLE and report.target.scheme == "http"
    ):
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
        seen.verify_error = said(verify.error)
        seen.verify_reason = str(verify.facts.get("reason"))
    if verify is not None and isinstance(verify.facts.get("trusted_by"), dict):
        seen.trusted_by = {str(k): bool(v) for k, v in verify.facts["trusted_by"].items()}
        seen.trusted_with = verify.facts.get("trusted_with")
    if verify is not None and isinstance(verify.facts.get("trusted_anchors"), dict):
        seen.trusted_anchors = {
            str(k): [str(f) for f in v]
            for k, v in verify.facts["trusted_anchors"].items()
            if isinstance(v, list)
        }
    if verify is not None and isinstance(verify.facts.get("trusted_at"), dict):
        seen.trusted_at = {
            str(k): [None if b is None else bool(b) for b in v]
            for k, v in verify.facts["trusted_at"].items()
            if isinstance(v, list)
        }
    if phase_status(report, "tls") in FAILED and seen.went_on == "https" and seen.https == "ok":
        seen.went_on = None  # stopped at verification: nothing observed after it
    if seen.went_on is not None:
        for name in ("http", "auth", "image"):
            if phase_status(report, name) in FAILED:
                seen.post_failure = (post_kind(report, name), phase_error(report, name))
                seen.post_only = _only_for(report, name)
                break
    for o in report.observations:
        runtimes = o.facts.get("runtimes")
        if o.kind == "tls.verify" and o.facts.get("role") == "realm" and not o.ok:
            for runtime in runtimes if isinstance(runtimes, list) else ():
                seen.peer_failures.setdefault(
                    str(runtime), (Kind.TLS, said(o.error) or "certificate verification failed")
                )
    if seen.went_on is not None:
        _beside(report, seen)
    withheld = next(
        (
            o.facts.get("credentials_withheld")
            for o in report.observations
            if o.kind == "auth.result" and o.facts.get("credentials_withheld")
        ),
        None,
    )
    if withheld:
        # the runtime sends them and the token service judges them: not observed
        seen.withheld = str(withheld)
        if seen.post_failure is not None and seen.post_failure[0] is Kind.UNAUTHORIZED:
            seen.post_failure = None
    return seen


def _beside(report: TargetReport, seen: Seen) -> None:
    """Each runtime of a dance made beside with its own credential: the first failure
    of its dance or manifest request; else, when the target's own manifest request got a
    200 too, the target's own failure after it (the body, the platform, a blob: every
    runtime's), or None (it gets through)."""
    # the target's own manifest request got through (200), whatever its body then was
    # (a body that is no manifest fails every runtime, whichever credential asked)
    own_found = any(
        o.kind == "image.manifest"
        and o.facts.get("status") == 200
        and not o.facts.get("credential_beside")
        for o in report.observations
    )
    done: set[str] = set()
    for o in report.observations:
        if not o.facts.get("credential_beside"):
            continue
        unobserved = o.kind in ("probe.timeout", "probe.crashed")  # regdoctor's own
        if unobserved:
            kind = Kind.TIMEOUT if o.kind == "probe.timeout" else Kind.SERVER_ERROR
            failure: tuple[Kind, str] | None = (kind, str(o.error or "not observed"))
        elif o.kind in ("auth.result", "image.manifest") and not o.ok:
            failure = (kind_of(o), said(o.error) or str(o.facts.get("outcome")))
        elif o.kind == "image.manifest" or (o.kind == "auth.result" and not report.target.is_image):
            # its manifest request got through: what the target's own then met (the
            # body, the platform, the blob) is every runtime's it applies to
            failure = seen.post_failure if own_found else None
        else:
            continue
        runtimes = o.facts.get("runtimes")
        for name in (str(r) for r in runtimes) if isinstance(runtimes, list) else ():
            if name in done:
                continue
            done.add(name)
            if unobserved:
                seen.unobserved_post.add(name)
            applies = unobserved or not o.ok or seen.post_only is None or name in seen.post_only
            seen.post_by_runtime[name] = failure if applies else None


def _only_for(report: TargetReport, phase: str) -> frozenset[str] | None:
    """The runtimes the phase's failure applies to, when its failing observation names
    them (``runtimes``), else None (every runtime)."""
    failing = next((o for o in report.observations if o.phase == phase and not o.ok), None)
    if failing is None or "credential_group" in failing.facts:
        # (the group tag of the target's own dance says whose credential asked, not who
        # is refused: the other groups are judged on their own dances, check/seen._beside)
        return None
    runtimes = failing.facts.get("runtimes")
    return frozenset(str(r) for r in runtimes) if isinstance(runtimes, list) else None


def post_kind(report: TargetReport, phase: str) -> Kind:
    """The runtime model's kind of a failure after TLS, from the failing observation."""
    failing = next(
        (o for o in report.observations if o.phase == phase and not o.ok),
        None,
    )
    if failing is None:
        return Kind.SERVER_ERROR
    return kind_of(failing)


def kind_of(failing: Observation) -> Kind:
    """The runtime model's kind of one failing observation after TLS."""
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
