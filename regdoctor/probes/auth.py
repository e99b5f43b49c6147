"""The driver of the auth dance: it sends each request the generator yields, records
every step as an observation, and gives the token realm's host its own DNS, TCP and
TLS observations (the realm is often another host: auth.docker.io, a Harbor core).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from regdoctor.model import Observation, PhaseStatus, Target
from regdoctor.net import auth_dance
from regdoctor.net.handshake import HandshakeResult
from regdoctor.probes import realm_early
from regdoctor.probes.base import ProbeContext, failure_summary, first
from regdoctor.probes.exchange import Exchange, fetch, observe_exchange, server_words
from regdoctor.probes.http_ping import base_url
from regdoctor.probes.manifest_request import send_head_beside
from regdoctor.probes.peer_host import check_realm_host, peer_key, with_alert

if TYPE_CHECKING:
    from regdoctor.model import Credentials

#: How the dance's requests are named on the critical path.
_LABELS = {"auth.token": "token", "auth.ping": "GET /v2/ (authenticated)"}


def _response(exchange: Exchange) -> auth_dance.Response:
    if exchange.outcome != "response":
        return auth_dance.Response(status=None, outcome=exchange.outcome, error=exchange.error)
    return auth_dance.Response(status=exchange.status, headers=exchange.headers, body=exchange.body)


def scope_for(target: Target) -> str | None:
    return f"repository:{target.repository}:pull" if target.repository else None


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


async def fetch_credentials(ctx: ProbeContext) -> tuple[Observation, Credentials | None]:
    """Resolve the target's credential reference: a ``config.credential`` observation
    (which source and key, the outcome; never the secret) and the credentials."""
    import os

    from regdoctor.discovery.credentials import resolve

    ref = ctx.target.credential
    assert ref is not None
    start = ctx.clock.monotonic()
    resolution = await asyncio.to_thread(
        resolve,
        ref,
        # the helper obeys the run's deadline too (and is killed with its children)
        timeout=max(0.05, min(ctx.options.helper_timeout, ctx.remaining())),
        env=dict(os.environ),
        redactor=ctx.options.redactor,
        root=ctx.options.config_root,  # the file is read inside --root, as discovery did
    )
    ctx.trace(f"credential {ref.source}: {resolution.outcome}")
    observation = ctx.observe(
        "config.credential",
        ok=resolution.ok,
        phase="config",
        facts={
            **resolution.facts(),
            "registry": ctx.target.registry,
            # the file as the machine names it, for a fix run there (also with --root)
            "machine_file": _machine_path(ctx, resolution.ref.file),
        },
        error=resolution.error,
        source=ref.source,
        duration_ms=(ctx.clock.monotonic() - start) * 1000,
    )
    return observation, resolution.credentials


def _asked_up_front(target: Target) -> bool:
    """podman resolves a credHelpers entry before it sends anything, and a helper error
    other than "credentials not found" fails the pull (containers/image v5.23.1
    docker/docker_client.go newDockerClientFromRef: GetCredentialsForRef, "getting
    username and password"); docker ignores it (docker/cli v20.10.24
    cli/command/registry.go ResolveAuthConfig drops GetAuthConfig's error)."""
    ref = target.credential
    return target.runtime == "podman" and ref is not None and ref.origin == "helper"


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
        challenge_exchange = state.extra.get("v2")
        challenge = (
            _response(challenge_exchange) if isinstance(challenge_exchange, Exchange) else None
        )
        if (
            credentials is None
            and target.credential is not None
            and (challenge is None or challenge.status == 401 or _asked_up_front(target))
        ):
            # The configuration names a credential and the registry asks for one: only
            # now is the secret fetched (a credential helper may prompt, or be slow).
            # podman asks its helper before any request, whether the registry wants a
            # login or not: a helper that fails stops even an anonymous pull.
            observation, credentials = await fetch_credentials(ctx)
            # an identity token beside the entry's password: the password answers a
            # Basic challenge only (see regdoctor.discovery.credentials)
            basic_only = observation.facts.get("outcome") == "identity_token"
            yield observation
        generator = auth_dance.dance(
            base_url(ctx),
            credentials=credentials,
            scope=scope_for(target),
            challenge=challenge,
            allow_plain_http_credentials=target.insecure,
            basic_only=basic_only,
        )
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
        realm_parts = urlsplit(outcome.realm) if outcome.realm and "://" in outcome.realm else None
        facts = {
            "outcome": outcome.outcome,
            "auth_scheme": outcome.auth_scheme,
            "credential_source": credentials.source if credentials else None,
            "has_credentials": credentials is not None,
            "realm": outcome.realm,
            "realm_host": realm_parts.hostname if realm_parts else None,
            "realm_hostport": _hostport_of(realm_parts) if realm_parts else None,
            "realm_scheme": realm_parts.scheme if realm_parts else None,
            # who answered no: the token server (bearer, a realm) or the registry (basic)
            "refused_by": (
                f"the token server {_hostport_of(realm_parts)}"
                if realm_parts and outcome.auth_scheme == "bearer"
                else target.registry
            ),
            "realm_same_host": bool(realm_parts and realm_parts.hostname == target.host.lower()),
            "service": outcome.service,
            "scope": outcome.scope,
            "status": outcome.status,
            "granted": outcome.granted,
            "token_kind": outcome.token_kind,
            "expires_in": outcome.expires_in,
            "credentials_withheld": outcome.credentials_withheld,
            "credentials_sent_to_realm": realm_got_credentials,
            # the token server's own words when it did not issue a token (its error
            # message or detail, an HTML title, the body's first line), for rules to quote
            "realm_said": _realm_said(outcome, token_answer),
        }
        yield ctx.observe(
            "auth.result",
            ok=outcome.ok,
            phase="auth",
            facts=facts,
            error=outcome.error,
            source=credentials.source if credentials else None,
        )
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
        hints.note(registry, outcome.realm if peer_key(ctx, outcome.realm) else None)
    elif outcome.outcome == "anonymous" or outcome.auth_scheme == "basic":
        hints.note(registry, None)


def _realm_said(outcome: auth_dance.Outcome, answer: Exchange | None) -> str | None:
    """The token server's own words when it issued no token: a refusal or an error
    (any answer but 200), or a 200 whose body holds no token."""
    if outcome.ok or answer is None:
        return None
    if answer.status != 200 or outcome.outcome == "token_bad_response":
        return server_words(answer)
    return None


def _hostport_of(parts: SplitResult) -> str | None:
    """``auth.example:443`` of a realm URL (the scheme's port when it names none)."""
    host = parts.hostname
    if not host:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 443 if parts.scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}"


def _machine_path(ctx: ProbeContext, path: str | None) -> str | None:
    root = str(ctx.options.config_root).rstrip("/")
    if path and root and path.startswith(root + "/"):
        return path[len(root) :]
    return path
