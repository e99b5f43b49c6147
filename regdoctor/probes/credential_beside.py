"""The auth dance and the manifest request once more per other credential the runtimes
in scope send (``Target.credential_groups``): docker with its login, ctr with none. The
target's own dance (:mod:`regdoctor.probes.auth`, :mod:`regdoctor.probes.image`) is
made with the first group's credential; each other group's is made beside it, at the
same time, off the critical path (what the check then waits for of it joins the path).
A group's dance goes only where one of its runtimes would send its credential
(:func:`going_on`), and only when the registry asks for one. Its observations
(``config.credential``, ``auth.result``, ``image.manifest`` and their ``http.response``;
``probe.crashed`` or ``probe.timeout`` when it did not end) carry ``credential_beside:
true`` and ``runtimes`` (who sends that credential), and say which credential by
``credential_origin`` and ``credential_source``, never the secret. The verdicts judge
each runtime on its own group's observations (:mod:`regdoctor.check.seen`,
:mod:`regdoctor.check.verdicts`).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from regdoctor.model import Observation, RoundTrip
from regdoctor.net import auth_dance, roundtrips

if TYPE_CHECKING:
    from regdoctor.model import CredentialRef, Credentials
    from regdoctor.probes.base import ProbeContext, TargetState

#: where the tasks wait in :attr:`TargetState.extra`
_TASKS = "credential_beside"
#: whether any dance was made beside (the target's own then concerns its group only)
_STARTED = "credential_beside_started"
#: the observations of the target's own dance that say whom they concern
_TAGGED = frozenset({"auth.result", "image.manifest", "http.response"})


def start(ctx: ProbeContext, challenge: auth_dance.Response | None) -> None:
    """Start one dance per group but the first (the target's own), beside it. Each
    records its waits on a list of its own: only what the check then waits for joins
    the critical path (:func:`collect`)."""
    from regdoctor.probes.auth_steps import asked_up_front

    groups = []
    for group, (ref, in_scope) in enumerate(ctx.target.credential_groups):
        runtimes = going_on(ctx, in_scope)
        if group and runtimes:
            groups.append((group, ref, runtimes))
    if challenge is not None and challenge.status != 401:
        # the registry asks for no credential: no runtime sends one, every dance would
        # be the target's own (podman's helper, asked before any request, is the
        # exception: a helper that fails stops its pull)
        groups = [g for g in groups if asked_up_front(g[2], g[1])]
    tasks = []
    for group, ref, runtimes in groups:
        steps: list[RoundTrip] = []
        context = contextvars.copy_context()
        context.run(roundtrips.record_into, steps)
        dance = _guarded(ctx, facts_of(group, ref, runtimes), ref, runtimes, challenge)
        tasks.append((asyncio.create_task(dance, context=context), steps))
    ctx.state.extra[_TASKS] = tasks
    ctx.state.extra[_STARTED] = bool(tasks)


def going_on(ctx: ProbeContext, runtimes: Sequence[str]) -> tuple[str, ...]:
    """Those of ``runtimes`` that send requests where the target's own dance goes: over
    plain HTTP only the runtimes that go on to ``http://`` there (a runtime that stops at
    ``https://`` never sends its credential in clear, so neither does its dance); over
    https not those that refuse the registry's certificate."""
    if ctx.options.schemes is None:
        return tuple(runtimes)
    choice = ctx.options.schemes.schemes(ctx.target, ctx.state.addresses or [])
    if ctx.state.scheme == "http":
        return tuple(r for r in runtimes if r in choice.plain_http)
    # over https: not to a certificate the runtime refuses (it never sends a request)
    verify = next(
        (
            o
            for o in ctx.state.observations
            if o.kind == "tls.verify" and o.facts.get("role", "registry") == "registry"
        ),
        None,
    )
    if verify is None or verify.facts.get("reason") in (None, "ok"):
        return tuple(runtimes)
    trusted = verify.facts.get("trusted_by")
    trusted_by = trusted if isinstance(trusted, dict) else {}
    return tuple(r for r in runtimes if r in choice.skip_verify or trusted_by.get(r))


async def collect(state: TargetState) -> list[Observation]:
    """The observations of the dances made beside, waited for once the target's own
    probes are done; the part of them that outlasted the probes goes on the critical
    path (the dance that ended last, as far as it was waited for)."""
    tasks: list[tuple[asyncio.Task[list[Observation]], list[RoundTrip]]] = (
        state.extra.pop(_TASKS, None) or []
    )
    if not tasks:
        return []
    done = [len(steps) for _task, steps in tasks]
    start = time.monotonic()
    results = await asyncio.gather(*(task for task, _steps in tasks))
    waited = (time.monotonic() - start) * 1000
    late = [steps[n:] for (_task, steps), n in zip(tasks, done, strict=True)]
    longest = max(late, key=lambda steps: sum(step.ms for step in steps))
    roundtrips.join_waited(
        longest,
        waited,
        host=None,
        begun="another credential's dance, waited for",
        later="another credential's dance",
    )
    return [o for observations in results for o in observations]


async def drop(state: TargetState) -> None:
    """Cancel the dances not collected (the target's run was cut short)."""
    for task, _steps in state.extra.pop(_TASKS, None) or []:
        task.cancel()


def tag_own(state: TargetState, groups: Sequence[Any]) -> list[Observation]:
    """The target's own dance's observations with ``runtimes`` (the first group's) and
    ``credential_group`` 0, when dances were made beside for the other groups: a finding
    on them concerns the runtimes that send that credential only. None made (the
    registry asked for no credential, ``--username``...): every runtime's."""
    from dataclasses import replace

    observations = state.observations
    if len(groups) < 2 or not state.extra.get(_STARTED):
        return list(observations)
    runtimes = list(groups[0][1])
    out = []
    for o in observations:
        if (
            o.kind in _TAGGED
            and o.phase in ("auth", "image")
            and "runtimes" not in o.facts
            and not o.facts.get("credential_beside")
        ):
            o = replace(o, facts={**o.facts, "runtimes": runtimes, "credential_group": 0})
        out.append(o)
    return out


def facts_of(group: int, ref: CredentialRef | None, runtimes: Sequence[str]) -> dict[str, object]:
    return {
        "credential_beside": True,
        "credential_group": group,
        "runtimes": list(runtimes),
        "credential_origin": ref.origin if ref is not None else None,
        "credential_source": ref.source if ref is not None else None,
    }


async def _guarded(
    ctx: ProbeContext,
    extra: dict[str, object],
    ref: CredentialRef | None,
    runtimes: tuple[str, ...],
    challenge: auth_dance.Response | None,
) -> list[Observation]:
    out: list[Observation] = []
    budget = ctx.remaining()
    deadline = asyncio.timeout(budget)
    try:
        # under the run's deadline, as the target's own probes (a helper that hangs)
        async with deadline:
            await _dance(ctx, ref, runtimes, challenge, extra, out)
    except TimeoutError as exc:
        if not deadline.expired():
            return _crashed(ctx, extra, exc, out)
        # what the pipeline says of a probe the deadline cut (probe-deadline's rule)
        out.append(
            ctx.observe(
                "probe.timeout",
                ok=False,
                phase="auth",
                facts={**extra, "probe": "auth", "timeout_s": round(budget, 3), "deadline": True},
                error="the global deadline was reached before the requests with this "
                "credential ended",
            )
        )
    except Exception as exc:  # a crash is a result: the runtimes' post is not known
        return _crashed(ctx, extra, exc, out)
    return out


def _crashed(
    ctx: ProbeContext, extra: dict[str, object], exc: BaseException, out: list[Observation]
) -> list[Observation]:
    """What the pipeline says of a probe that raised (probe-crashed's rule)."""
    out.append(
        ctx.observe(
            "probe.crashed",
            ok=False,
            phase="auth",
            facts={**extra, "probe": "auth", "exception": type(exc).__name__},
            error=f"{type(exc).__name__}: {exc}",
        )
    )
    return out


async def _dance(
    ctx: ProbeContext,
    ref: CredentialRef | None,
    runtimes: tuple[str, ...],
    challenge: auth_dance.Response | None,
    extra: dict[str, object],
    out: list[Observation],
) -> None:
    from regdoctor.probes.auth_steps import (
        _response,
        asked_up_front,
        fetch_credentials,
        new_dance,
        result_facts,
        result_observation,
    )
    from regdoctor.probes.exchange import Exchange, fetch, observe_exchange

    target = ctx.target
    credentials: Credentials | None = None
    basic_only = False
    if ref is not None and (
        challenge is None or challenge.status == 401 or asked_up_front(runtimes, ref)
    ):
        asked = time.monotonic()
        observation, credentials = await fetch_credentials(ctx, ref, extra)
        # a helper's or store's wait is no round trip, but it is waited for
        roundtrips.record(
            "credential helper" if ref.origin in ("helper", "store") else "credential read",
            (time.monotonic() - asked) * 1000,
            round_trips=0,
        )
        basic_only = observation.facts.get("outcome") == "identity_token"
        out.append(observation)
    generator = new_dance(ctx, credentials, challenge, basic_only=basic_only)
    realm_got_credentials = False
    token_answer: Exchange | None = None
    try:
        request = next(generator)
        while True:
            exchange = await fetch(
                ctx, request.method, request.url, authorization=request.authorization
            )
            step_facts: dict[str, object] = {
                **extra,
                "sent_credentials": request.sends_credentials,
            }
            if request.step == "auth.token":
                token_answer = exchange
                realm_got_credentials |= request.sends_credentials and (
                    exchange.outcome not in ("connect_error", "proxy_error")
                )
            out.append(
                observe_exchange(
                    ctx,
                    exchange,
                    phase="auth",
                    step=request.step,
                    ok=exchange.status == 200,
                    extra=step_facts,
                )
            )
            request = generator.send(_response(exchange))
    except StopIteration as stop:
        outcome: auth_dance.Outcome = stop.value
    facts = {
        **result_facts(target, outcome, credentials, ref, realm_got_credentials, token_answer),
        **extra,
    }
    out.append(result_observation(ctx, outcome, credentials, facts))
    if outcome.ok and target.is_image:
        out.extend(await _manifest(ctx, outcome, extra))


async def _manifest(
    ctx: ProbeContext, outcome: auth_dance.Outcome, extra: dict[str, object]
) -> list[Observation]:
    """The manifest request with this group's token: its answer (not its body)."""
    from regdoctor.net import wwwauth
    from regdoctor.probes.exchange import observe_exchange
    from regdoctor.probes.image import classify
    from regdoctor.probes.manifest_body import manifest_kind
    from regdoctor.probes.manifest_request import manifest_method, manifest_request, send_manifest

    target = ctx.target
    url, headers = manifest_request(ctx)
    method = manifest_method(target)
    answer = await send_manifest(ctx, method, url, headers, outcome.authorization)
    step = "manifest.get" if method == "GET" else "manifest.head"
    found = classify(answer)
    media_type = (answer.header("content-type") or "").split(";")[0].strip() or None
    challenge = wwwauth.first(answer.header("www-authenticate"))
    facts = {
        "repository": target.repository,
        "reference": target.reference,
        "outcome": found,
        "status": answer.status,
        "error_codes": answer.error_codes,
        "digest": answer.header("docker-content-digest"),
        "media_type": media_type,
        "size": None,
        "is_index": False,
        "platforms": [],
        "insufficient_scope": bool(challenge and challenge.error == "insufficient_scope"),
        "manifest_kind": manifest_kind(found, media_type),
        "body_problem": None,
        "error_detail": answer.error_detail,
        "tags_count": None,
        "tags_nearest": [],
        "tags_more": 0,
        **extra,
    }
    error = None if found == "found" else answer.error_message or answer.error
    return [
        observe_exchange(
            ctx, answer, phase="image", step=step, ok=answer.status == 200, extra=extra
        ),
        ctx.observe(
            "image.manifest",
            ok=found == "found",
            phase="image",
            facts=facts,
            error=error or (None if found == "found" else f"HTTP {answer.status}"),
        ),
    ]
