"""TCP: connect to every address the DNS phase found, concurrently, and time it.

Refused (something answered with RST), timeout (SYN unanswered: a firewall drop, a
wrong address) and unreachable (no route) are different problems and stay apart.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING

from regdoctor.model import Observation, PhaseStatus, Target
from regdoctor.probes.base import HTTPS_PORT_FAILED, ProbeContext, failure_summary, first

if TYPE_CHECKING:
    from regdoctor.net.proxy import ProxyRoute

_OUTCOME_BY_ERRNO = {
    errno.ECONNREFUSED: "refused",
    errno.ETIMEDOUT: "timeout",
    errno.ENETUNREACH: "unreachable",
    errno.EHOSTUNREACH: "unreachable",
    errno.EADDRNOTAVAIL: "unreachable",
    errno.ECONNRESET: "reset",
}


async def connect(
    ctx: ProbeContext,
    address: str,
    port: int,
    role: str,
    *,
    keep: list[socket.socket] | None = None,
    sent: Callable[[], None] | None = None,
) -> Observation:
    """Connect to ``address:port`` and observe it. With ``keep``, a socket that
    connected is appended to it, open (the later phases use it), instead of closed. For
    the proxy (``role`` proxy) the error reads as a Go client's does: ``proxyconnect tcp:
    dial tcp ...``. ``sent`` is called once the SYN is on the link, while the answer is
    awaited."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    timeout = ctx.budget()
    loop = asyncio.get_running_loop()
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    start = time.monotonic()
    outcome, errno_name, error = "connected", None, None
    try:
        async with asyncio.timeout(timeout):
            if sent is not None:
                # runs at the loop's next turn: sock_connect's first step, below, sends
                # the SYN before this coroutine first waits
                loop.call_soon(sent)
            await loop.sock_connect(sock, (address, port))
    except TimeoutError:
        outcome, errno_name = "timeout", "ETIMEDOUT"
        error = f"dial tcp {_join(address, port)}: i/o timeout after {timeout:g}s"
    except OSError as exc:
        code = exc.errno or 0
        outcome = _OUTCOME_BY_ERRNO.get(code, "error")
        errno_name = errno.errorcode.get(code)
        reason = os.strerror(code) if code else str(exc)
        error = f"dial tcp {_join(address, port)}: connect: {reason.lower()}"
    finally:
        if keep is not None and outcome == "connected":
            keep.append(sock)
        else:
            sock.close()
    if error is not None and role == "proxy":
        error = f"proxyconnect tcp: {error}"
    return ctx.observe(
        "tcp.connect",
        ok=outcome == "connected",
        phase="tcp",
        facts={
            "address": address,
            "port": port,
            "dialled": _join(address, port),
            "family": "ipv6" if family == socket.AF_INET6 else "ipv4",
            "role": role,
            "outcome": outcome,
            "errno": errno_name,
            "timeout_s": round(timeout, 3),
        },
        error=error,
        duration_ms=(time.monotonic() - start) * 1000,
    )


def _import_tls() -> None:
    from regdoctor.net.warm import warm

    warm("regdoctor.net.lean_openssl")


