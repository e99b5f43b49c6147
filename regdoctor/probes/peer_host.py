"""DNS, TCP and TLS for a host the registry sends clients to besides itself: the token
realm (``role="realm"``) and a blob request's redirect (``role="storage"``), once per
host, each with its own observations so that rules can say *which* host is broken.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from regdoctor.model import Observation
from regdoctor.net.handshake import HandshakeResult, confirm
from regdoctor.probes.base import ProbeContext
from regdoctor.probes.dns import effective_addresses, resolve_name
from regdoctor.probes.tcp import connect_keep
from regdoctor.probes.tls import examine, handshake_budget

#: :func:`peer_session`'s error when ``before_tls`` said the session is not needed.
NOT_NEEDED = "not needed: the registry's own TCP or TLS phase did not pass"


async def check_realm_host(
    ctx: ProbeContext, url: str, seen: set[str], *, role: str = "realm"
) -> tuple[list[Observation], str | None]:
    """DNS, TCP and TLS for the realm's host, once per host. Returns the observations
    and, when the host cannot be used, why.

    ``role="storage"``: the host a blob request was redirected to; no request of the
    check goes over the session afterwards.

    Either host's certificate is checked against the *registry's* trust (its certs.d,
    its hosts.toml ``ca``, ``--ca-file``) with the registry's client pair: the runtimes
    reach both with the registry's own HTTP client (moby v20.10.24
    distribution/registry.go NewV2Repository: the token handler and the redirect use
    the transport over ``endpoint.TLSConfig``; containerd v1.6.20
    remotes/docker/config/hosts.go: each host's ``Client``, also its authorizer's
    ``WithAuthClient``; containers/image v5.23.1 docker/docker_client.go: the
    registry's ``tlsClientConfig`` for the token request and every redirect). A CA in
    a certs.d directory named after the realm or storage host is never read for them
    (runtime table: ``token-realm-ca-beside-registry-ca``,
    ``blob-storage-ca-in-storage-dir``)."""
    key = peer_key(ctx, url)
    if key is None or key in seen:
        return [], None
    seen.add(key)
    return await peer_session(ctx, url, role)


def peer_key(ctx: ProbeContext, url: str) -> str | None:
    """``host:port`` of a peer host the check reaches on its own; None for the registry's
    own host and for one reached through a proxy (the request itself tells)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = ctx.target
    if host == target.host.lower() and port == target.port:
        return None
    if ctx.network.proxy_for(url):
        return None
    return f"{host}:{port}"


