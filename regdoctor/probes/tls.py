"""TLS: the handshake (:mod:`regdoctor.net.handshake`), the chain, and whether a strict
client would trust it (:mod:`regdoctor.probes.certs`), as observations.

Verification uses OpenSSL's chain building against the system store, ``--ca-file`` and
``certs.d/<host:port>/*.crt``; problems are reported in Go's order: validity period,
then host name, then authority — what docker, containerd and kubelet will say first.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

from regdoctor.model import Observation, PhaseStatus, Target
from regdoctor.net.handshake import HandshakeResult, handshake
from regdoctor.net.proxy import ProxyRoute
from regdoctor.probes.base import HTTPS_PORT_FAILED, UNRESOLVED, ProbeContext, first
from regdoctor.reference.targets import is_ip_literal, is_loopback


async def examine(
    ctx: ProbeContext,
    host: str,
    address: str,
    port: int,
    role: str,
    *,
    enforced: bool,
    proxy: ProxyRoute | None = None,
    budget: float | None = None,
    sock: socket.socket | None = None,
    in_flight: Callable[[], None] | None = None,
    trust_for: str | None = None,
    plain_possible: bool = False,
) -> tuple[HandshakeResult, list[Observation]]:
    """Handshake with ``host`` at ``address:port`` (or through ``proxy``, whose address
    ``address`` then is) and describe what was seen. ``budget``: how long the handshake
    may take (default: the phase timeout). With ``sock`` (the TCP phase's connection)
    the handshake runs over it and the session is kept (``result.stream``).
    ``in_flight``: work run while the ClientHello is in flight (see ``handshake``).
    ``trust_for``: the host:port whose CAs and client pair apply (a blob redirect's
    storage host is reached with the registry's TLS configuration).

    Unless the server may answer in plain HTTP (``plain_possible``: an insecure registry,
    one the runtimes would go on to ``http://`` with) and no TLS material (a CA file, a
    client certificate) is given for it, the certificate reader (``cryptography.x509``,
    ~15 ms to import) is imported by the idle worker while the ClientHello is in flight,
    first of its jobs, instead of between the server's answer and the next request."""
    from regdoctor.net import roundtrips
    from regdoctor.redact.secrets import redact

    hostport = _hostport(host, port)
    client, client_source = ctx.network.client_pair(trust_for or hostport)
    ca_files = ctx.network.ca_files(trust_for or hostport)

    def flight() -> None:
        if not plain_possible or ca_files or client is not None:
            ctx.network.idle.add(_prepare_chain_reading, first=True)
        ctx.network.idle.start()  # the loop only waits now (net/idle.py)
        if in_flight is not None:
            in_flight()

    result = await handshake(
        host,
        address,
        port,
        client=client,
        ca_files=ca_files,
        proxy=proxy,
        budget=budget if budget is not None else ctx.budget(),
        sock=sock,
        keep_open=sock is not None,
        trust=ctx.network.trust,
        in_flight=flight,
    )
    # TLS 1.2 takes two flights; 1.3 one; a refused or plain-HTTP answer ends at the first
    tls_trips = 2 if result.outcome == "ok" and result.protocol != "TLSv1.3" else 1
    if sock is not None:
        roundtrips.record("tls handshake", result.duration_ms, round_trips=tls_trips, host=hostport)
    else:  # its own connection (a proxy's tunnel), then a request to surface alerts
        roundtrips.record(
            "tls handshake (own connection)",
            result.duration_ms,
            round_trips=tls_trips + (3 if proxy else 2),
            host=hostport,
        )
    facts: dict[str, Any] = {
        "host": host,
        "address": None if proxy else address,
        "port": port,
        "role": role,
        "sni": None if is_ip_literal(host) else host,
        "outcome": result.outcome,
        "protocol": result.protocol,
        "cipher": result.cipher,
        "alpn": result.alpn,
        "client_cert": client_source,
        "client_cert_requested": result.client_cert_requested,
        "alert": result.alert,
        "proxy": redact(proxy.url) if proxy else None,
        "proxy_status": result.proxy_status,
        "handshake_ms": round(result.duration_ms, 2) if result.duration_ms else None,
    }
    observations = []
    handshake_ok = result.outcome == "ok"
    observations.append(
        ctx.observe(
            "tls.handshake",
            ok=handshake_ok,
            phase="tls",
            facts=facts,
            error=_error_with_answer(result),
            evidence=result.evidence,
            source=client_source,
            duration_ms=result.duration_ms,
        )
    )
    if result.chain:
        # a certificate is in hand (not a plain-HTTP answer): analyse it
        from regdoctor.probes.certs import MAX_SANS, describe, verify_reason

        now = ctx.clock.now()
        certs = [describe(c, now) for c in result.chain]
        soonest = min(certs, key=lambda c: c["days_left"])
        observations.append(
            ctx.observe(
                "tls.chain",
                ok=True,
                phase="tls",
                facts={
                    "host": host,
                    "role": role,
                    "certificates": certs,
                    "chain_length": result.chain_length or len(certs),
                    "leaf_subject": certs[0]["subject"],
                    "leaf_not_after": certs[0]["not_after"],
                    "leaf_days_left": certs[0]["days_left"],
                    "min_days_left": soonest["days_left"],
                    "min_days_left_subject": soonest["subject"],
                },
            )
        )
        reason, detail, names = verify_reason(result, host, now)
        sources = [f"system ({system_store()})"] + [
            f"--ca-file {p}"
            if p in ctx.options.ca_files
            else (f"certs.d {p}" if "certs.d" in p.parts else f"config {p}")
            for p in ca_files
        ]
        observations.append(
            ctx.observe(
                "tls.verify",
                ok=reason == "ok" or not enforced,
                phase="tls",
                facts={
                    "host": host,
                    "port": port,
                    "role": role,
                    "reason": reason,
                    "detail": detail,
                    "hostname_ok": reason not in ("hostname_mismatch", "cn_only"),
                    "names": names[:MAX_SANS],
                    "enforced": enforced,
                    "ca_sources": sources,
                    # the CA that signed the top of the chain as presented: the one a
                    # client must trust (the leaf's issuer when no intermediate is sent)
                    "issuer": certs[-1]["issuer"],
                    "system_store": system_store(),
                    "ca_tried": {},
                    "ca_tried_by": [],
                    "ca_tried_dirs": [],
                    "ca_tried_files": [],
                    "now": now.astimezone(UTC).isoformat(),
                },
                error=None if reason == "ok" else detail,
            )
        )
    return result, observations


def _prepare_chain_reading() -> None:
    """Import what reading a server's chain needs (an idle job: see :func:`examine`)."""
    from regdoctor.net.lean_openssl import load_x509
    from regdoctor.probes import certs  # noqa: F401

    load_x509()


def _error_with_answer(result: HandshakeResult) -> str | None:
    """The handshake's error; for a plain-HTTP answer, with the status line the server
    actually sent (``... (the server answered "HTTP/1.1 400 Bad Request")``)."""
    if result.outcome != "plain_http" or not result.evidence or not result.error:
        return result.error
    line = result.evidence.split("\n", 1)[0].strip()[:120]
    return f'{result.error} (the server answered "{line}")' if line else result.error


def system_store() -> str:
    """The system CA bundle (or directory) OpenSSL reads: what "system" trust means here."""
    import os
    import ssl

    paths = ssl.get_default_verify_paths()
    if paths.openssl_cafile and os.path.isfile(paths.openssl_cafile):
        return paths.openssl_cafile
    return paths.openssl_capath or "none"


def _hostport(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}"


class TlsProbe:
    id = "tls"
    needs: tuple[str, ...] = ("tcp",)

    def applies(self, target: Target) -> bool:
        return True

    def summary(self, observations: Sequence[Observation]) -> str:
        hs = first(observations, "tls.handshake", role="registry") or first(
            observations, "tls.handshake"
        )
        parts = []
        if hs:
            if hs.facts.get("scheme_decision") == "http":
                return "plain HTTP (no TLS)"
            if hs.facts.get("protocol"):
                parts.append(str(hs.facts["protocol"]))
        chain = first(observations, "tls.chain", role="registry") or first(
            observations, "tls.chain"
        )
        days = chain.facts.get("min_days_left") if chain else None
        if isinstance(days, int | float) and not isinstance(days, bool):
            parts.append(f"certificates valid {int(days)} more days")
        return ", ".join(parts)

    async def run(self, ctx: ProbeContext) -> AsyncIterator[Observation]:
        target, state = ctx.target, ctx.state
        policy = ctx.options.schemes
        (
            state.verify_enforced,
            observe_enforced,
            state.fallback_allowed,
            fallback_after,
        ) = scheme_policy(ctx)
        # the realm's certificate is judged the same way (probes/auth.py)
        state.extra["verify_observed"] = observe_enforced
        if target.scheme == "http":
            state.scheme = "http"
            state.verdict("tls", PhaseStatus.NOT_APPLICABLE, "http:// given: TLS not used")
            return
        port_failed = state.extra.pop(HTTPS_PORT_FAILED, None)
        if isinstance(port_failed, dict):
            # port 443 did not connect; the runtimes go on to http:// (port 80, or the
            # HTTP_PROXY Go gives that URL), which the TCP phase dialled (probes/tcp.py)
            via = port_failed.get("via")
            yield _went_on_to_http(
                ctx,
                str(port_failed.get("outcome") or "refused"),
                port_failed.get("address"),
                port_failed.get("error"),
                f"https:// on port {target.port} does not connect; falling back to "
                + (f"http:// through the proxy {via}" if via else "http:// on port 80"),
            )
            return
        unresolved = state.extra.pop(UNRESOLVED, None)
        if unresolved is not None:
            # the https:// attempt ends in the node's DNS (it goes direct: no
            # HTTPS_PROXY); the runtimes go on to http:// through HTTP_PROXY (probes/dns.py)
            yield _went_on_to_http(
                ctx,
                "unresolved",
                None,
                unresolved,
                f"https:// goes direct and {target.host} does not resolve here; "
                "falling back to http:// through the proxy",
            )
            return
        assert state.address is not None
        budget = handshake_budget(ctx)
        sock = state.extra.pop("tcp_socket", None) if state.proxy is None else None
        trust_sets: dict[str, Any] = {}

        def in_flight() -> None:
            # what _with_trust needs besides the chain, found while the ClientHello is
            # in flight (the runtimes' CA files: hosts.toml and certs.d reads); the
            # chain is re-verified with the handshake's own store (net/trust.py)
            _warm_early_spare(ctx, budget)
            if sock is not None:
                _prepare_http_contexts(ctx)
            if policy is None:
                return
            try:
                trust_sets["files"] = policy.trust(target)
                trust_sets["dirs"] = policy.trust_dirs(target)
                trust_sets["endpoints"] = policy.endpoint_trust(target)
                # not the CA files only runtimes out of scope read: _with_trust reads
                # them when no runtime in scope trusts the chain (a healthy check, or a
                # plain-HTTP answer, loads no other runtime's configuration)
            except Exception:  # read again by _with_trust, where a failure surfaces as before
                trust_sets.clear()

        result, observations = await examine(
            ctx,
            target.host,
            state.address,
            target.port,
            "registry",
            enforced=observe_enforced,
            proxy=state.proxy,
            budget=budget,
            sock=sock if isinstance(sock, socket.socket) else None,
            in_flight=in_flight,
            plain_possible=state.fallback_allowed,
        )
        if policy is not None and result.outcome == "ok" and result.chain:
            # the stores are built in the worker while the loop serves other targets
            await ctx.network.trust.stores_ready(_trust_sets(ctx, trust_sets))
            observations = _with_trust(
                ctx, policy, result.peer_chain or result.chain, observations, trust_sets
            )
            verified = next((o for o in observations if o.kind == "tls.verify"), None)
            trusted = verified.facts.get("trusted_by") if verified is not None else None
            if isinstance(trusted, dict) and any(trusted.values()):
                # a runtime in scope trusts the chain with its own CA files: go on, so
                # that what it would see after the handshake is observed too
                state.verify_enforced = False
        if result.stream is not None:
            observations = await _first_request(ctx, result, observations, budget)
        decision = "https"
        # Never after a timeout: a slow TLS server is slow, not a plain-HTTP one.
        if result.outcome in fallback_after and state.fallback_allowed:
            decision = "http"
            ctx.network.handover(state).drop_secured(target.host, target.port)
        handshake = observations[0]
        observations[0] = _with_facts(
            handshake,
            scheme_decision=decision,
            fallback_allowed=state.fallback_allowed,
            budget_s=round(budget, 3),
            # regdoctor stopped waiting before the runtimes would have
            cut_by_timeout=result.outcome == "timeout" and budget < RUNTIME_TLS_HANDSHAKE_S,
        )
        if decision == "http" and result.outcome == "plain_http":
            observations[0] = _with_ok(observations[0], True)
        for observation in observations:
            yield observation
        state.scheme = decision
        pair, source = ctx.network.client_pair(target.hostport)
        state.client_cert_source = source
        if decision == "http":
            if result.outcome == "plain_http":
                state.verdict(
                    "tls",
                    PhaseStatus.NOT_APPLICABLE,
                    "server speaks plain HTTP; using http:// (insecure registry)",
                )
            else:
                state.verdict(
                    "tls", PhaseStatus.WARN, f"TLS failed ({result.error}); falling back to http://"
                )
            return
        if result.outcome != "ok":
            state.verdict("tls", PhaseStatus.FAILED, result.error)
            return
        verify = next((o for o in observations if o.kind == "tls.verify"), None)
        if verify is not None and not verify.ok and state.verify_enforced:
            state.verdict("tls", PhaseStatus.FAILED, verify.error)
            return
        state.ssl_context = ctx.network.ssl_context(
            target.hostport,
            enforced=state.verify_enforced and verify is not None,
            client_cert=pair,
        )
        if verify is not None and verify.facts.get("reason") != "ok":
            state.verdict("tls", PhaseStatus.WARN, verify.error)
        else:
            state.verdict("tls", PhaseStatus.OK)


def _went_on_to_http(
    ctx: ProbeContext, outcome: str, address: str | None, error: object, why: str
) -> Observation:
    """The https:// attempt ended before any handshake (``outcome``: port 443 refused,
    the name unresolved here) and the runtimes go on to http://: the observation that
    says so; the scheme becomes http and the phase a warning (``why``)."""
    target, state = ctx.target, ctx.state
    observation = ctx.observe(
        "tls.handshake",
        ok=True,
        phase="tls",
        facts={
            "host": target.host,
            "address": address,
            "port": target.port,
            "role": "registry",
            "outcome": outcome,
            "proxy": None,
            "scheme_decision": "http",
            "fallback_allowed": True,
        },
        error=str(error),
    )
    state.scheme = "http"
    state.verdict("tls", PhaseStatus.WARN, why)
    return observation


def scheme_policy(ctx: ProbeContext) -> tuple[bool, bool, bool, frozenset[str]]:
    """(verification enforced, verification observed as enforced, fallback to plain
    HTTP allowed, the handshake outcomes after which it falls back) for the target:
    what the runtimes in scope would do, or without them what Docker does. Known once
    the DNS phase is done (the TCP phase asks too: a fallback's connection is opened
    beside the TLS attempt)."""
    target, state = ctx.target, ctx.state
    policy = ctx.options.schemes
    choice = policy.schemes(target, state.addresses) if policy is not None else None
    if choice is None:  # as Docker does: loopback and --insecure may fall back
        enforced = not target.insecure
        fallback = target.scheme is None and (
            target.insecure
            or is_loopback(target.host)
            or (state.proxy is None and any(is_loopback(a) for a in state.addresses))
        )
        return enforced, enforced, fallback, _FALLBACK_OUTCOMES
    # what the runtimes in scope would try (regdoctor.check.routes): go on unverified
    # when a runtime in scope skips verification; the verification still counts for
    # the runtimes that do verify
    return (
        not (target.insecure or choice.skip_verify),
        bool(choice.verify) or not target.insecure,
        # a mirror check adds is pinned to https, and its runtime's route says whether
        # it goes on over http there (podman's insecure mirror)
        (target.scheme is None or target.mirror_of is not None) and bool(choice.plain_http),
        frozenset(
            outcome for outcome, kind in _OUTCOME_KIND.items() if kind in choice.plain_http_after
        ),
    )


#: Handshake outcomes after which a runtime with an http:// endpoint goes on to it,
#: and the runtime model's name for each (regdoctor.runtime.ErrorKind).
_OUTCOME_KIND = {
    "plain_http": "http_on_https",
    "failed": "tls",
    "alert": "tls",
    "reset": "tls",
    "refused": "connect",
    "unreachable": "connect",
    # a proxy that did not open the tunnel (CONNECT answered 407, 403, 502...): to Go
    # clients a dial error ("proxyconnect"), after which dockerd and podman go on to an
    # insecure registry's http://, which the proxy forwards in absolute form
    "proxy_refused": "connect",
    # the registry's name does not resolve here and http:// goes through HTTP_PROXY
    # (probes/dns.py): after a DNS error dockerd and podman go on to http://
    "unresolved": "dns",
}
_FALLBACK_OUTCOMES = frozenset(_OUTCOME_KIND)
#: How long the runtimes wait for a TLS handshake (Go's http.Transport
#: TLSHandshakeTimeout in dockerd, containerd and containers/image: 10 s; see
#: docs/runtime-model.md).
RUNTIME_TLS_HANDSHAKE_S = 10.0


def handshake_budget(ctx: ProbeContext) -> float:
    """The phase timeout; without ``--timeout``, the runtimes' own handshake limit, so
    that a slow handshake the runtimes would wait for is measured, not cut."""
    if ctx.options.timeout_given:
        return ctx.budget()
    return max(0.001, min(max(ctx.options.timeout, RUNTIME_TLS_HANDSHAKE_S), ctx.remaining()))


def _trust_sets(ctx: ProbeContext, found: dict[str, Any]) -> list[list[Path]]:
    """The CA files of every trust set :func:`_with_trust` verifies with, as far as
    ``found`` (read while the ClientHello was in flight) tells them."""
    given = [str(p) for p in ctx.options.ca_files]
    sets = [[Path(p) for p in ctx.network.ca_files(ctx.target.hostport)]]
    sets += [[Path(f) for f in (*given, *files)] for files in found.get("files", {}).values()]
    sets += [
        [Path(f) for f in (*given, *cas)]
        for endpoints in found.get("endpoints", {}).values()
        for cas in endpoints
        if cas is not None
    ]
    sets += [[Path(f) for f in (*given, ca)] for ca in found.get("elsewhere", [])]
    return sets


def _with_trust(
    ctx: ProbeContext,
    policy: Any,
    chain: list[Any],
    observations: list[Observation],
    found: dict[str, Any] | None = None,
) -> list[Observation]:
    """``tls.verify`` with ``trusted_by``: per runtime in scope, whether its own CA files
    (certs.d, hosts.toml ``ca``) plus ``--ca-file`` and the system store anchor the
    chain, and ``trusted_with``: a CA file one of them used, for a fix that copies it
    (else one only the runtimes out of scope read: ``Routes.trust_elsewhere``),
    ``trusted_anchors``: per runtime, which of its own CA files anchor the chain;
    ``trusted_at``: per runtime whose endpoints each have their own CA files (containerd's
    hosts.toml entries), per endpoint whether that entry's trust anchors the chain.
    ``found``: the runtimes' CA files (``files``) and folders (``dirs``) if already read."""
    from regdoctor.net.handshake import chain_trusted

    given = [str(p) for p in ctx.options.ca_files]
    # Calibrate: the re-verification must agree with the handshake's own on the CA files
    # the handshake used; where it does not (a chain cut short, an unusual chain), the
    # handshake's verdict stands for every runtime.
    verify = next((o for o in observations if o.kind == "tls.verify"), None)
    handshake_trusted = verify is not None and verify.facts.get("reason") not in (
        "unknown_authority",
        "self_signed",
    )
    used = [Path(p) for p in ctx.network.ca_files(ctx.target.hostport)]
    trust = ctx.network.trust
    if chain_trusted(chain, used, trust) != handshake_trusted:
        return observations
    trusted_by: dict[str, bool] = {}
    trusted_with: str | None = None
    #: per runtime, its own CA files that anchor the chain by themselves
    anchors: dict[str, list[str]] = {}
    root = str(ctx.options.config_root).rstrip("/")

    def shown(path: str) -> str:
        return path[len(root) :] if root and path.startswith(root + "/") else path

    tried: dict[str, list[str]] = {}
    found = found or {}
    dirs = found["dirs"] if "dirs" in found else policy.trust_dirs(ctx.target)
    runtime_files = found["files"] if "files" in found else policy.trust(ctx.target)
    for runtime, files in runtime_files.items():
        trusted_by[runtime] = chain_trusted(chain, [Path(f) for f in (*given, *files)], trust)
        if trusted_by[runtime] and files and trusted_with is None:
            trusted_with = files[0]
        if trusted_by[runtime] and files:
            anchors[runtime] = [
                shown(f) for f in files if chain_trusted(chain, [*map(Path, given), Path(f)], trust)
            ]
        tried[runtime] = [f"{d}/" for d in dirs.get(runtime, [])] + [shown(f) for f in files]
    if trusted_with is None and not all(trusted_by.values()):
        # a CA file only the runtimes out of scope read (check --runtime R): the fix for
        # R copies it where R looks (tls-runtime-lacks-ca)
        elsewhere = found.get("elsewhere")
        if elsewhere is None:
            elsewhere = policy.trust_elsewhere(ctx.target)
        trusted_with = next(
            (
                ca
                for ca in elsewhere
                if chain_trusted(chain, [Path(f) for f in (*given, ca)], trust)
            ),
            None,
        )
    if trusted_with:
        trusted_with = shown(trusted_with)
    per_endpoint = found["endpoints"] if "endpoints" in found else policy.endpoint_trust(ctx.target)
    trusted_at = {
        runtime: [
            None if cas is None else chain_trusted(chain, [Path(f) for f in (*given, *cas)], trust)
            for cas in endpoints
        ]
        for runtime, endpoints in per_endpoint.items()
    }
    return [
        _with_facts(
            o,
            trusted_by=trusted_by,
            trusted_with=trusted_with,
            trusted_anchors=anchors,
            trusted_at=trusted_at,
            ca_tried=tried,
            **_tried_facts(tried),
        )
        if o.kind == "tls.verify"
        else o
        for o in observations
    ]


def _tried_facts(tried: dict[str, list[str]]) -> dict[str, list[str]]:
    """``ca_tried`` flattened for a rule's text: the runtimes that looked
    (``ca_tried_by``), the folders they looked in (``ca_tried_dirs``) and the CA files
    they found there (``ca_tried_files``), each once, in order."""
    places = [p for runtime_places in tried.values() for p in runtime_places]
    return {
        "ca_tried_by": list(tried),
        "ca_tried_dirs": list(dict.fromkeys(p for p in places if p.endswith("/"))),
        "ca_tried_files": list(dict.fromkeys(p for p in places if not p.endswith("/"))),
    }


async def _first_request(
    ctx: ProbeContext, result: HandshakeResult, observations: list[Observation], budget: float
) -> list[Observation]:
    """The session the handshake kept: when the HTTP phase will go on, its ``GET /v2/``
    is sent over it now (kept for the HTTP probe); otherwise one request is sent and the
    session closed. Either request is where a TLS 1.3 server that wants a client
    certificate sends its alert, which makes the handshake's outcome ``alert``."""
    from regdoctor.net.handshake import confirm, record_alert
    from regdoctor.probes.exchange import fetch
    from regdoctor.probes.http_ping import base_url
    from regdoctor.probes.manifest_request import send_manifest_beside_ping

    target, state = ctx.target, ctx.state
    verify = next((o for o in observations if o.kind == "tls.verify"), None)
    stream = result.stream
    if result.outcome != "ok" or (verify is not None and not verify.ok and state.verify_enforced):
        await confirm(result, target.host, budget)
    else:
        result.stream = None
        pair, _ = ctx.network.client_pair(target.hostport)
        state.ssl_context = ctx.network.ssl_context(
            target.hostport,
            enforced=state.verify_enforced and verify is not None,
            client_cert=pair,
        )
        handover = ctx.network.handover(state)
        handover.put(target.host, target.port, stream)
        leaf = _leaf_der(result)
        handover.pin(target.host, target.port, leaf, state.ssl_context)
        # a spare connection is secured now, beside /v2/: the optional probe that
        # takes it while the manifest is fetched then waits for no handshake
        handover.warm(target.host, target.port, state.ssl_context, target.host, budget)
        scheme = state.scheme
        state.scheme = "https"
        send_manifest_beside_ping(ctx)
        exchange = await fetch(ctx, "GET", f"{base_url(ctx)}/v2/")
        state.scheme = scheme
        if stream.alert is None:
            state.extra["v2_prefetched"] = exchange
            state.extra.setdefault("phase_ms", {})["tls"] = result.duration_ms
            return observations
        record_alert(result, stream.alert)
    if result.outcome == "ok":
        return observations
    handshake = observations[0]
    from dataclasses import replace

    return [
        replace(
            handshake,
            ok=False,
            error=result.error,
            facts={**handshake.facts, "outcome": result.outcome, "alert": result.alert},
        ),
        *observations[1:],
    ]


def _leaf_der(result: HandshakeResult) -> bytes | None:
    """The DER of the leaf certificate the handshake verified, from pyOpenSSL's own
    certificate: cryptography's ``public_bytes`` needs its ``serialization`` module,
    whose first import (~7 ms here) fell between the server's answer and ``GET /v2/``."""
    if result.peer_chain:
        from regdoctor.net.lean_openssl import crypto

        der: bytes = crypto.dump_certificate(crypto.FILETYPE_ASN1, result.peer_chain[0])
        return der
    if result.chain:  # cryptography's certificates only (not from a handshake)
        from cryptography.hazmat.primitives.serialization import Encoding

        leaf: bytes = result.chain[0].public_bytes(Encoding.DER)
        return leaf
    return None


def _prepare_http_contexts(ctx: ProbeContext) -> None:
    """Make the HTTP client's ``ssl.SSLContext`` that :func:`_first_request` hands the
    kept session over with (``Network.ssl_context``: one per run and trust set) while the
    ClientHello is in flight: a process's first
    SSLContext costs ~1.4 ms (OpenSSL fetching its algorithms), which fell between the
    server's answer and ``GET /v2/``. Only the context for the verification as enforced
    now (see below). Not for a server that may well answer in plain
    HTTP (an insecure registry, without TLS material for it: see :func:`examine`)."""
    target, state = ctx.target, ctx.state
    hostport = target.hostport
    pair, _ = ctx.network.client_pair(hostport)
    if state.fallback_allowed and pair is None and not ctx.network.ca_files(hostport):
        return
    try:
        # only the one the first request uses as things stand (a second one, for a
        # verification a runtime drops, is made if it is ever due: with a client key
        # under a passphrase, each context made asks for it)
        ctx.network.ssl_context(hostport, enforced=state.verify_enforced, client_cert=pair)
    except Exception:  # a CA or key file that does not load: made (and failing) when due
        return


def _warm_early_spare(ctx: ProbeContext, budget: float) -> None:
    """Secure the spare the TCP phase connected with its own (an image's: probes/tcp.py)
    while this phase's ClientHello is in flight; :func:`_first_request` keeps it for the
    HTTP client only if it presented the leaf certificate this phase judged."""
    target, state = ctx.target, ctx.state
    if state.proxy is not None:
        return
    handover = ctx.network.handover(state)
    if not handover.has_spare(target.host, target.port, early=True):
        return
    try:
        pair, _ = ctx.network.client_pair(target.hostport)
        # no verification (and no trust store) yet: Handover.pin keeps it only if it
        # shows the leaf this phase verifies
        context = ctx.network.ssl_context(target.hostport, enforced=False, client_cert=pair)
    except Exception:  # a CA or key file that does not load: the phase itself says so
        return  # (the spare stays plain: a request taking it secures it as a new one)
    handover.secure_early(target.host, target.port, context, target.host, budget)


def _with_facts(observation: Observation, **facts: Any) -> Observation:
    from dataclasses import replace

    return replace(observation, facts={**observation.facts, **facts})


def _with_ok(observation: Observation, ok: bool) -> Observation:
    from dataclasses import replace

    return replace(observation, ok=ok)
