"""The driver of the auth dance: it sends each request the generator yields, records
every step as an observation, and gives the token realm's host its own DNS, TCP and
TLS observations (the realm is often another host: auth.docker.io, a Harbor core).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from regdoctor.model import Observation, PhaseStatus, Target
from regdoctor.net import auth_dance
from regdoctor.net.handshake import HandshakeResult
from regdoctor.net.realm_hints import KNOWN
from regdoctor.probes import credential_beside, realm_early
from regdoctor.probes.auth_steps import (
    _hostport_of,
    _response,
    asked_up_front,
    fetch_credentials,
    new_dance,
    result_facts,
    result_observation,
    scope_for,
)
from regdoctor.probes.base import ProbeContext, failure_summary, first
from regdoctor.probes.exchange import Exchange, fetch, observe_exchange
from regdoctor.probes.manifest_request import send_head_beside
from regdoctor.probes.peer_host import check_realm_host, peer_key, with_alert

if TYPE_CHECKING:
    from regdoctor.model import CredentialRef

#: How the dance's requests are named on the critical path.
_LABELS = {"auth.token": "token", "auth.ping": "GET /v2/ (authenticated)"}


def _realm_alert(ctx: ProbeContext, url: str) -> HandshakeResult | None:
    """The realm session's handshake result when the token request met a TLS alert."""
    from regdoctor.net.handshake import record_alert

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sessions = ctx.state.extra.get("realm_sessions") or {}
    result = sessions.get(f"{parts.hostname or ''}:{port}")
    stream = getattr(result, "session", None)
    if result is None or stream is None or stream.alert is None:
        return None
    record_alert(result, stream.alert)
    return result


