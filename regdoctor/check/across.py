"""What is judged across targets once their probes are done: a mirror's health beside
its upstream, a mirror's digest beside its upstream's, and the per-runtime verdicts (which
read the reports of the hosts a runtime's route goes through).

:func:`groups_of` says which targets depend on each other, so that the pipeline can
finish a group as soon as its targets are done (a streamed report) and still give the
same reports as when everything is finished together.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from regdoctor.check.catalog import catalog
from regdoctor.model import Observation, PhaseStatus, Target, TargetReport

if TYPE_CHECKING:
    from regdoctor.check.routes import Routes

__all__ = ["finish_reports", "groups_of"]


def _digest(report: TargetReport) -> str | None:
    manifest = next((o for o in report.observations if o.kind == "image.manifest"), None)
    digest = manifest.facts.get("digest") if manifest is not None else None
    return str(digest) if digest else None


def _with_mirror_digests(reports: list[TargetReport], routes: Routes) -> list[TargetReport]:
    """For an image checked at its registry and through mirrors, one ``tag.compare`` per
    mirror (the observation ``regdoctor tags`` makes): a pull-through cache that serves
    another digest than its upstream is stale. ``runtimes``: who pulls through it."""
    from dataclasses import replace

    mirrors = [r for r in reports if r.target.mirror_of and r.target.repository]
    out = []
    for report in reports:
        target = report.target
        upstream = _digest(report)
        found = [
            m
            for m in mirrors
            if m.target.mirror_of == target.registry
            and m.target.repository == target.repository
            and m.target.reference == target.reference
            and not target.mirror_of
        ]
        if not found or upstream is None:
            out.append(report)
            continue
        added = []
        for mirror in found:
            other = _digest(mirror)
            added.append(
                Observation(
                    kind="tag.compare",
                    target=target.id,
                    ok=other in (None, upstream),
                    phase="image",
                    facts={
                        "repository": target.repository,
                        "tag": target.tag,
                        "registry": target.registry,
                        "digest": upstream,
                        "other_registry": mirror.target.registry,
                        "other_role": "mirror",
                        "other_digest": other,
                        "other_outcome": "found" if other else "manifest_unknown",
                        "same": other == upstream,
                        "runtimes": [
                            r
                            for r in routes.runtimes
                            if any(
                                e.host == mirror.target.registry
                                for e in routes.route(r, target).endpoints
                            )
                        ],
                    },
                )
            )
        out.append(replace(report, observations=(*report.observations, *added)))
    return out


def _registry_healthy(report: TargetReport) -> tuple[bool, str | None, str | None]:
    """Whether a registry endpoint answered as a registry: (ok, failed phase, error)."""
    for phase in report.phases:
        if phase.name in ("dns", "tcp", "tls", "http") and phase.status not in (
            PhaseStatus.OK,
            PhaseStatus.WARN,
            PhaseStatus.NOT_APPLICABLE,
        ):
            return False, phase.name, phase.error or phase.reason
    return True, None, None


def _with_mirror_health(
    reports: list[TargetReport], rule_dirs: Sequence[Path] = ()
) -> list[TargetReport]:
    """For each configured mirror, a ``mirror.health`` observation that compares it with
    its upstream (when the upstream was checked in the same run), judged again."""
    from dataclasses import replace

    from regdoctor.engine import evaluate

    out = []
    for report in reports:
        target = report.target
        if target.kind != "registry" or not target.mirror_of:
            out.append(report)
            continue
        upstreams = [
            r
            for r in reports
            if r.target.kind == "registry"
            and not r.target.mirror_of
            and r.target.registry == target.mirror_of
        ]
        ok, phase, error = _registry_healthy(report)
        upstream_ok = None
        if upstreams:
            upstream_ok = any(_registry_healthy(r)[0] for r in upstreams)
        observation = Observation(
            kind="mirror.health",
            target=target.id,
            ok=ok,
            phase="http",
            facts={
                "mirror": target.raw,
                "mirror_of": target.mirror_of,
                "runtime": target.runtime,
                "mirror_ok": ok,
                "failed_phase": phase,
                "upstream_checked": bool(upstreams),
                "upstream_ok": upstream_ok,
                "upstream": upstreams[0].target.raw if upstreams else None,
            },
            error=None if ok else error,
            source=target.source,
        )
        observations = (*report.observations, observation)
        findings = evaluate(catalog(rule_dirs), target, observations)
        out.append(replace(report, observations=observations, findings=tuple(findings)))
    return out


def groups_of(targets: Sequence[Target], routes: Routes | None) -> list[list[int]]:
    """Targets whose final reports depend on each other, as lists of indexes in target
    order: a mirror and its upstream (``mirror.health``, ``tag.compare``), the targets of
    one registry, and the hosts a runtime's route to a target goes through (the
    per-runtime walk reads their reports). A group is done when all its targets are."""
    parent = list(range(len(targets)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    registries: dict[str, list[int]] = {}
    for index, target in enumerate(targets):
        if target.kind == "registry":
            registries.setdefault(target.registry, []).append(index)
    for indexes in registries.values():
        for index in indexes[1:]:
            union(indexes[0], index)
    for index, target in enumerate(targets):
        if target.kind != "registry":
            continue
        hosts = {target.mirror_of} if target.mirror_of else set()
        hosts |= {t.registry for t in targets if t.mirror_of == target.registry}
        if routes is not None:
            for runtime in routes.runtimes:
                for endpoint in routes.route(runtime, target).endpoints:
                    hosts |= {endpoint.host, endpoint.host.removesuffix(":443")}
        for host in hosts:
            for other in registries.get(host or "", ()):
                union(index, other)
    groups: dict[int, list[int]] = {}
    for index in range(len(targets)):
        groups.setdefault(find(index), []).append(index)
    return list(groups.values())


def finish_reports(
    reports: list[TargetReport], routes: Routes | None, rule_dirs: Sequence[Path] = ()
) -> list[TargetReport]:
    """What is judged across targets, once their probes are done: mirror health, mirror
    digests and the per-runtime verdicts. Applied to a group of :func:`groups_of` it gives
    the same reports as applied to the whole run."""
    reports = _with_mirror_health(reports, rule_dirs)
    if routes is not None:
        from regdoctor.check.verdicts import judge_runtimes

        reports = judge_runtimes(_with_mirror_digests(reports, routes), routes, rule_dirs)
    return reports
