"""Run the probes of every target concurrently under one deadline, then let the rules
judge the observations. This is the only place that knows the probe order.

A probe whose prerequisite failed is recorded as *not run, because X*; a probe that
raises becomes a ``probe.crashed`` observation and the run goes on; a probe that runs
out of time becomes ``probe.timeout``.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from regdoctor import __version__
from regdoctor.check.across import finish_reports, groups_of
from regdoctor.check.catalog import catalog
from regdoctor.model import (
    Observation,
    PhaseResult,
    PhaseStatus,
    Report,
    RoundTrip,
    Target,
    TargetReport,
)
from regdoctor.net import roundtrips
from regdoctor.net.network import Network
from regdoctor.options import CheckOptions, Clock, SystemClock
from regdoctor.probes import credential_beside, realm_early
from regdoctor.probes.auth import AuthProbe
from regdoctor.probes.base import Probe, ProbeContext, TargetState, Wait
from regdoctor.probes.dns import DnsProbe
from regdoctor.probes.harbor import HarborProbe
from regdoctor.probes.http_ping import HttpPingProbe, names_port
from regdoctor.probes.image import ImageProbe
from regdoctor.probes.manifest_request import drop_head_beside
from regdoctor.probes.tcp import TcpProbe
from regdoctor.probes.tls import TlsProbe

if TYPE_CHECKING:
    from regdoctor.check.routes import Route, Routes

#: The probes, in the order a pull goes through the phases. Explicit, not discovered.
#: One with ``background = True`` (Harbor) runs beside the ones after it.
PROBES: tuple[Probe, ...] = (
    DnsProbe(),
    TcpProbe(),
    TlsProbe(),
    HttpPingProbe(),
    AuthProbe(),
    ImageProbe(),
    HarborProbe(),
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


def _config_phase(observations: Sequence[Observation]) -> PhaseResult:
    failed = [o for o in observations if not o.ok]
    return PhaseResult(
        "config",
        PhaseStatus.FAILED if failed else PhaseStatus.OK,
        0.0,
        error=failed[0].error if failed else None,
    )


def _config_report(
    target: Target, observations: Sequence[Observation], rule_dirs: Sequence[Path]
) -> TargetReport:
    """A configuration file (or workload) judged alone: no probe runs."""
    from regdoctor.engine import evaluate

    observations = tuple(observations)
    findings = evaluate(catalog(rule_dirs), target, observations)
    return TargetReport(
        target=target,
        endpoint={"scheme": None, "host": None, "port": None},
        phases=(_config_phase(observations),),
        observations=observations,
        findings=tuple(findings),
        duration_ms=0.0,
    )


async def check_target(
    target: Target,
    options: CheckOptions,
    network: Network,
    clock: Clock,
    deadline_at: float,
    preset: Sequence[Observation] = (),
    state: TargetState | None = None,
) -> TargetReport:
    """One target's probes and findings. ``state``: where the run can watch it."""
    if target.kind == "config":
        return _config_report(target, preset, options.rule_dirs)
    start = clock.monotonic()
    state = state if state is not None else TargetState(target=target)
    state.observations.extend(preset)
    ctx = ProbeContext(
        options=options, state=state, network=network, clock=clock, deadline_at=deadline_at
    )
    path: list[RoundTrip] = []
    try:
        with roundtrips.critical_path(path):
            realm_early.start(ctx)  # the realm named last time, reached beside the registry
            results = await _run_probes(ctx)
            # the dances of the other credentials the runtimes send, made beside
            beside = await credential_beside.collect(state)
    finally:
        await credential_beside.drop(state)
        leftover = state.extra.pop("tcp_socket", None)
        if leftover is not None:
            leftover.close()  # no phase took the TCP phase's connection
        await drop_head_beside(state)  # a manifest request sent beside a failed auth phase
        await realm_early.drop(state)  # a realm reached early that no token request used
    phases: list[PhaseResult] = [_config_phase(preset)] if preset else []
    phases.extend(results[probe.id] for probe in PROBES)
    if path:
        total = sum(r.round_trips for r in path)
        ctx.trace(
            f"critical path: {total} round trips: "
            + ", ".join(f"{r.what} {r.ms:.1f}ms" for r in path)
        )
    for phase in phases:
        if phase.name != "config" and phase.status in (PhaseStatus.FAILED, PhaseStatus.CRASHED):
            state.observations.append(
                ctx.observe(
                    "phase.failed",
                    ok=False,
                    phase=phase.name,
                    facts={"phase": phase.name, "status": str(phase.status)},
                    error=phase.error,
                )
            )
    config_observations = [o for o in state.observations if o.phase == "config"]
    if config_observations:  # the auth probe may have fetched a credential
        phases = [p for p in phases if p.name != "config"]
        phases.insert(0, _config_phase(config_observations))
    endpoint = {
        "scheme": state.scheme,
        "host": target.host,
        "port": endpoint_port(target, state.scheme),
        "address": state.address,
        "addresses": state.addresses,
        "fallback_allowed": state.fallback_allowed,
        "verify_enforced": state.verify_enforced,
    }
    from regdoctor.engine import evaluate

    findings = evaluate(catalog(options.rule_dirs), target, state.observations)
    # each observation of a dance says whom it concerns once there are several (the
    # verdicts judge the beside dances' on their own: check/verdicts.py)
    observations = [*credential_beside.tag_own(state, target.credential_groups)]
    observations.extend(beside)
    return TargetReport(
        target=target,
        endpoint=endpoint,
        phases=tuple(phases),
        observations=tuple(observations),
        findings=tuple(findings),
        duration_ms=round((clock.monotonic() - start) * 1000, 2),
        critical_path=tuple(path),
    )


