"""The steps of a tag scan (``regdoctor tags``), one per option: each reads the
:class:`~regdoctor.tags.command.Scan` and adds observations for the rules to judge."""

from __future__ import annotations

import asyncio
import fnmatch
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from regdoctor.probes.image import platform_matches
from regdoctor.tags import state as state_file
from regdoctor.tags.policy import is_signature_tag
from regdoctor.tags.scan import list_tags, ratelimit_facts, resolve_tags

if TYPE_CHECKING:
    from regdoctor.tags.command import Scan

__all__ = [
    "check_platforms",
    "check_policy",
    "check_signatures",
    "compare_elsewhere",
    "list_and_resolve",
    "record_drift",
]


async def list_and_resolve(scan: Scan) -> bool:
    """``tags.listing`` and ``tags.resolved``: the tags, and the digest of the selected
    ones. False when the listing failed (nothing else can run)."""
    options, base, repo = scan.options, scan.base, scan.repo
    listing = await list_tags(
        scan.result.session, page_size=options.page_size, max_tags=options.max_tags
    )
    scan.result.listing = listing
    scan.add(base, "tags.listing", ok=listing.ok, facts=listing.facts(), error=listing.error)
    if not listing.ok:
        return False
    scan.all_tags = set(listing.tags)
    scan.selected = sorted(
        t for t in listing.tags if options.match is None or fnmatch.fnmatchcase(t, options.match)
    )
    if scan.background is not None:  # what the scan's end needs, done while it waits
        scan.background.start()
    resolution = await resolve_tags(
        scan.result.session, scan.selected, concurrency=options.concurrency
    )
    scan.result.resolution = resolution
    facts = resolution.facts(repo)
    scan.add(base, "tags.resolved", ok=facts["failed"] == 0, facts=facts)
    rate = ratelimit_facts(resolution.ratelimit)
    if rate is not None:
        scan.add(base, "ratelimit.status", ok=True, facts=rate)
    scan.digests = {t: i.digest for t, i in resolution.tags.items() if i.digest}
    scan.images = [t for t in scan.selected if not is_signature_tag(t)]
    return True


async def record_drift(scan: Scan) -> None:
    """``--state``: ``tag.drift`` for every tag that now points elsewhere."""
    state = scan.options.state
    assert state is not None
    now = datetime.now(UTC).isoformat(timespec="seconds")
    key = f"{scan.base.registry}/{scan.repo}"
    drifts = await asyncio.to_thread(
        state_file.record,
        state,
        key,
        scan.digests,
        now,
        timeout=max(0.5, scan.deadline_at - scan.clock.monotonic()),
    )
    scan.result.drifts, scan.result.state_path = drifts, state
    for drift in drifts:
        scan.add(scan.tag_target(drift.tag), "tag.drift", ok=False, facts=drift.facts(scan.repo))


def check_policy(scan: Scan) -> None:
    """``--policy``: one ``tag.policy`` with the tags that do not fit."""
    policy = scan.options.policy
    assert policy is not None
    misfits = [t for t in scan.images if not policy.fits(t)]
    facts = {
        "repository": scan.repo,
        "policy": str(policy),
        "checked": len(scan.images),
        "misfits": misfits[:200],
        "misfit_count": len(misfits),
    }
    scan.add(scan.base, "tag.policy", ok=not misfits, facts=facts)


async def check_platforms(
    scan: Scan, platforms_of: Callable[..., Awaitable[dict[str, list[str]]]]
) -> None:
    """``--platform``: ``image.platform`` per tag and requested platform."""
    resolution = scan.result.resolution
    assert resolution is not None
    platforms = await platforms_of(scan.result.session, resolution, scan.images)
    for tag in scan.images:
        info = resolution.tags[tag]
        if info.digest is None or info.digest not in platforms:
            continue
        available = platforms[info.digest]
        target = scan.tag_target(tag)
        for requested in scan.check.platforms:
            matched = any(platform_matches(requested, p) for p in available)
            scan.add(
                target,
                "image.platform",
                ok=matched,
                facts={
                    "requested": requested,
                    "available": available,
                    "matched": matched,
                    "tag": tag,
                },
                error=None if matched else f"no matching manifest for {requested}",
            )


async def check_signatures(scan: Scan) -> None:
    """``--require-signature``: ``tag.signature`` per tag (cosign tag or OCI referrer)."""
    from regdoctor.tags.signatures import find_signatures

    by_digest: dict[str, list[str]] = defaultdict(list)
    for tag in scan.images:
        if scan.digests.get(tag):
            by_digest[scan.digests[tag]].append(tag)
    semaphore = asyncio.Semaphore(scan.options.concurrency)

    async def sign(digest: str) -> Any:
        async with semaphore:
            return await find_signatures(scan.result.session, digest, scan.all_tags)

    for signatures in await asyncio.gather(*(sign(d) for d in by_digest)):
        for tag in by_digest[signatures.digest]:
            facts = {"repository": scan.repo, "tag": tag, **signatures.facts()}
            scan.add(scan.tag_target(tag), "tag.signature", ok=signatures.signed, facts=facts)


async def compare_elsewhere(scan: Scan, compare: Callable[..., Awaitable[Any]]) -> None:
    """``--compare``/``--mirror`` (and the configured mirrors): ``tag.compare`` per tag
    and other registry, the same digest or not."""
    options = scan.options
    others = [(r, "replica") for r in options.compare] + [(r, "mirror") for r in options.mirrors]
    comparisons = await asyncio.gather(
        *(
            compare(
                scan.base,
                registry,
                role,
                scan.images,
                scan.digests,
                options,
                scan.check,
                scan.network,
                scan.subjects,
                scan.clock,
                scan.deadline_at,
            )
            for registry, role in others
        )
    )
    scan.result.comparisons = list(comparisons)
    for comparison in comparisons:
        for tag in scan.images:
            if tag not in comparison.digests or not scan.digests.get(tag):
                continue
            other = comparison.digests[tag]
            same = other == scan.digests[tag]
            facts = {
                "repository": scan.repo,
                "tag": tag,
                "registry": scan.base.registry,
                "digest": scan.digests[tag],
                "other_registry": comparison.registry,
                "other_role": comparison.role,
                "other_digest": other,
                "other_outcome": "found" if other else "manifest_unknown",
                "same": same,
            }
            scan.add(scan.tag_target(tag), "tag.compare", ok=same, facts=facts)
