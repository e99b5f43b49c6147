"""Image: does the manifest exist, what is its digest, for which platforms, and what
does the registry's rate limit say. Only for image targets.

The manifest endpoint of distribution answers ``MANIFEST_UNKNOWN`` both for a missing
tag and for a missing repository; ``tags/list`` tells the two apart (``NAME_UNKNOWN``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from regdoctor.model import Observation, PhaseStatus, Target
from regdoctor.net import wwwauth
from regdoctor.probes.base import ProbeContext, failure_summary, first, short_digest
from regdoctor.probes.blob_storage import storage_look
from regdoctor.probes.exchange import Exchange, fetch, observe_exchange
from regdoctor.probes.manifest_body import MANIFEST_TYPES, ManifestCheck, manifest_kind, validate
from regdoctor.probes.manifest_request import (
    INDEX_TYPES,
    manifest_method,
    manifest_request,
    send_manifest,
    sent_beside,
)
from regdoctor.probes.urls import base_url


def platform_string(platform: dict[str, Any]) -> str:
    parts = [str(platform.get("os", "?")), str(platform.get("architecture", "?"))]
    if platform.get("variant"):
        parts.append(str(platform["variant"]))
    return "/".join(parts)


def platforms_of_index(document: Any) -> list[str]:
    if not isinstance(document, dict) or not isinstance(document.get("manifests"), list):
        return []
    found = []
    for entry in document["manifests"][:200]:
        if isinstance(entry, dict) and isinstance(entry.get("platform"), dict):
            name = platform_string(entry["platform"])
            if name != "unknown/unknown":  # attestation manifests
                found.append(name)
    return found


def local_platform() -> str:
    """The platform the runtimes on this machine pull (Go's runtime.GOOS/GOARCH, with
    containerd's default arm variants): ``linux/amd64``, ``linux/arm64``..."""
    import platform

    machine = platform.machine().lower()
    arch = {
        "x86_64": "amd64",
        "amd64": "amd64",
        "aarch64": "arm64",
        "arm64": "arm64",
        "armv7l": "arm/v7",
        "armv6l": "arm/v6",
        "i386": "386",
        "i686": "386",
        "ppc64le": "ppc64le",
        "s390x": "s390x",
        "riscv64": "riscv64",
    }.get(machine, machine)
    return f"linux/{arch}"


def platform_matches(requested: str, available: str) -> bool:
    """``linux/arm64`` matches ``linux/arm64/v8``; a requested variant must match."""
    want, have = requested.split("/"), available.split("/")
    if want[:2] != have[:2]:
        return False
    return len(want) < 3 or (len(have) >= 3 and want[2] == have[2])


#: How many existing tags a missing one is shown with.
NEAREST_TAGS = 5


@functools.cache
def _tag_re() -> re.Pattern[str]:
    return re.compile(r'"([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"')


def tags_of(exchange: Exchange) -> list[str]:
    """The tags of a ``tags/list`` answer; from a body cut at the size limit, the
    complete tag strings before the cut."""
    document = exchange.json()
    if isinstance(document, dict) and isinstance(document.get("tags"), list):
        return [t for t in document["tags"] if isinstance(t, str)]
    body = exchange.body.decode("utf-8", errors="replace")
    _, found, rest = body.partition('"tags"')
    return _tag_re().findall(rest) if found else []


def nearest_tag_facts(reference: str, tags: Sequence[str]) -> dict[str, Any]:
    """``tags_nearest``: up to five existing tags most like ``reference`` (difflib's
    ratio, then the tag itself), ``tags_count`` (how many the registry lists) and
    ``tags_more`` (how many of those ``tags_nearest`` leaves out)."""
    import difflib

    unique = list(dict.fromkeys(tags))
    matcher = difflib.SequenceMatcher(b=reference, autojunk=False)

    def likeness(tag: str) -> float:
        matcher.set_seq1(tag)
        return matcher.ratio()

    nearest = sorted(unique, key=lambda t: (-likeness(t), t))[:NEAREST_TAGS]
    count = len(unique)
    return {"tags_count": count, "tags_nearest": nearest, "tags_more": count - len(nearest)}


def classify(exchange: Exchange) -> str:
    status = exchange.status
    if exchange.outcome != "response" or status is None:
        return "error"
    if status == 200:
        return "found"
    if status == 401:
        challenge = wwwauth.first(exchange.header("www-authenticate"))
        if challenge is not None and challenge.error == "insufficient_scope":
            return "denied"
        return "unauthorized"
    if status == 403:
        return "denied"
    if status == 404:
        codes = exchange.error_codes
        if "NAME_UNKNOWN" in codes:
            return "name_unknown"
        return "manifest_unknown"
    if status == 429:
        return "ratelimited"
    if status >= 500:
        return "server_error"
    return "error"


class ImageProbe:
    id = "image"
    needs: tuple[str, ...] = ("auth",)

    def applies(self, target: Target) -> bool:
        return target.is_image

    def summary(self, observations: Sequence[Observation]) -> str:
        manifest = first(observations, "image.manifest")
        if manifest and manifest.facts.get("outcome"):
            outcome = str(manifest.facts["outcome"]).replace("_", " ")
            digest = manifest.facts.get("digest")
            text = f"{outcome} {short_digest(str(digest))}" if digest else outcome
            platforms = manifest.facts.get("platforms")
            if isinstance(platforms, list) and platforms:
                text += f" ({len(platforms)} platform{'s' if len(platforms) != 1 else ''})"
            return text
        return failure_summary(observations)

    async def run(self, ctx: ProbeContext) -> AsyncIterator[Observation]:
        target, state = ctx.target, ctx.state
        assert target.repository is not None and target.reference is not None
        base = base_url(ctx)
        url, headers = manifest_request(ctx)
        # GET where the blob look runs: its answer is read as the HEAD's would be (status,
        # digest, media type) and its body is the one a HEAD would have been followed by
        method = manifest_method(target)
        head = await sent_beside(ctx, url, method) or await send_manifest(
            ctx, method, url, headers, state.authorization
        )
        step = "manifest.get" if method == "GET" else "manifest.head"
        yield observe_exchange(ctx, head, phase="image", step=step, ok=head.status == 200)
        outcome = classify(head)
        final, read_body = head, False  # read_body: the facts come from a manifest's body
        document: Any = None
        body_check: ManifestCheck | None = None
        media_type = (head.header("content-type") or "").split(";")[0].strip() or None
        needs_body = (
            outcome != "found"
            or media_type in INDEX_TYPES
            or ctx.options.platforms
            or not head.header("docker-content-digest")
            or media_type not in MANIFEST_TYPES  # HTML, JSON of any kind: look at it
        )
        if method == "GET" and outcome == "found" and not needs_body:
            # a manifest HEAD alone would have done: its body only names the config blob
            document = None if head.truncated else head.json()
        elif needs_body and outcome not in ("ratelimited",):
            if method == "GET":
                get = head  # the body is at hand: no second request
            else:
                get = await send_manifest(ctx, "GET", url, headers, state.authorization)
                yield observe_exchange(
                    ctx, get, phase="image", step="manifest.get", ok=get.status == 200
                )
            final, read_body = get, True
            outcome = classify(get)
            if outcome == "found":
                media_type = (get.header("content-type") or "").split(";")[0].strip() or media_type
                body_check = validate(get.header("content-type"), get.body, truncated=get.truncated)
                document = body_check.document
                if not body_check.valid:
                    outcome = "invalid"  # a 200 no runtime can use
        tag_facts: dict[str, Any] = {"tags_count": None, "tags_nearest": [], "tags_more": 0}
        if outcome == "manifest_unknown":
            tags = await fetch(
                ctx,
                "GET",
                f"{base}/v2/{target.repository}/tags/list",
                authorization=state.authorization,
                body_limit=64 * 1024,
            )
            yield observe_exchange(
                ctx, tags, phase="image", step="tags.list", ok=tags.status == 200
            )
            if tags.status == 404 and "NAME_UNKNOWN" in tags.error_codes:
                outcome = "name_unknown"
                final = tags
            elif tags.status == 200:
                tag_facts = nearest_tag_facts(target.reference, tags_of(tags))
        is_index = media_type in INDEX_TYPES or (
            isinstance(document, dict) and isinstance(document.get("manifests"), list)
        )
        platforms = platforms_of_index(document) if is_index else []
        if (
            outcome == "found"
            and not is_index
            and ctx.options.platforms
            and isinstance(document, dict)
        ):
            single = await self._config_platform(ctx, base, document)
            platforms = [single] if single else []
        challenge = wwwauth.first(final.header("www-authenticate"))
        facts = {
            "repository": target.repository,
            "reference": target.reference,
            "outcome": outcome,
            "status": final.status,
            "error_codes": final.error_codes,
            "digest": None  # the digest header of a page that is no manifest names nothing
            if outcome == "invalid"
            else final.header("docker-content-digest") or head.header("docker-content-digest"),
            "media_type": media_type,
            "size": len(final.body) if read_body else _int(final.header("content-length")),
            "is_index": is_index,
            "platforms": platforms,
            "insufficient_scope": bool(challenge and challenge.error == "insufficient_scope"),
            "manifest_kind": body_check.kind if body_check else manifest_kind(outcome, media_type),
            "body_problem": body_check.problem if body_check else None,
            "error_detail": final.error_detail,
            **tag_facts,
        }
        error = (
            None
            if outcome == "found"
            else (body_check.detail if body_check and body_check.detail else None)
            or final.error_message
            or final.error
            or f"HTTP {final.status}"
        )
        said = error  # the phase's one line: without the detail
        if error is not None and final.error_detail:
            error += f" (detail: {final.error_detail})"
        yield ctx.observe(
            "image.manifest", ok=outcome == "found", phase="image", facts=facts, error=error
        )
        limit = _int((head.header("ratelimit-limit") or "").split(";")[0])
        remaining = _int((head.header("ratelimit-remaining") or "").split(";")[0])
        if limit is not None or remaining is not None:
            window = _window(head.header("ratelimit-limit"))
            yield ctx.observe(
                "ratelimit.status",
                ok=True,
                phase="image",
                facts={
                    "limit": limit,
                    "remaining": remaining,
                    "window_s": window,
                    "source": head.header("ratelimit-source"),
                },
            )
        matched_all = True
        # without --platform, a runtime on this machine picks its own platform from an
        # index (platforms.DefaultSpec in dockerd, containerd and containers/image)
        wanted = ctx.options.platforms or ((local_platform(),) if is_index and platforms else ())
        if outcome == "found" and wanted:
            for requested in wanted:
                matched = any(platform_matches(requested, p) for p in platforms)
                matched_all &= matched
                yield ctx.observe(
                    "image.platform",
                    ok=matched,
                    phase="image",
                    facts={
                        "requested": requested,
                        "available": platforms,
                        "matched": matched,
                        "default": not ctx.options.platforms,
                    },
                    error=None if matched else f"no matching manifest for {requested}",
                )
        storage_problem = None
        if outcome == "found" and matched_all:
            async for observation in storage_look(ctx, base, headers, document, _local_entry):
                if observation.kind == "image.blob" and not observation.ok:
                    storage_problem = observation.error
                yield observation
        if outcome != "found":
            state.verdict("image", PhaseStatus.FAILED, said)
        elif not matched_all:
            state.verdict("image", PhaseStatus.FAILED, "requested platform not in the image")
        elif storage_problem:
            state.verdict("image", PhaseStatus.FAILED, storage_problem)
        else:
            state.verdict("image", PhaseStatus.OK)

    async def _config_platform(
        self, ctx: ProbeContext, base: str, manifest: dict[str, Any]
    ) -> str | None:
        config = manifest.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            return None
        url = f"{base}/v2/{ctx.target.repository}/blobs/{config['digest']}"
        exchange = await fetch(
            ctx, "GET", url, authorization=ctx.state.authorization, body_limit=256 * 1024
        )
        redirect = exchange.header("location")
        if exchange.status in (301, 302, 307) and redirect:
            # Blob storage lives elsewhere (S3, CDN): never forward credentials there.
            exchange = await fetch(ctx, "GET", redirect, body_limit=256 * 1024)
        try:
            data = json.loads(exchange.body)
        except (ValueError, RecursionError):
            return None
        return platform_string(data) if isinstance(data, dict) else None


def _local_entry(document: dict[str, Any]) -> str | None:
    """The digest of the index entry this machine pulls (the runtimes' default
    platform), or None."""
    wanted = local_platform()
    for entry in document.get("manifests") or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
            continue
        platform = entry.get("platform")
        if isinstance(platform, dict) and platform_matches(wanted, platform_string(platform)):
            return str(entry["digest"])
    return None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None


def _window(value: str | None) -> int | None:
    """``RateLimit-Limit: 100;w=21600`` -> 21600."""
    if not value or "w=" not in value:
        return None
    return _int(value.split("w=", 1)[1].split(";")[0])