def prepare_judgement(rule_dirs: Sequence[Path]) -> None:
    """Compile the redaction patterns (an answer's facts are redacted as it arrives),
    import what judging a target imports on first use, and read the catalog."""
    import importlib

    from regdoctor.redact import secrets

    secrets.prepare()
    for module in ("regdoctor.engine.evaluate", "regdoctor.check.verdicts"):
        importlib.import_module(module)
    catalog(rule_dirs)


async def _run_probes(ctx: ProbeContext) -> dict[str, PhaseResult]:
    """Each probe in order; an optional (``background``) probe starts in a task of its
    own as soon as its prerequisites are decided and runs beside the rest, off the
    critical path (never after it). The results, by probe id."""
    results: dict[str, PhaseResult] = {}
    skipped_because: dict[str, str] = {}
    waiting = [p for p in PROBES if getattr(p, "background", False)]
    tasks: dict[str, asyncio.Task[PhaseResult]] = {}

    def start_ready() -> None:
        for probe in list(waiting):
            if all(need in results for need in probe.needs):
                waiting.remove(probe)
                beside = replace(ctx, optional=True)
                context = contextvars.copy_context()
                context.run(roundtrips.off_path)
                tasks[probe.id] = asyncio.create_task(
                    _phase(probe, beside, skipped_because), context=context
                )

    try:
        for probe in PROBES:
            if getattr(probe, "background", False):
                continue
            start_ready()
            results[probe.id] = await _phase(probe, ctx, skipped_because)
        start_ready()
        for probe in waiting:  # prerequisites never decided: run in order, as before
            results[probe.id] = await _phase(probe, ctx, skipped_because)
        for probe_id, task in tasks.items():
            results[probe_id] = await task
    finally:
        for task in tasks.values():
            task.cancel()
    return results


async def _phase(probe: Probe, ctx: ProbeContext, skipped_because: dict[str, str]) -> PhaseResult:
    """One probe's phase: not applicable, skipped (and why), or run; then the phase is
    :meth:`~regdoctor.probes.base.TargetState.decided`."""
    try:
        return await _decide(probe, ctx, skipped_because)
    finally:
        ctx.state.decided(probe.id).set()


