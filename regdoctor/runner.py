"""Run the probes of every target concurrently under one deadline, then let the rules
judge the observations. This is the only place that knows the probe order.

A probe whose prerequisite failed is recorded as *not run, because X*; a probe that
raises becomes a ``probe.crashed`` observation and the run goes on; a probe that runs
out of time becomes ``probe.timeout``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from regdoctor import __version__
from regdoctor.model import (
    Observation,
    PhaseResult,
    PhaseStatus,
    Report,
    Target,
    TargetReport,
)
from regdoctor.probes.auth import AuthProbe
from regdoctor.probes.base import CheckOptions, Clock, Probe, ProbeContext, SystemClock, TargetState
from regdoctor.probes.dns import DnsProbe
from regdoctor.probes.http_ping import HttpPingProbe
from regdoctor.probes.image import ImageProbe
from regdoctor.probes.net import Network
from regdoctor.probes.tcp import TcpProbe
from regdoctor.probes.tls import TlsProbe

#: The probes, in the order a pull goes through the phases. Explicit, not discovered.
PROBES: tuple[Probe, ...] = (
    DnsProbe(),
    TcpProbe(),
    TlsProbe(),
    HttpPingProbe(),
    AuthProbe(),
    ImageProbe(),
)

_PASSING = (PhaseStatus.OK, PhaseStatus.WARN, PhaseStatus.NOT_APPLICABLE)
#: The most network waits one probe makes in a row (auth: realm DNS, TCP, TLS, token,
#: ping); a probe gets that many phase timeouts before it is cut off.
_WAITS_PER_PROBE = 6


def _blocker(state: TargetState, probe: Probe, skipped_because: dict[str, str]) -> str | None:
    """The probe that failed first among ``probe``'s prerequisites, or None."""
    for need in probe.needs:
        if need in skipped_because:
            return skipped_because[need]
        verdict = state.verdicts.get(need)
        if verdict is None or verdict[0] not in _PASSING:
            return need
    return None


async def _run_probe(probe: Probe, ctx: ProbeContext) -> list[Observation]:
    observations: list[Observation] = []
    async for observation in probe.run(ctx):
        observations.append(observation)
        ctx.state.observations.append(observation)
    return observations


async def check_target(
    target: Target, options: CheckOptions, network: Network, clock: Clock, deadline_at: float
) -> TargetReport:
    start = clock.monotonic()
    state = TargetState(target=target)
    ctx = ProbeContext(
        options=options, state=state, network=network, clock=clock, deadline_at=deadline_at
    )
    phases: list[PhaseResult] = []
    skipped_because: dict[str, str] = {}
    for probe in PROBES:
        if not probe.applies(target):
            state.verdict(probe.id, PhaseStatus.NOT_APPLICABLE, "not an image reference")
            phases.append(
                PhaseResult(probe.id, PhaseStatus.NOT_APPLICABLE, reason="not an image reference")
            )
            continue
        blocker = _blocker(state, probe, skipped_because)
        if blocker is None and ctx.remaining() <= 0:
            blocker = "deadline"
        if blocker is not None:
            skipped_because[probe.id] = blocker
            reason = (
                "the global deadline was reached"
                if blocker == "deadline"
                else f"not run because the {blocker} phase failed"
            )
            state.verdict(probe.id, PhaseStatus.SKIPPED, reason)
            state.observations.append(
                ctx.observe(
                    "probe.skipped",
                    ok=True,
                    phase=probe.id,
                    facts={"probe": probe.id, "because": blocker, "reason": reason},
                )
            )
            phases.append(PhaseResult(probe.id, PhaseStatus.SKIPPED, reason=reason))
            continue
        phases.append(await _run_one(probe, ctx))
    endpoint = {
        "scheme": state.scheme,
        "host": target.host,
        "port": target.port,
        "address": state.address,
        "addresses": state.addresses,
        "fallback_allowed": state.fallback_allowed,
        "verify_enforced": state.verify_enforced,
    }
    from regdoctor.engine import evaluate

    findings = evaluate(_catalog(), target, state.observations)
    return TargetReport(
        target=target,
        endpoint=endpoint,
        phases=tuple(phases),
        observations=tuple(state.observations),
        findings=tuple(findings),
        duration_ms=round((clock.monotonic() - start) * 1000, 2),
    )


async def _run_one(probe: Probe, ctx: ProbeContext) -> PhaseResult:
    state, options = ctx.state, ctx.options
    started = ctx.clock.monotonic()
    cap = options.timeout * _WAITS_PER_PROBE
    budget = min(cap, ctx.remaining())
    hit_deadline = ctx.remaining() <= cap
    try:
        async with asyncio.timeout(budget):
            await _run_probe(probe, ctx)
    except TimeoutError:
        message = (
            f"the global deadline ({options.deadline:g}s) was reached"
            if hit_deadline
            else f"the {probe.id} phase took longer than {cap:g}s"
        )
        state.observations.append(
            ctx.observe(
                "probe.timeout",
                ok=False,
                phase=probe.id,
                facts={"probe": probe.id, "timeout_s": round(budget, 3), "deadline": hit_deadline},
                error=message,
            )
        )
        state.verdict(probe.id, PhaseStatus.FAILED, message)
    except Exception as exc:  # a crash is a result, not the end of the run
        if options.trace is not None:
            import traceback

            options.trace("".join(traceback.format_exception(exc)))
        state.observations.append(
            ctx.observe(
                "probe.crashed",
                ok=False,
                phase=probe.id,
                facts={"probe": probe.id, "exception": type(exc).__name__},
                error=f"{type(exc).__name__}: {exc}",
            )
        )
        state.verdict(probe.id, PhaseStatus.CRASHED, f"{type(exc).__name__}: {exc}")
    status, error = state.verdicts.get(probe.id, (None, None))
    if status is None:
        failed = [o for o in state.observations if o.phase == probe.id and not o.ok]
        status = PhaseStatus.FAILED if failed else PhaseStatus.OK
        error = failed[0].error if failed else None
    duration = (ctx.clock.monotonic() - started) * 1000
    reason = error if status is PhaseStatus.NOT_APPLICABLE else None
    return PhaseResult(
        probe.id,
        status,
        round(duration, 2),
        error=None if status is PhaseStatus.NOT_APPLICABLE else error,
        reason=reason,
    )


_CATALOG = None


def _catalog():  # type: ignore[no-untyped-def]
    global _CATALOG
    if _CATALOG is None:
        from regdoctor.engine import load_catalog

        _CATALOG = load_catalog()
    return _CATALOG


async def run_check(
    targets: Sequence[Target],
    options: CheckOptions,
    *,
    clock: Clock | None = None,
    command: Sequence[str] = (),
) -> Report:
    clock = clock or SystemClock()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start = clock.monotonic()
    deadline_at = start + options.deadline
    network = Network(options)
    try:
        reports = await asyncio.gather(
            *(check_target(t, options, network, clock, deadline_at) for t in targets)
        )
    finally:
        await network.aclose()
    duration = (clock.monotonic() - start) * 1000
    return Report(
        targets=tuple(reports),
        started_at=started_at,
        duration_ms=round(duration, 2),
        version=__version__,
        command=tuple(command),
        deadline_hit=any(
            o.kind == "probe.timeout" and o.facts.get("deadline")
            for r in reports
            for o in r.observations
        )
        or duration / 1000 >= options.deadline,
    )


def check(targets: Sequence[Target], options: CheckOptions, command: Sequence[str] = ()) -> Report:
    started = time.monotonic()
    del started
    return asyncio.run(run_check(targets, options, command=command))
