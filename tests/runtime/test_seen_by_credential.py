"""What each runtime reads after TLS when its credential's dance was made beside the
target's own (check/seen.py ``post_by_runtime``): one step, on hand-made reports."""

from __future__ import annotations

from regdoctor.check.seen import Kind, seen_of
from regdoctor.model import Observation, PhaseResult, PhaseStatus, TargetReport
from regdoctor.reference.targets import parse_target

TARGET = parse_target("secure.test/team/app:1")
OK, FAILED = PhaseStatus.OK, PhaseStatus.FAILED


def _obs(kind: str, ok: bool, phase: str, **facts: object) -> Observation:
    return Observation(kind=kind, target=TARGET.id, ok=ok, phase=phase, facts=facts)


def _own(kind: str, ok: bool, phase: str, runtimes: list[str], **facts: object) -> Observation:
    """An observation of the target's own dance, as ``credential_beside.tag_own`` tags it."""
    return _obs(kind, ok, phase, credential_group=0, runtimes=runtimes, **facts)


def _beside(kind: str, ok: bool, phase: str, runtimes: list[str], **facts: object) -> Observation:
    return _obs(
        kind, ok, phase, credential_beside=True, credential_group=1, runtimes=runtimes, **facts
    )


def _report(auth: PhaseStatus, image: PhaseStatus, *observations: Observation) -> TargetReport:
    handshake = _obs("tls.handshake", True, "tls", outcome="ok", scheme_decision="https")
    statuses = {"dns": OK, "tcp": OK, "tls": OK, "http": OK, "auth": auth, "image": image}
    phases = tuple(PhaseResult(name, status) for name, status in statuses.items())
    return TargetReport(TARGET, {}, phases, (handshake, *observations), (), 0.0)


def test_an_anonymous_group_refused_at_the_token_server_fails_on_its_own() -> None:
    report = _report(
        OK,
        OK,
        _obs("auth.result", True, "auth", outcome="authenticated", runtimes=["docker"]),
        _obs("image.manifest", True, "image", outcome="found", runtimes=["docker"]),
        _beside("auth.result", False, "auth", ["containerd", "kubernetes"], status=401),
    )
    seen = seen_of(report)
    assert seen.post_failure is None
    assert set(seen.post_by_runtime) == {"containerd", "kubernetes"}
    assert seen.post_by_runtime["containerd"][0] is Kind.UNAUTHORIZED  # type: ignore[index]


def test_a_group_that_gets_the_manifest_pulls_when_the_targets_own_dance_failed() -> None:
    report = _report(
        FAILED,
        PhaseStatus.SKIPPED,
        _obs("auth.result", False, "auth", outcome="rejected_credentials", status=401),
        _beside("auth.result", True, "auth", ["containerd"], outcome="anonymous"),
        _beside("image.manifest", True, "image", ["containerd"], outcome="found"),
    )
    seen = seen_of(report)
    assert seen.post_failure is not None and seen.post_failure[0] is Kind.UNAUTHORIZED
    assert seen.post_by_runtime == {"containerd": None}


def test_a_failure_after_the_manifest_both_found_is_every_runtimes() -> None:
    """The platform is missing: a group whose manifest request got the manifest too
    reads the target's own failure (it is not only the first group's)."""
    report = _report(
        OK,
        FAILED,
        _obs("auth.result", True, "auth", outcome="authenticated", runtimes=["docker"]),
        _obs("image.manifest", True, "image", outcome="found", status=200, runtimes=["docker"]),
        _obs("image.platform", False, "image", requested="linux/s390x"),
        _beside("auth.result", True, "auth", ["containerd"], outcome="anonymous"),
        _beside("image.manifest", True, "image", ["containerd"], outcome="found"),
    )
    seen = seen_of(report)
    assert seen.post_failure is not None and seen.post_only is None
    assert seen.post_by_runtime == {"containerd": seen.post_failure}


def test_a_manifest_request_answered_200_with_no_manifest_fails_every_group() -> None:
    """The target's own manifest request got a 200 whose body is a web page (the image
    phase fails, its observation tagged with the first group): another group whose
    request got a 200 too meets the same body (it was judged ok)."""
    report = _report(
        OK,
        FAILED,
        _obs("auth.result", True, "auth", outcome="authenticated", runtimes=["docker"]),
        _own("image.manifest", False, "image", ["docker"], outcome="invalid", status=200),
        _beside("auth.result", True, "auth", ["containerd"], outcome="anonymous"),
        _beside("image.manifest", True, "image", ["containerd"], outcome="found"),
    )
    seen = seen_of(report)
    assert seen.post_failure is not None
    assert seen.post_by_runtime == {"containerd": seen.post_failure}


def test_a_blob_failure_only_some_runtimes_meet_stays_theirs() -> None:
    """The storage host's certificate is refused by docker only (its ``image.blob``
    names docker): containerd, whose anonymous dance got the manifest too, does not
    inherit it (the group tag of the target's own dance is no such restriction)."""
    report = _report(
        OK,
        FAILED,
        _own("auth.result", True, "auth", ["docker"], outcome="authenticated"),
        _own("image.manifest", True, "image", ["docker"], outcome="found", status=200),
        _obs("image.blob", False, "image", runtimes=["docker"], outcome="untrusted"),
        _beside("auth.result", True, "auth", ["containerd"], outcome="anonymous"),
        _beside("image.manifest", True, "image", ["containerd"], outcome="found"),
    )
    seen = seen_of(report)
    assert seen.post_only == frozenset({"docker"})
    assert seen.post_by_runtime.get("containerd") is None


def test_a_dance_regdoctor_did_not_see_end_is_unobserved_not_the_registrys() -> None:
    report = _report(
        OK,
        OK,
        _own("auth.result", True, "auth", ["docker"], outcome="authenticated"),
        _own("image.manifest", True, "image", ["docker"], outcome="found", status=200),
        _beside("probe.timeout", False, "auth", ["containerd"], probe="auth", deadline=True),
    )
    seen = seen_of(report)
    assert seen.unobserved_post == {"containerd"}
    assert seen.post_by_runtime["containerd"][0] is Kind.TIMEOUT  # type: ignore[index]