async def _decide(probe: Probe, ctx: ProbeContext, skipped_because: dict[str, str]) -> PhaseResult:
    state = ctx.state
    if not probe.applies(state.target):
        state.verdict(probe.id, PhaseStatus.NOT_APPLICABLE, "not an image reference")
        return PhaseResult(probe.id, PhaseStatus.NOT_APPLICABLE, reason="not an image reference")
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
        return PhaseResult(probe.id, PhaseStatus.SKIPPED, reason=reason)
    return await _run_one(probe, ctx)


async def _run_one(probe: Probe, ctx: ProbeContext) -> PhaseResult:
    state, options = ctx.state, ctx.options
    started = ctx.clock.monotonic()
    per_wait = options.timeout if options.timeout_given else max(options.timeout, 15.0)
    cap = per_wait * _WAITS_PER_PROBE
    budget = min(cap, ctx.remaining())
    hit_deadline = ctx.remaining() <= cap
    state.wait = Wait(f"{probe.id} {_where(state)}", started, ctx.budget())
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
    finally:
        state.wait = None
    status, error = state.verdicts.get(probe.id, (None, None))
    if status is None:
        failed = [o for o in state.observations if o.phase == probe.id and not o.ok]
        status = PhaseStatus.FAILED if failed else PhaseStatus.OK
        error = failed[0].error if failed else None
    duration = (ctx.clock.monotonic() - started) * 1000
    # a phase whose wait another phase made on its behalf (the TLS phase sends the
    # HTTP phase's /v2/ over its session) reports that wait's own time
    measured = state.extra.get("phase_ms", {}).get(probe.id)
    if isinstance(measured, int | float):
        duration = float(measured)
    reason = error if status is PhaseStatus.NOT_APPLICABLE else None
    return PhaseResult(
        probe.id,
        status,
        round(duration, 2),
        error=None if status is PhaseStatus.NOT_APPLICABLE else error,
        reason=reason,
        summary=_summary(probe, [o for o in state.observations if o.phase == probe.id]),
    )


def _where(state: TargetState) -> str:
    """The address a phase waits on: the one that connected, else the first resolved."""
    address = state.address or (state.addresses[0] if state.addresses else None)
    if not address:
        return state.target.hostport
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{state.target.port}"


def _summary(probe: Probe, observations: list[Observation]) -> str | None:
    """The probe's few words on its phase; never raises (data may be incomplete)."""
    try:
        return probe.summary(observations) or None
    except Exception:  # a summary is a courtesy; the report must still be produced
        return None


#: Called with each target's final report as soon as its group is done.
OnDone = Callable[[TargetReport], None]


