"""The steps of an auth dance that every dance shares, the target's own
(:mod:`regdoctor.probes.auth`) and those made beside it for other credentials
(:mod:`regdoctor.probes.credential_beside`): the credential's resolution, the
``auth.result`` facts (which credential by origin and source, never the secret)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from regdoctor.model import Observation, Target
from regdoctor.net import auth_dance
from regdoctor.probes.base import ProbeContext
from regdoctor.probes.exchange import Exchange, server_words

if TYPE_CHECKING:
    from regdoctor.model import CredentialRef, Credentials


def _response(exchange: Exchange) -> auth_dance.Response:
    if exchange.outcome != "response":
        return auth_dance.Response(status=None, outcome=exchange.outcome, error=exchange.error)
    return auth_dance.Response(status=exchange.status, headers=exchange.headers, body=exchange.body)


def new_dance(
    ctx: ProbeContext,
    credentials: Credentials | None,
    challenge: auth_dance.Response | None,
    *,
    basic_only: bool,
) -> auth_dance.Dance:
    """The auth dance of the target (its ``/v2/``, its scope; credentials over plain
    HTTP only for an insecure target), from the registry's first answer if known."""
    from regdoctor.probes.http_ping import base_url

    target = ctx.target
    return auth_dance.dance(
        base_url(ctx),
        credentials=credentials,
        scope=scope_for(target),
        challenge=challenge,
        allow_plain_http_credentials=target.insecure,
        basic_only=basic_only,
    )


def result_observation(
    ctx: ProbeContext,
    outcome: auth_dance.Outcome,
    credentials: Credentials | None,
    facts: dict[str, object],
) -> Observation:
    """The ``auth.result`` of a dance (the target's own, or one made beside)."""
    return ctx.observe(
        "auth.result",
        ok=outcome.ok,
        phase="auth",
        facts=facts,
        error=outcome.error,
        source=credentials.source if credentials else None,
    )


def scope_for(target: Target) -> str | None:
    return f"repository:{target.repository}:pull" if target.repository else None


async def fetch_credentials(
    ctx: ProbeContext, ref: CredentialRef | None = None, extra: dict[str, object] | None = None
) -> tuple[Observation, Credentials | None]:
    """Resolve the target's credential reference (or ``ref``): a ``config.credential``
    observation (which source and key, the outcome; never the secret; ``extra`` facts)
    and the credentials."""
    import os

    from regdoctor.discovery.credentials import resolve

    ref = ref if ref is not None else ctx.target.credential
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
            **(extra or {}),
        },
        error=resolution.error,
        source=ref.source,
        duration_ms=(ctx.clock.monotonic() - start) * 1000,
    )
    return observation, resolution.credentials


def asked_up_front(runtimes: Sequence[str], ref: CredentialRef | None) -> bool:
    """podman resolves a credHelpers entry before it sends anything, and a helper error
    other than "credentials not found" fails the pull (containers/image v5.23.1
    docker/docker_client.go newDockerClientFromRef: GetCredentialsForRef, "getting
    username and password"); docker ignores it (docker/cli v20.10.24
    cli/command/registry.go ResolveAuthConfig drops GetAuthConfig's error)."""
    return "podman" in runtimes and ref is not None and ref.origin == "helper"


def result_facts(
    target: Target,
    outcome: auth_dance.Outcome,
    credentials: Credentials | None,
    ref: CredentialRef | None,
    realm_got_credentials: bool,
    token_answer: Exchange | None,
) -> dict[str, object]:
    """The facts of ``auth.result``: the dance's outcome, which credential (its source
    and origin, never the secret) it was made with."""
    realm_parts = urlsplit(outcome.realm) if outcome.realm and "://" in outcome.realm else None
    return {
        "outcome": outcome.outcome,
        "auth_scheme": outcome.auth_scheme,
        "credential_source": credentials.source if credentials else None,
        # where the credential came from (a config file entry, a helper, a pull
        # secret...; None: anonymous, or --username given to regdoctor)
        "credential_origin": ref.origin if credentials is not None and ref is not None else None,
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
