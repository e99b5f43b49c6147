"""Harbor: when the registry says it is Harbor, ask its health API which component fails.

A Harbor answers ``GET /api/v2.0/systeminfo`` (anonymously) with a JSON object naming
its version and auth mode, and ``GET /api/v2.0/health`` with::

    {"status": "unhealthy",
     "components": [{"name": "core", "status": "healthy"},
                    {"name": "database", "status": "unhealthy", "error": "..."}, ...]}

This probe yields ``harbor.systeminfo`` (is it Harbor at all), ``harbor.health`` (the
overall status) and one ``harbor.component`` observation per unhealthy component, which
the rules under ``rules/harbor`` turn into a ``server.error`` finding naming it. A
registry that is not Harbor gets one ``harbor.systeminfo`` observation and the phase is
*n/a*. The probe starts once the HTTP phase answered and runs beside the auth and image
phases (``background``), off the critical path: its requests use the target's
connection while those phases do not need it. It never fails a pull by itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from regdoctor.model import Observation, PhaseStatus, Target
from regdoctor.probes.base import ProbeContext, failure_summary
from regdoctor.probes.exchange import fetch, observe_exchange
from regdoctor.probes.http_ping import base_url
from regdoctor.redact.secrets import redact

SYSTEMINFO = "/api/v2.0/systeminfo"
HEALTH = "/api/v2.0/health"
_BODY_LIMIT = 64 * 1024
_MAX_COMPONENTS = 32
#: Keys only Harbor's systeminfo carries (any one is enough).
_HARBOR_KEYS = frozenset(
    {
        "harbor_version",
        "auth_mode",
        "primary_auth_mode",
        "registry_url",
        "with_notary",
        "with_chartmuseum",
        "self_registration",
        "has_ca_root",
        "registry_storage_provider_name",
        "banner_message",
        "oidc_provider_name",
    }
)
#: Harbor component name -> the group a rule names (the scanner is trivy, or clair).
COMPONENT_GROUPS: dict[str, str] = {
    "core": "core",
    "portal": "core",
    "database": "database",
    "redis": "redis",
    "registry": "registry",
    "registryctl": "registry",
    "jobservice": "jobservice",
    "trivy": "scanner",
    "clair": "scanner",
    "scanner": "scanner",
    "trivy_adapter": "scanner",
}


def component_group(name: str) -> str:
    return COMPONENT_GROUPS.get(name.strip().lower(), "other")


def _short(value: Any, limit: int = 300) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:limit]


class HarborProbe:
    id = "harbor"
    needs: tuple[str, ...] = ("http",)
    background = True  # beside auth and image, never after them (check/pipeline.py)

    def applies(self, target: Target) -> bool:
        return True

    def summary(self, observations: Sequence[Observation]) -> str:
        return failure_summary(observations)

    async def run(self, ctx: ProbeContext) -> AsyncIterator[Observation]:
        base = base_url(ctx)
        info = await fetch(ctx, "GET", base + SYSTEMINFO, body_limit=_BODY_LIMIT)
        document = info.json() if info.status == 200 else None
        is_harbor = isinstance(document, Mapping) and bool(_HARBOR_KEYS & set(document))
        version = _short(document.get("harbor_version"), 80) if is_harbor else None  # type: ignore[union-attr]
        yield ctx.observe(
            "harbor.systeminfo",
            ok=True,
            phase="harbor",
            facts={
                "is_harbor": is_harbor,
                "harbor_version": version,
                "status": info.status,
                "outcome": info.outcome,
            },
            duration_ms=info.duration_ms,
        )
        if not is_harbor:
            ctx.state.verdict("harbor", PhaseStatus.NOT_APPLICABLE, "not a Harbor registry")
            return
        health = await fetch(ctx, "GET", base + HEALTH, body_limit=_BODY_LIMIT)
        data = health.json() if health.status == 200 else None
        if not isinstance(data, Mapping):
            # No health document: say what the endpoint answered; a 5xx is for the rules.
            yield observe_exchange(
                ctx, health, phase="harbor", step="harbor.health", ok=health.status == 200
            )
            yield ctx.observe(
                "harbor.health",
                ok=False,
                phase="harbor",
                facts={"health": "unknown", "status": health.status, "unhealthy": []},
                error=health.error or f"HTTP {health.status}: no health document",
                duration_ms=health.duration_ms,
            )
            ctx.state.verdict("harbor", PhaseStatus.WARN, "Harbor's health API did not answer")
            return
        components = data.get("components")
        components = components if isinstance(components, list) else []
        unhealthy: list[Mapping[str, Any]] = [
            c
            for c in components[:_MAX_COMPONENTS]
            if isinstance(c, Mapping) and str(c.get("status", "")).lower() != "healthy"
        ]
        overall = str(data.get("status") or ("unhealthy" if unhealthy else "healthy")).lower()
        names = [str(c.get("name") or "?")[:64] for c in unhealthy]
        yield ctx.observe(
            "harbor.health",
            ok=overall == "healthy" and not unhealthy,
            phase="harbor",
            facts={"health": overall[:32], "status": health.status, "unhealthy": names},
            duration_ms=health.duration_ms,
        )
        for component, name in zip(unhealthy, names, strict=True):
            yield ctx.observe(
                "harbor.component",
                ok=False,
                phase="harbor",
                facts={
                    "url": redact(base + HEALTH),
                    "component": name,
                    "component_group": component_group(name),
                    "health": str(component.get("status") or "unknown")[:32],
                },
                error=_short(component.get("error")) or f"{name} is unhealthy",
            )
        if unhealthy:
            ctx.state.verdict("harbor", PhaseStatus.FAILED, "unhealthy: " + ", ".join(names))
        else:
            ctx.state.verdict("harbor", PhaseStatus.OK)