async def run_check(
    targets: Sequence[Target],
    options: CheckOptions,
    *,
    clock: Clock | None = None,
    command: Sequence[str] = (),
    preset: Mapping[str, Sequence[Observation]] | None = None,
    routes: Routes | None = None,
    on_done: OnDone | None = None,
    states: dict[str, TargetState] | None = None,
) -> Report:
    """Check ``targets``. ``preset`` holds observations made before the run (from the
    configuration), by target id; targets of kind ``config`` are judged on them alone.
    With ``routes``, every target gets a verdict per runtime in scope.

    ``on_done`` gets each target's final report as soon as the target and the targets
    its verdict depends on (:func:`~regdoctor.check.across.groups_of`) are done, in
    target order within a group; the returned :class:`Report` is the same with or
    without it. ``states``, when given, is filled with each running target's
    :class:`TargetState` by target id (what it waits on now: :attr:`TargetState.wait`),
    for a live status line."""
    clock = clock or SystemClock()
    preset = preset or {}
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start = clock.monotonic()
    deadline_at = start + options.deadline
    network = Network(options)
    if routes is not None and routes.effective is not None and len(routes.runtimes) == 1:
        # one runtime: probe with the proxy its puller has (a daemon's unit environment)
        network.proxy_env = routes.effective.daemon_proxy_env(routes.runtimes[0])
    for target in targets:
        if target.kind == "registry":
            network.configure(target.hostport, target)
    # the redaction patterns, the judgement's imports and the rule catalog, prepared
    # while the first requests are on the link rather than between or after them
    # (net/idle.py)
    network.idle.add(lambda: prepare_judgement(options.rule_dirs))
    groups = groups_of(targets, routes)
    group_of = {index: group for group in groups for index in group}
    probed: dict[int, TargetReport] = {}
    final: dict[int, TargetReport] = {}

    def finished(index: int, report: TargetReport) -> None:
        probed[index] = report
        group = group_of[index]
        if not all(i in probed for i in group):
            return
        done = finish_reports([probed[i] for i in group], routes, options.rule_dirs)
        for i, report in zip(group, done, strict=True):
            final[i] = report
            if on_done is not None:
                on_done(report)

    # A configuration target probes nothing (nor does an image whose own host no
    # runtime contacts): it is judged once the first request is on the link, or once
    # no target is left to send one, not before the first packet (reading the rule
    # catalog for it would delay every target's first request). The catalog is read by
    # the idle work meanwhile (net/idle.py); the loop waits for it in a thread.
    not_probed = [uncontacted(target, routes) if routes is not None else None for target in targets]
    probes_run = {
        index
        for index, target in enumerate(targets)
        if target.kind != "config" and not_probed[index] is None
    }
    probing = len(probes_run)
    judge_now = asyncio.Event()
    loop = asyncio.get_running_loop()
    network.idle.when_started(lambda: loop.call_soon_threadsafe(judge_now.set))
    if not probing:
        judge_now.set()

    async def judged_alone(target: Target, elsewhere: str | None) -> TargetReport:
        await judge_now.wait()
        try:
            await asyncio.to_thread(catalog, options.rule_dirs)  # loaded: a dict lookup
        except RuntimeError:  # no thread to be had: read below, on the loop
            pass
        if elsewhere is not None:
            return not_contacted(target, elsewhere, preset.get(target.id, ()), options)
        return _config_report(target, preset.get(target.id, ()), options.rule_dirs)

    async def one(index: int, target: Target) -> None:
        nonlocal probing
        state = TargetState(target=target)
        if states is not None:
            states[target.id] = state
        if index not in probes_run:
            finished(index, await judged_alone(target, not_probed[index]))
            return
        try:
            report = await check_target(
                target, options, network, clock, deadline_at, preset.get(target.id, ()), state
            )
        finally:
            probing -= 1
            if not probing:
                judge_now.set()
        finished(index, report)

    try:
        await asyncio.gather(*(one(index, target) for index, target in enumerate(targets)))
    finally:
        await network.aclose()
    reports = [final[i] for i in range(len(targets))]
    duration = (clock.monotonic() - start) * 1000
    return assemble_report(
        reports,
        started_at=started_at,
        duration_ms=duration,
        command=command,
        deadline=options.deadline,
        runtimes=routes.runtimes if routes is not None else (),
    )


def uncontacted(target: Target, routes: Routes) -> str | None:
    """Why no runtime in scope contacts the image's own host, or None when one does
    (or the target is not an image's registry). A podman short-name alias or
    search registries, a registries.conf ``location`` elsewhere: podman never looks the
    image's own host up (not even in DNS), so neither does the check; the hosts it does
    contact are targets of their own (:func:`regdoctor.check.plan.mirrored`). Nor does
    podman when it refuses a short name before any request (enforcing mode without a
    TTY, no search registries, an alias file it cannot load: its route stops): the
    image's own host is then docker's reading of the name (docker.io), which podman
    never takes. A runtime that stops before any request for another reason (dockerd
    that would not start) leaves the target probed as before."""
    from regdoctor.check.routes import endpoint_is_target, short_name

    if target.kind != "registry" or target.scheme is not None or target.mirror_of:
        return None
    if not target.repository:
        return None
    going: list[str] = []
    other_stop = pulls = False
    short = short_name(target)
    for runtime in routes.runtimes:
        route = routes.route(runtime, target)
        if route.stopped is not None:
            why = _short_name_refusal(runtime, route, short)
            if why is None:
                other_stop = True
            else:
                going.append(why)
            continue
        if not route.endpoints or any(endpoint_is_target(e, target) for e in route.endpoints):
            return None
        hosts = ", ".join(dict.fromkeys(e.host for e in route.endpoints))
        going.append(f"{runtime} pulls it from {hosts}")
        pulls = True
    if not going or (other_stop and not pulls):
        return None
    return f"no runtime in scope contacts {target.hostport}: " + "; ".join(going)