async def peer_session(
    ctx: ProbeContext,
    url: str,
    role: str,
    *,
    before_tls: Callable[[], Awaitable[bool]] | None = None,
    settle: Callable[[], Awaitable[bool]] | None = None,
) -> tuple[list[Observation], str | None]:
    """:func:`check_realm_host`'s DNS, TCP and TLS for ``url``'s host, unconditionally.

    For a realm reached early (``probes/realm_early.py``), before the registry's own
    phases are decided: ``before_tls`` is awaited once the TCP connection is up (the
    registry's TCP phase), ``settle`` once the handshake is done (the registry's TLS
    phase, whose outcome decides whether the realm's certificate is enforced). Either
    answering False ends the session there, the connection closed, with the error
    :data:`NOT_NEEDED`: the registry failed before any token would be asked for."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    key = f"{host}:{port}"
    target = ctx.target
    storage = role == "storage"
    observations = await resolve_name(ctx, host, role)
    addresses = effective_addresses(observations)
    if not addresses:
        what = "blob storage host" if storage else "token realm host"
        return observations, f"{what} {host} does not resolve"
    connects, sock = await connect_keep(ctx, addresses, port, role)
    observations.extend(connects)
    connected = [o.facts["address"] for o in connects if o.ok]
    if not connected or sock is None:
        return observations, connects[0].error
    ctx.network.pin(host, connected)
    if before_tls is not None:
        try:
            go_on = await before_tls()
        except BaseException:  # cancelled while waiting: the socket is closed here
            sock.close()
            raise
        if not go_on:
            sock.close()
            return observations, NOT_NEEDED
    if storage and parts.scheme != "https":
        sock.close()
        return observations, None
    if parts.scheme != "https":
        from regdoctor.net.streams import PlainStream

        reader, writer = await asyncio.open_connection(sock=sock)
        ctx.network.handover(ctx.state).put(host, port, PlainStream(reader, writer))
        return observations, None
    budget = handshake_budget(ctx)
    found: dict[str, Any] = {}

    def in_flight() -> None:
        # the runtimes' CA files for the registry (hosts.toml and certs.d reads), which
        # judged_per_runtime needs once the chain is in, read while the ClientHello is
        # in flight (as the registry's own TLS phase does: probes/tls.py)
        if ctx.options.schemes is not None:
            try:
                found.update(_runtime_trust(ctx))
            except Exception:  # read again by judged_per_runtime, where it surfaces
                found.clear()

    result, tls_observations = await examine(
        ctx,
        host,
        connected[0],
        port,
        role,
        # judged again below once the registry's TLS phase has decided (settle)
        enforced=True if settle is not None else _enforced(ctx),
        budget=budget,
        sock=sock,
        in_flight=in_flight,
        trust_for=target.hostport,
    )
    try:
        if settle is not None:
            if not await settle():
                _close(result)
                return observations, NOT_NEEDED
            tls_observations = _with_enforcement(tls_observations, _enforced(ctx))
        if result.chain and ctx.options.schemes is not None:
            tls_observations = await judged_per_runtime(
                ctx, result, tls_observations, found or None
            )
    except BaseException:  # cancelled while waiting: the session is closed here
        _close(result)
        raise
    observations.extend(tls_observations)
    verify = next((o for o in tls_observations if o.kind == "tls.verify"), None)
    if result.stream is not None and (
        storage or result.outcome != "ok" or (verify and not verify.ok)
    ):
        await confirm(result, host, budget)
        if result.outcome == "alert":
            observations = with_alert(observations, result, role)
    if result.outcome != "ok":
        return observations, result.error
    if verify is not None and not verify.ok and not _trusted_elsewhere(verify, storage):
        return observations, verify.error
    if result.stream is not None:
        # the token request goes over this session; an alert it meets is the realm's
        ctx.network.handover(ctx.state).put(host, port, result.stream)
        ctx.state.extra.setdefault("realm_sessions", {})[key] = result
        result.stream, result.session = None, result.stream
    return observations, None


def _close(result: HandshakeResult) -> None:
    if result.stream is not None:
        result.stream._writer.close()
        result.stream = None


def _enforced(ctx: ProbeContext) -> bool:
    """A runtime in scope that verifies the registry verifies its realm (and its blob
    storage host) too: the registry's TLS phase decided it."""
    return bool(ctx.state.extra.get("verify_observed", ctx.state.verify_enforced))


def _with_enforcement(observations: list[Observation], enforced: bool) -> list[Observation]:
    """``tls.verify`` as :func:`~regdoctor.probes.tls.examine` would have made it with
    ``enforced`` known before the handshake."""
    from dataclasses import replace

    return [
        replace(
            o,
            ok=o.facts.get("reason") == "ok" or not enforced,
            facts={**o.facts, "enforced": enforced},
        )
        if o.kind == "tls.verify"
        else o
        for o in observations
    ]


#: The verification failures a CA installed for the registry can answer.
_AUTHORITY = ("unknown_authority", "self_signed")


def _runtime_trust(ctx: ProbeContext) -> dict[str, Any]:
    """The CA files (``files``), folders (``dirs``) and per-endpoint CA files
    (``endpoints``) each runtime in scope reads for the registry."""
    policy = ctx.options.schemes
    assert policy is not None
    target = ctx.target
    return {
        "files": policy.trust(target),
        "dirs": policy.trust_dirs(target),
        "endpoints": policy.endpoint_trust(target),
    }