def _join(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


async def connect_all(
    ctx: ProbeContext, addresses: list[str], port: int, role: str
) -> list[Observation]:
    observations, kept = await connect_keep(ctx, addresses, port, role)
    if kept is not None:
        kept.close()
    return observations


async def connect_keep(
    ctx: ProbeContext,
    addresses: list[str],
    port: int,
    role: str,
    *,
    sent: Callable[[], None] | None = None,
) -> tuple[list[Observation], socket.socket | None]:
    """Connect to every address at once (one round trip on the critical path) and keep
    the connection to the first address that answered open: the TLS handshake and the
    HTTP requests go over it (``regdoctor.net.handover``). ``sent``: see :func:`connect`."""
    from regdoctor.net import roundtrips

    start = time.monotonic()
    kept: list[list[socket.socket]] = [[] for _ in addresses]
    observations = list(
        await asyncio.gather(
            *(
                connect(ctx, a, port, role, keep=k, sent=sent)
                for a, k in zip(addresses, kept, strict=True)
            )
        )
    )
    if addresses:
        host = _join(addresses[0], port) if len(addresses) == 1 else f"*:{port}"
        roundtrips.record("tcp connect", (time.monotonic() - start) * 1000, host=host)
    sockets = [s for group in kept for s in group]
    for extra in sockets[1:]:
        extra.close()
    return observations, (sockets[0] if sockets else None)


def _http_port_next(ctx: ProbeContext, failed: Sequence[Observation]) -> bool:
    """Port 443 of a registry named without a port did not connect, and the runtimes in
    scope go on to http:// after that: there they dial port 80 (moby 20.10 registry
    endpoints ``http://`` + the index name; containers/image v5.23.1 docker_client.go
    ``%s://%s/v2/``; hosts.toml ``server = "http://host"``), so the check does too."""
    from regdoctor.probes.http_ping import names_port
    from regdoctor.probes.tls import scheme_policy

    target = ctx.target
    if ctx.state.proxy is not None or target.scheme is not None or target.port != 443:
        return False
    if names_port(target.registry) or not failed:
        return False
    _enforced, _observed, fallback, after = scheme_policy(ctx)
    outcomes = {str(o.facts.get("outcome")) for o in failed}
    return fallback and bool(outcomes) and outcomes <= set(after)


def _every_runtime_goes_on(ctx: ProbeContext) -> bool:
    """Every runtime in scope goes on to http:// after port 443 failed. Else some stop
    there (docker told the registry is insecure, containerd not): each is judged on its
    own endpoint (the one that goes on by port 80, the others by 443's failure, which
    the TLS phase's observation of the https:// attempt carries)."""
    policy = ctx.options.schemes
    if policy is None:
        return True
    choice = policy.schemes(ctx.target, ctx.state.addresses)
    return set(choice.plain_http) >= set(choice.scope)


def _http_proxy(ctx: ProbeContext) -> ProxyRoute | None:
    """The proxy Go's ProxyFromEnvironment gives the target's ``http://`` /v2/ URL
    (``HTTP_PROXY`` unless ``NO_PROXY`` matches it), else None (direct)."""
    from regdoctor.net.proxy import route
    from regdoctor.probes.dns import runtime_http_url

    return route(ctx.network.proxy_for(runtime_http_url(ctx.target)), "http")


def _plain_port_worth_a_look(ctx: ProbeContext, failed: Sequence[Observation]) -> bool:
    """Port 443 of a registry named without a port refused every address, and the
    check goes direct: a plain-HTTP registry on port 80 is what a runtime would reach if
    it were told the registry is insecure. Not Docker Hub's hosts: no runtime is told
    they are insecure (dockerd refuses to start so: moby registry/config.go)."""
    from regdoctor.probes.http_ping import names_port
    from regdoctor.reference.dockerhub import is_hub

    target = ctx.target
    if ctx.state.proxy is not None or target.scheme is not None or target.port != 443:
        return False
    if names_port(target.registry) or not failed or is_hub(target.host):
        return False
    return all(o.facts.get("outcome") == "refused" for o in failed)


#: How long the look at port 80 may take (connect and answer), after a refused 443: at
#: most this, and at least :data:`_PLAIN_PORT_MIN_S`, else ten times the time port 443
#: took to refuse (a round trip): a registry on port 80 of a host that answered at once
#: answers within a few round trips; a port 80 that accepts and says nothing, or drops
#: packets, must not hold the check of a registry that is simply down.
_PLAIN_PORT_WAIT_S = 2.0
_PLAIN_PORT_MIN_S = 0.3
#: The most of an answer's head read from port 80.
_PLAIN_PORT_HEAD = 8192


def _plain_port_wait(refused: Sequence[Observation]) -> float:
    rtt = max((float(o.duration_ms or 0.0) for o in refused), default=0.0) / 1000
    return min(_PLAIN_PORT_WAIT_S, max(_PLAIN_PORT_MIN_S, 10 * rtt))


async def _plain_registry_at_80(ctx: ProbeContext, wait: float) -> Observation | None:
    """``GET http://host/v2/`` (port 80) as a runtime told the registry is insecure sends
    it: through the run's network layer (``ctx.network``: the pinned addresses, the
    proxy the environment names for http:// URLs, ``HTTP_PROXY``; the check's deadline),
    an ``http.plain_port`` observation when something answers (``is_registry``: it
    answers as a registry, :func:`regdoctor.probes.http_ping.looks_like_registry`).
    ``wait``: how long it may take. Where the look decides whether a runtime in scope
    goes on (mixed scope), the time that runtime waits for the answer
    (``ctx.http_budget()``, as the HTTP phase); where it only hints at a fix (no runtime
    goes on), a few round trips (:func:`_plain_port_wait`)."""
    from regdoctor.probes.exchange import fetch
    from regdoctor.probes.http_ping import looks_like_registry

    target = ctx.target
    address = ctx.state.addresses[0] if ctx.state.addresses else None
    if address is None:
        return None
    host = f"[{target.host}]" if ":" in target.host else target.host
    url = f"http://{host}/v2/"
    made_client = "http_client" not in ctx.state.extra
    # the runtimes dial the addresses the DNS phase found (no second lookup)
    ctx.network.pin(target.host, ctx.state.addresses)
    start = time.monotonic()
    try:
        async with asyncio.timeout(wait):
            exchange = await fetch(
                ctx, "GET", url, body_limit=_PLAIN_PORT_HEAD, label="GET :80/v2/"
            )
    except TimeoutError:
        return None
    finally:
        if made_client:
            # the later phases make their own client, with the TLS phase's settings
            ctx.state.extra.pop("http_client", None)
    if exchange.outcome != "response" or exchange.status is None:
        return None
    from regdoctor.redact.secrets import redact

    return ctx.observe(
        "http.plain_port",
        ok=True,
        phase="tcp",
        facts={
            "host": target.host,
            "address": address,
            "port": 80,
            "url": url,
            "status": exchange.status,
            "is_registry": looks_like_registry(exchange),
            "proxy": redact(exchange.proxy) if exchange.proxy else None,
        },
        duration_ms=(time.monotonic() - start) * 1000,
    )


def _early_spare(ctx: ProbeContext) -> str | None:
    """For an image, a spare connection to the first address, connected with the TCP
    phase's own (``regdoctor.net.handover``): the anonymous manifest request goes over it
    beside the first ``GET /v2/`` (``probes/manifest_request.py``). Its address, or None
    when there is none: not an image, no address, or no such request (Docker Hub, or the
    check has credentials for the registry: ``anonymous_beside``). Where the TLS phase
    may fall back to plain HTTP, two: the first is secured beside the TLS attempt
    (useless if the server speaks plain HTTP), the second stays plain for ``http://``."""
    from regdoctor.probes.manifest_request import anonymous_beside
    from regdoctor.probes.tls import scheme_policy

    target, addresses = ctx.target, ctx.state.addresses
    if not addresses or not anonymous_beside(ctx):
        return None
    handover = ctx.network.handover(ctx.state)
    count = 2 if target.scheme is None and scheme_policy(ctx)[2] else 1
    for _ in range(count):
        handover.add_spare(target.host, target.port, addresses[0], ctx.options.timeout, early=True)
    return addresses[0]


def _open_spares(ctx: ProbeContext, sock: socket.socket) -> None:
    """Speculative connections beside the TCP phase's, to the address that answered
    (``regdoctor.net.handover``): one for the optional probes (Harbor), which then
    neither wait for the critical path's connection nor dial after it; and, when the
    TLS phase may fall back to plain HTTP, one for ``http://``, so that the fallback
    costs no connect. Each costs a connection, none a round trip of the check."""
    from regdoctor.probes.tls import scheme_policy

    target = ctx.target
    address = sock.getpeername()[0]
    count = 1
    if target.scheme is None and scheme_policy(ctx)[2]:
        count += 1
    handover = ctx.network.handover(ctx.state)
    for _ in range(count):
        handover.add_spare(target.host, target.port, address, ctx.options.timeout)


class TcpProbe:
    id = "tcp"
    needs: tuple[str, ...] = ("dns",)

    def applies(self, target: Target) -> bool:
        return True

    def summary(self, observations: Sequence[Observation]) -> str:
        conn = first(observations, "tcp.connect", outcome="connected")
        if conn and conn.facts.get("address"):
            address, port = conn.facts.get("address"), conn.facts.get("port")
            host = f"[{address}]" if ":" in str(address) else str(address)
            text = f"connected to {host}:{port}" if port else f"connected to {host}"
            return text + (" (the proxy)" if conn.facts.get("role") == "proxy" else "")
        return failure_summary(observations)

    async def run(self, ctx: ProbeContext) -> AsyncIterator[Observation]:
        proxy = ctx.state.proxy
        port = proxy.port if proxy else ctx.target.port
        role = "proxy" if proxy else "registry"
        early = _early_spare(ctx) if proxy is None else None
        # the TLS phase comes next: pyOpenSSL is imported while the SYN's answer travels
        sent = _import_tls if ctx.target.scheme != "http" else None
        observations, sock = await connect_keep(ctx, ctx.state.addresses, port, role, sent=sent)
        if early is not None and (sock is None or sock.getpeername()[0] != early):
            ctx.network.handover(ctx.state).discard_spares(ctx.target.host, ctx.target.port)
        plain: Observation | None = None
        looked = False
        from regdoctor.reference.dockerhub import is_hub

        going_on = sock is None and _http_port_next(ctx, observations)
        if going_on and not _every_runtime_goes_on(ctx):
            # some runtimes in scope go on to http://, others stop at 443: go on (for
            # the former) only where a registry answers at http://host/v2/ (by the route
            # they take: HTTP_PROXY or direct), after any failure they go on after; the
            # latter are judged on 443's failure, which the TLS phase's observation
            # carries (rule tcp-refused-plain-http-80 on their failing runtime.path)
            looked = not is_hub(ctx.target.host)
            if looked:
                plain = await _plain_registry_at_80(ctx, ctx.http_budget())
            going_on = plain is not None and bool(plain.facts.get("is_registry"))
        if going_on:
            # the runtimes go on to http://host/v2/ (port 80; probes/http_ping.py) by the
            # route Go's ProxyFromEnvironment gives that URL: HTTP_PROXY unless NO_PROXY
            # matches it (moby registry.NewTransport, containerd and containers/image use
            # http.ProxyFromEnvironment), so the check dials the proxy or port 80
            via = _http_proxy(ctx)
            if via is None:
                at_80, sock = await connect_keep(ctx, ctx.state.addresses, 80, role)
            else:
                from regdoctor.probes.dns import (
                    daemon_unit_dir,
                    effective_addresses,
                    proxy_configured,
                    resolve_name,
                )

                yield proxy_configured(ctx, via, daemon_unit_dir(ctx))
                named = await resolve_name(ctx, via.host, "proxy")
                for observation in named:
                    yield observation
                ctx.state.proxy = proxy = via
                role = "proxy"
                at_80, sock = await connect_keep(ctx, effective_addresses(named), via.port, role)
            # the failure at 443 is the TLS phase's observation (the https:// attempt),
            # not a refusing address of the registry's (tcp-partial-refused); what port
            # 80 (or the proxy) did is what the runtimes meet, connected or not
            ctx.state.extra[HTTPS_PORT_FAILED] = {
                "outcome": str(observations[0].facts.get("outcome") or "refused"),
                "address": observations[0].facts.get("address"),
                "error": observations[0].error or "refused",
                "via": via.hostport if via is not None else None,
            }
            observations = at_80
            if sock is not None:
                sock.close()  # the http:// requests open their own connection
                sock = None
            if plain is not None:
                yield plain
        elif sock is None and (looked or _plain_port_worth_a_look(ctx, observations)):
            # no runtime in scope goes on to http://, so none dials port 80; what answers
            # there says which fix helps (mark it insecure: rule tcp-refused-plain-http-80)
            for observation in observations:
                yield observation
            if not looked:
                plain = await _plain_registry_at_80(
                    ctx, min(ctx.budget(), _plain_port_wait(observations))
                )
            if plain is not None:
                yield plain
            ctx.state.verdict(
                "tcp", PhaseStatus.FAILED, observations[0].error if observations else None
            )
            return
        if sock is not None and proxy is None:
            # the TLS (or HTTP) phase continues on it; the pipeline closes it if not
            ctx.state.extra["tcp_socket"] = sock
            _open_spares(ctx, sock)
        elif sock is not None:
            sock.close()  # through a proxy, the tunnel is opened as a pull opens it
        for observation in observations:
            yield observation
        connected = [o.facts["address"] for o in observations if o.ok]
        if not connected:
            ctx.state.verdict(
                "tcp", PhaseStatus.FAILED, observations[0].error if observations else None
            )
            return
        ctx.state.address = connected[0]
        # Later phases dial the addresses that answered, the working one first.
        ctx.network.pin(proxy.host if proxy else ctx.target.host, connected)
        if len(connected) < len(observations):
            ctx.state.verdict("tcp", PhaseStatus.WARN, "some addresses did not connect")
        else:
            ctx.state.verdict("tcp", PhaseStatus.OK)