def _short_name_refusal(runtime: str, route: Route, short: str | None) -> str | None:
    """Why ``runtime`` refuses the short name ``short`` before any request, worded per
    cause, or None when its route stops for another reason (or the name is not short).
    podman: no search registries, or several in enforcing mode without a TTY
    (shortnames.Resolve), a short-name alias it cannot validate or a saved alias file
    it cannot load (sysregistriesv2); ctr: a one-component name (containerd's
    reference.Parse reads it as a host: "object required", an invalid port). The image's
    own host is then docker's reading of the name (docker.io), which these never take."""
    if short is None or route.fix is None:
        return None
    kind = route.fix[0]
    if runtime == "podman" and kind == "short-name":
        return f"podman refuses the short name {short} before any request"
    if runtime == "podman" and kind in ("alias-invalid", "alias-cache-invalid"):
        where = f" ({route.stopped_source})" if route.stopped_source else ""
        return (
            f"podman cannot load its short-name aliases{where} and stops before any "
            f"request for {short}"
        )
    if runtime == "containerd" and kind == "ctr-short-name":
        return f"ctr refuses the short name {short} before any request (it reads it as a host)"
    return None


def not_contacted(
    target: Target, reason: str, preset: Sequence[Observation], options: CheckOptions
) -> TargetReport:
    """The report of an image whose own host no runtime contacts: its probes are not
    run (the verdicts read the hosts the runtimes do contact)."""
    from regdoctor.engine import evaluate

    phases = [_config_phase(preset)] if preset else []
    phases += [PhaseResult(p.id, PhaseStatus.SKIPPED, reason=reason) for p in PROBES]
    observations = tuple(preset)
    return TargetReport(
        target=target,
        endpoint={"scheme": None, "host": target.host, "port": target.port},
        phases=tuple(phases),
        observations=observations,
        findings=tuple(evaluate(catalog(options.rule_dirs), target, observations)),
        duration_ms=0.0,
    )


def assemble_report(
    reports: Sequence[TargetReport],
    *,
    started_at: str,
    duration_ms: float,
    command: Sequence[str] = (),
    deadline: float | None = None,
    runtimes: Sequence[str] = (),
) -> Report:
    """One :class:`Report` from target reports (the TUI re-runs targets one by one)."""
    return Report(
        runtimes=tuple(runtimes),
        targets=tuple(reports),
        started_at=started_at,
        duration_ms=round(duration_ms, 2),
        version=__version__,
        command=tuple(command),
        deadline_hit=any(
            o.kind == "probe.timeout" and o.facts.get("deadline")
            for r in reports
            for o in r.observations
        )
        or (deadline is not None and duration_ms / 1000 >= deadline),
    )


def check(
    targets: Sequence[Target],
    options: CheckOptions,
    command: Sequence[str] = (),
    preset: Mapping[str, Sequence[Observation]] | None = None,
) -> Report:
    return asyncio.run(run_check(targets, options, command=command, preset=preset))


def endpoint_port(target: Target, scheme: str | None) -> int:
    """The port the report's endpoint names: the target's, except port 80 for the
    http:// of a registry named without a port (``probes/http_ping.base_url``), where
    the https:// attempt dialled 443."""
    if scheme == "http" and target.port == 443 and not names_port(target.registry):
        return 80
    return target.port
