"""``regdoctor tags``: everything between the arguments and the renderer.

The repository is opened once (scheme, auth), its tags are listed and resolved, and
each option adds observations: ``--state`` (drift), ``--compare``/``--mirror``
(divergence, stale mirrors), ``--policy``, ``--platform``, ``--require-signature``,
``--manifests`` (mutable references). The rules judge them per *subject*: the
repository itself, each ``repo:tag`` that has something to judge, and each reference
in a deployment file. A subject is a :class:`~regdoctor.model.TargetReport`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regdoctor.model import Observation, Target, TargetReport, worst_status
from regdoctor.net.network import Network
from regdoctor.options import CheckOptions, SystemClock
from regdoctor.probes.image import platforms_of_index
from regdoctor.probes.manifest_request import INDEX_TYPES, MANIFEST_LIMIT
from regdoctor.reference.targets import InvalidReference, parse_target
from regdoctor.tags import state as state_file
from regdoctor.tags import steps
from regdoctor.tags.background import Background
from regdoctor.tags.policy import TagPolicy
from regdoctor.tags.scan import (
    DEFAULT_CONCURRENCY,
    DEFAULT_PAGE_SIZE,
    MAX_TAGS,
    Listing,
    Resolution,
    resolve_tags,
)
from regdoctor.tags.session import RepoSession, open_session


@dataclass
class Scan:
    """One scan under way: what every step reads, and what the listing step found."""

    result: TagsResult
    options: TagsOptions
    check: CheckOptions
    network: Network
    subjects: _Subjects
    clock: Any
    deadline_at: float
    selected: list[str] = field(default_factory=list)
    all_tags: set[str] = field(default_factory=set)
    digests: dict[str, str] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)
    #: started by the steps when the HEADs start (``None``: nothing to start)
    background: Background | None = None

    @property
    def base(self) -> Target:
        return self.result.target

    @property
    def repo(self) -> str:
        return self.result.target.repository or ""

    def tag_target(self, tag: str) -> Target:
        return _subject(f"{self.base.raw}:{tag}", self.base)

    def add(self, target: Target, kind: str, *, ok: bool, facts: dict[str, Any], **kw: Any) -> None:
        self.subjects.add(target, [_observation(target, kind, ok=ok, facts=facts, **kw)])


@dataclass(frozen=True)
class TagsOptions:
    repository: str
    match: str | None = None
    compare: tuple[str, ...] = ()
    mirrors: tuple[str, ...] = ()
    #: finds the mirrors the runtimes' configuration names for this registry (after
    #: ``mirrors``); run in the background while the scan waits on the network
    configured_mirrors: Callable[[], list[str]] | None = None
    manifests: tuple[Path, ...] = ()
    state: Path | None = None
    policy: TagPolicy | None = None
    require_signature: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    page_size: int = DEFAULT_PAGE_SIZE
    max_tags: int = MAX_TAGS


@dataclass
class Comparison:
    registry: str
    role: str  # replica, mirror
    ok: bool
    error: str | None = None
    digests: dict[str, str | None] = field(default_factory=dict)


@dataclass
class TagsResult:
    target: Target
    session: RepoSession
    listing: Listing | None
    resolution: Resolution | None
    subjects: list[TargetReport]
    drifts: list[state_file.Drift] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    state_path: Path | None = None
    started_at: str = ""
    duration_ms: float = 0.0

    @property
    def findings(self) -> list[Any]:
        return [f for s in self.subjects for f in s.findings]

    @property
    def status(self) -> str:
        return worst_status(self.findings)

    @property
    def exit_code(self) -> int:
        from regdoctor.check.exit import exit_code_of

        return exit_code_of(f.severity for f in self.findings)

    def selected(self) -> list[str]:
        return list(self.resolution.tags) if self.resolution else []


def repo_target(raw: str, insecure: bool) -> Target:
    """``host:5000/team/app`` (a tag or digest, if given, is ignored)."""
    target = parse_target(raw, insecure=insecure)
    if target.repository is None:
        raise InvalidReference(f"{raw!r} names a registry, not a repository (HOST/REPO)")
    return target


def _subject(raw: str, base: Target) -> Target:
    try:
        return parse_target(raw, insecure=base.insecure)
    except InvalidReference:
        return base


class _Subjects:
    """Observations grouped by subject, judged at the end."""

    def __init__(self, rule_dirs: tuple[Path, ...] = ()) -> None:
        self.rule_dirs = rule_dirs
        self.targets: dict[str, Target] = {}
        self.observations: dict[str, list[Observation]] = defaultdict(list)

    def add(self, target: Target, observations: list[Observation]) -> None:
        self.targets.setdefault(target.raw, target)
        self.observations[target.raw].extend(observations)

    def reports(self) -> list[TargetReport]:
        from regdoctor.check.catalog import catalog as load_catalog
        from regdoctor.engine import evaluate

        catalog = load_catalog(self.rule_dirs)
        reports = []
        for raw, target in self.targets.items():
            observations = self.observations[raw]
            findings = evaluate(catalog, target, observations)
            reports.append(
                TargetReport(
                    target=target,
                    endpoint={},
                    phases=(),
                    observations=tuple(observations),
                    findings=tuple(findings),
                    duration_ms=0.0,
                )
            )
        return reports


def _observation(
    target: Target, kind: str, *, ok: bool, facts: dict[str, Any], error: str | None = None
) -> Observation:
    return Observation(kind=kind, target=target.raw, ok=ok, phase="image", facts=facts, error=error)


async def run_tags(
    options: TagsOptions, check: CheckOptions, *, insecure: bool = False
) -> TagsResult:
    clock = SystemClock()
    started = clock.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    deadline_at = started + check.deadline
    target = repo_target(options.repository, insecure)
    base = parse_target(f"{target.registry}/{target.repository}", insecure=insecure)
    base = Target(
        **{
            **base.to_dict(),
            "raw": f"{target.registry}/{target.repository}",
            "tag": None,
            "scheme": target.scheme,
        }
    )
    network = Network(check)
    subjects = _Subjects(check.rule_dirs)
    background = Background(check.rule_dirs, options.configured_mirrors)
    try:
        session = await open_session(base, check, network, clock=clock, deadline_at=deadline_at)
        result = TagsResult(base, session, None, None, [], started_at=started_at)
        subjects.add(base, session.observations)
        if session.ok:
            await _scan(result, options, check, network, subjects, clock, deadline_at, background)
    finally:
        await network.aclose()
    # the auth driver also appended to the context's own list: keep one copy
    result.subjects = subjects.reports()
    result.duration_ms = round((clock.monotonic() - started) * 1000, 2)
    return result


async def _scan(
    result: TagsResult,
    options: TagsOptions,
    check: CheckOptions,
    network: Network,
    subjects: _Subjects,
    clock: Any,
    deadline_at: float,
    background: Background,
) -> None:
    """List and resolve the tags, then let each option add its observations."""
    scan = Scan(result, options, check, network, subjects, clock, deadline_at)
    scan.background = background
    if not await steps.list_and_resolve(scan):
        return
    if options.configured_mirrors is not None:
        found = await background.mirrors()
        mirrors = tuple(dict.fromkeys([*options.mirrors, *found]))
        scan.options = options = replace(options, mirrors=mirrors, configured_mirrors=None)
    if options.state is not None:
        await steps.record_drift(scan)
    if options.policy is not None:
        steps.check_policy(scan)
    if check.platforms:
        await steps.check_platforms(scan, _platforms)
    if options.require_signature:
        await steps.check_signatures(scan)
    if options.compare or options.mirrors:
        await steps.compare_elsewhere(scan, _compare)
    if options.manifests:
        await _references(
            result, options, check, network, subjects, scan.digests, clock, deadline_at
        )


async def _compare(
    base: Target,
    registry: str,
    role: str,
    tags: list[str],
    digests: dict[str, str],
    options: TagsOptions,
    check: CheckOptions,
    network: Network,
    subjects: _Subjects,
    clock: Any,
    deadline_at: float,
) -> Comparison:
    other = repo_target(f"{registry.rstrip('/')}/{base.repository}", base.insecure)
    other = Target(
        **{**other.to_dict(), "raw": f"{other.registry}/{other.repository}", "tag": None}
    )
    session = await open_session(
        other, check, network, clock=clock, deadline_at=deadline_at, role=role
    )
    subjects.add(other, session.observations)
    comparison = Comparison(other.registry, role, session.ok, session.error)
    if not session.ok:
        return comparison
    wanted = [t for t in tags if t in digests]
    resolution = await resolve_tags(session, wanted, concurrency=options.concurrency)
    for tag, info in resolution.tags.items():
        if info.outcome == "found":
            comparison.digests[tag] = info.digest
        elif info.outcome == "manifest_unknown":
            comparison.digests[tag] = None
    return comparison


async def _platforms(
    session: RepoSession, resolution: Resolution, tags: list[str]
) -> dict[str, list[str]]:
    """digest -> platforms, one GET per distinct digest (and config blob)."""
    from regdoctor.probes.image import platform_string
    from regdoctor.probes.manifest_request import ACCEPT

    wanted: dict[str, str] = {}
    for tag in tags:
        info = resolution.tags[tag]
        if info.digest and info.digest not in wanted:
            wanted[info.digest] = info.media_type or ""
    result: dict[str, list[str]] = {}

    async def one(digest: str, media_type: str) -> None:
        exchange = await session.fetch(
            "GET",
            session.manifest_url(digest),
            headers={"Accept": ACCEPT},
            body_limit=MANIFEST_LIMIT,
        )
        document = exchange.json() if exchange.status == 200 else None
        if media_type in INDEX_TYPES or (isinstance(document, dict) and "manifests" in document):
            result[digest] = platforms_of_index(document)
            return
        config = document.get("config") if isinstance(document, dict) else None
        if isinstance(config, dict) and isinstance(config.get("digest"), str):
            blob = await session.fetch(
                "GET",
                f"{session.base}/v2/{session.repository}/blobs/{config['digest']}",
                body_limit=256 * 1024,
            )
            data = blob.json() if blob.status == 200 else None
            if isinstance(data, dict):
                result[digest] = [platform_string(data)]

    semaphore = asyncio.Semaphore(8)

    async def bounded(digest: str, media_type: str) -> None:
        async with semaphore:
            await one(digest, media_type)

    await asyncio.gather(*(bounded(d, m) for d, m in wanted.items()))
    return result


async def _references(
    result: TagsResult,
    options: TagsOptions,
    check: CheckOptions,
    network: Network,
    subjects: _Subjects,
    digests: dict[str, str],
    clock: Any,
    deadline_at: float,
) -> None:
    """``tag.reference`` per image use in the deployment files; the digest a mutable
    tag resolves to now (this repository from the scan, others with one HEAD)."""
    from regdoctor.tags.workloads import image_uses, written_tag

    uses = []
    for path in options.manifests:
        uses.extend(await asyncio.to_thread(image_uses, path))
    sessions: dict[str, RepoSession] = {result.target.raw: result.session}
    base = result.target
    for use in uses:
        try:
            ref = parse_target(use.image, insecure=base.insecure)
        except InvalidReference as exc:
            t = base
            subjects.add(
                t,
                [
                    _observation(
                        t,
                        "tag.reference",
                        ok=False,
                        facts={
                            "file": use.file,
                            "where": use.where,
                            "image": use.image,
                            "mutable": None,
                        },
                        error=str(exc),
                    )
                ],
            )
            continue
        written = written_tag(use.image)
        reason = None
        if ref.digest is None:
            if written is None:
                reason = "no_tag"
            elif written == "latest":
                reason = "latest"
            elif options.policy is not None and not options.policy.fits(written):
                reason = "policy"
        digest = ref.digest
        error = None
        if reason is not None:
            key = f"{ref.registry}/{ref.repository}"
            if key == base.raw and ref.tag in digests:
                digest = digests[ref.tag]
            else:
                digest, error = await _resolve_elsewhere(
                    ref, key, sessions, check, network, clock, deadline_at
                )
        facts = {
            "file": use.file,
            "where": use.where,
            "image": use.image,
            "tag": written,
            "mutable": reason is not None,
            "reason": reason,
            "policy": str(options.policy) if options.policy else None,
            "resolved_digest": digest if reason else None,
            "pinned": f"{ref.registry}/{ref.repository}@{digest}" if digest and reason else None,
        }
        t = Target(**{**ref.to_dict(), "raw": use.image})
        subjects.add(
            t, [_observation(t, "tag.reference", ok=reason is None, facts=facts, error=error)]
        )


async def _resolve_elsewhere(
    ref: Target,
    key: str,
    sessions: dict[str, RepoSession],
    check: CheckOptions,
    network: Network,
    clock: Any,
    deadline_at: float,
) -> tuple[str | None, str | None]:
    session = sessions.get(key)
    if session is None:
        repo = Target(**{**ref.to_dict(), "raw": key, "tag": None, "digest": None})
        session = await open_session(repo, check, network, clock=clock, deadline_at=deadline_at)
        sessions[key] = session
    if not session.ok:
        return None, session.error
    resolution = await resolve_tags(session, [ref.tag or "latest"], concurrency=1)
    info = next(iter(resolution.tags.values()))
    return info.digest, info.error


def run(options: TagsOptions, check: CheckOptions, *, insecure: bool = False) -> TagsResult:
    """The scan, on an event loop of its own.

    The main coroutine hands the result over in a box and returns None: on its way out,
    ``asyncio.run`` restores the SIGINT handler, and ``signal.getsignal`` and
    ``signal.signal`` each look the old handler (a partial bound to the finished main
    task) up in an enum, whose error message holds the task's repr, which holds the
    repr of its result: a dataclass repr of every tag's record, twice (~8 ms of CPU for
    2,000 tags after the last HEAD)."""
    box: list[TagsResult] = []

    async def main() -> None:
        box.append(await run_tags(options, check, insecure=insecure))

    asyncio.run(main())
    return box[0]