async def judged_per_runtime(
    ctx: ProbeContext,
    result: HandshakeResult,
    observations: list[Observation],
    found: dict[str, Any] | None = None,
) -> list[Observation]:
    """The peer host's ``tls.verify`` judged per runtime in scope, as the runtimes judge
    the registry's own certificate (``probes/tls.py`` ``_with_trust``): ``trusted_by``
    (the runtime's CA files for the *registry*: docker's certs.d, podman's two, containerd's
    hosts.toml ``ca`` or, without a hosts.toml, its certs.d directory's ``*.crt``), and
    ``runtimes``: those that fail there. A runtime that skips verification for the registry
    skips it for the peer too: the redirect and the token request go over the registry's
    own client (moby v20.10.24 registry/registry.go newTLSConfig: ``InsecureSkipVerify``
    for an insecure registry, IP ranges included; containerd v1.6.20 config/hosts.go
    ``skip_verify`` on the host's client; containers/image v5.23.1 docker_client.go
    ``InsecureSkipVerify`` for an insecure registry). ``ok`` and ``enforced``: some
    runtime fails there (the rules name only those)."""
    from dataclasses import replace

    from regdoctor.probes.tls import _trust_sets, _with_trust

    policy = ctx.options.schemes
    target = ctx.target
    assert policy is not None
    if found is None:  # not read while the ClientHello was in flight
        found = _runtime_trust(ctx)
    await ctx.network.trust.stores_ready(_trust_sets(ctx, found))
    observations = _with_trust(ctx, policy, result.peer_chain or result.chain, observations, found)
    choice = policy.schemes(target, ctx.state.addresses)
    scope = choice.scope or tuple(found["files"])
    out = []
    for observation in observations:
        if observation.kind != "tls.verify":
            out.append(observation)
            continue
        reason = observation.facts.get("reason")
        trusted = observation.facts.get("trusted_by")
        trusted_by = trusted if isinstance(trusted, dict) else {}
        failing = [
            runtime
            for runtime in scope
            if runtime not in choice.skip_verify
            and (
                # the handshake's trust (--ca-file, certs.d found for the target)
                # anchors it, this runtime's own CA files do not
                trusted_by.get(runtime) is False
                if reason == "ok"
                else not (reason in _AUTHORITY and trusted_by.get(runtime))
            )
        ]
        facts = {
            **observation.facts,
            "enforced": bool(failing),
            "runtimes": failing,
            "judged_for": list(scope),
            "skip_verify_by": list(choice.skip_verify),
        }
        error = observation.error
        if reason == "ok" and failing:
            facts["reason"] = "unknown_authority"
            where = _and(failing)
            error = f"certificate signed by unknown authority (its CA is not where {where} look)"
            facts["detail"] = error
        out.append(replace(observation, ok=not failing, facts=facts, error=error))
    return out


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _trusted_elsewhere(verify: Observation, storage: bool) -> bool:
    """The realm's certificate fails only for some runtimes in scope, and another's own CA
    files anchor its chain (its dates and name are fine): the token request goes on, as
    those runtimes send it, and the failing runtimes' walks fail at the realm
    (``check/seen.py`` ``peer_failures``). A runtime that only skips verification never
    lets regdoctor send credentials to a certificate no trust set verifies."""
    failing = verify.facts.get("runtimes")
    scope = verify.facts.get("judged_for")
    trusted = verify.facts.get("trusted_by")
    if storage or not isinstance(failing, list) or not isinstance(scope, list):
        return False
    return (
        verify.facts.get("reason") in _AUTHORITY
        and isinstance(trusted, dict)
        and any(trusted.get(r) for r in scope if r not in failing)
    )


def with_alert(
    observations: list[Observation], result: HandshakeResult, role: str = "realm"
) -> list[Observation]:
    """The realm's ``tls.handshake`` observation when its server sent an alert after
    the handshake (on the first request: a TLS 1.3 client-certificate demand)."""
    from dataclasses import replace

    return [
        replace(
            o,
            ok=False,
            error=result.error,
            facts={**o.facts, "outcome": result.outcome, "alert": result.alert},
        )
        if o.kind == "tls.handshake" and o.facts.get("role") == role
        else o
        for o in observations
    ]