class AuthProbe:
    id = "auth"
    needs: tuple[str, ...] = ("http",)

    def applies(self, target: Target) -> bool:
        return True

    def summary(self, observations: Sequence[Observation]) -> str:
        result = first(observations, "auth.result")
        if result and result.facts.get("outcome"):
            outcome = str(result.facts["outcome"]).replace("_", " ")
            scheme = result.facts.get("auth_scheme")
            return f"{outcome} ({scheme})" if scheme and scheme != "none" else outcome
        return failure_summary(observations)

    async def run(self, ctx: ProbeContext) -> AsyncIterator[Observation]:
        target, state = ctx.target, ctx.state
        credentials = ctx.options.credentials
        basic_only = False
        used_ref: CredentialRef | None = None
        challenge_exchange = state.extra.get("v2")
        challenge = (
            _response(challenge_exchange) if isinstance(challenge_exchange, Exchange) else None
        )
        # with several credentials in scope, this dance is the first group's
        own: tuple[str, ...] = (target.runtime or "",)
        sends = True  # whether a runtime of the group would send its credential here
        if credentials is None and len(target.credential_groups) > 1:
            # the runtimes in scope send different credentials: the others' dances go
            # beside this one (the rules judge each runtime on its own)
            credential_beside.start(ctx, challenge)
            own = target.credential_groups[0][1]
            sends = bool(credential_beside.going_on(ctx, own))
        if (
            credentials is None
            and target.credential is not None
            and sends  # never to where none of its runtimes goes (http://, a refused CA)
            and (
                challenge is None
                or challenge.status == 401
                or asked_up_front(own, target.credential)
            )
        ):
            # The configuration names a credential and the registry asks for one: only
            # now is the secret fetched (a credential helper may prompt, or be slow).
            # podman asks its helper before any request, whether the registry wants a
            # login or not: a helper that fails stops even an anonymous pull.
            observation, credentials = await fetch_credentials(ctx)
            used_ref = target.credential
            # an identity token beside the entry's password: the password answers a
            # Basic challenge only (see regdoctor.discovery.credentials)
            basic_only = observation.facts.get("outcome") == "identity_token"
            yield observation
        generator = new_dance(ctx, credentials, challenge, basic_only=basic_only)
        seen_hosts: set[str] = set()
        realm_got_credentials = False  # the user's credentials went out to the realm
        token_answer: Exchange | None = None  # the token server's last answer
        try:
            request = next(generator)
            while True:
                response: auth_dance.Response
                realm_observations: list[Observation] = []
                if request.step == "auth.token":
                    # the token's scope is read with PyJWT once it is back: imported
                    # while the realm's handshake and the token request are in flight
                    ctx.network.idle.add(auth_dance.prepare)
                    early = await realm_early.take(ctx, request.url, seen_hosts)
                    realm_observations, problem = (
                        early
                        if early is not None
                        else await check_realm_host(ctx, request.url, seen_hosts)
                    )
                    if problem is not None:
                        for observation in realm_observations:
                            yield observation
                        response = auth_dance.Response(
                            status=None, outcome="unreachable", error=problem
                        )
                        request = generator.send(response)
                        continue
                if (
                    request.step == "auth.ping"
                    and request.authorization is not None
                    and not request.sends_credentials
                ):
                    # with a token (never the user's password: a rejected one must not
                    # count twice against a lockout), the manifest request (HEAD, or
                    # GET where the blob look runs) goes out with the authenticated
                    # ping, not a round trip after it
                    send_head_beside(ctx, request.authorization)
                exchange = await fetch(
                    ctx,
                    request.method,
                    request.url,
                    authorization=request.authorization,
                    label=_LABELS.get(request.step),
                )
                alerted = _realm_alert(ctx, request.url) if realm_observations else None
                if alerted is not None:
                    for observation in with_alert(realm_observations, alerted):
                        yield observation
                    response = auth_dance.Response(
                        status=None, outcome="unreachable", error=alerted.error
                    )
                    request = generator.send(response)
                    continue
                for observation in realm_observations:
                    yield observation
                extra: dict[str, object] = {"sent_credentials": request.sends_credentials}
                if request.step == "auth.token":
                    token_answer = exchange
                    realm_got_credentials |= request.sends_credentials and (
                        exchange.outcome not in ("connect_error", "proxy_error")
                    )
                    realm = urlsplit(request.url)
                    extra.update(
                        {
                            "realm_host": realm.hostname,
                            "realm_hostport": _hostport_of(realm),
                            "realm_scheme": realm.scheme,
                            "requested_scope": scope_for(target),
                        }
                    )
                response = _response(exchange)
                ok = exchange.status == 200
                yield observe_exchange(
                    ctx, exchange, phase="auth", step=request.step, ok=ok, extra=extra
                )
                request = generator.send(response)
        except StopIteration as stop:
            outcome: auth_dance.Outcome = stop.value
        _remember_realm(ctx, outcome)
        facts = result_facts(
            target, outcome, credentials, used_ref, realm_got_credentials, token_answer
        )
        yield result_observation(ctx, outcome, credentials, facts)
        if outcome.ok:
            state.authorization = outcome.authorization
            state.token_scope = outcome.scope
            state.verdict("auth", PhaseStatus.OK)
        else:
            state.verdict("auth", PhaseStatus.FAILED, outcome.error or outcome.outcome)


def _remember_realm(ctx: ProbeContext, outcome: auth_dance.Outcome) -> None:
    """Keep the realm the registry named for the next check (``net/realm_hints.py``): a
    Bearer realm the check reaches itself; none for an anonymous registry, a Basic
    challenge, or a realm on the registry's own host or behind a proxy. Nothing changes
    when the registry's answer was not seen."""
    hints = ctx.network.realm_hints
    registry = ctx.target.hostport
    if outcome.auth_scheme == "bearer" and outcome.realm:
        if peer_key(ctx, outcome.realm) or registry in KNOWN:
            # (a known registry's realm behind a proxy is still its realm: noting none
            # would turn the known one off for the next direct check)
            hints.note(registry, outcome.realm)
        else:
            hints.note(registry, None)
    elif outcome.outcome == "anonymous" or outcome.auth_scheme == "basic":
        hints.note(registry, None)
