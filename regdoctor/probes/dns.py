"""DNS: what the registry's name resolves to, through which resolver, and how fast.

A and AAAA (and the system's own lookup) are asked together, one wait; NXDOMAIN,
NODATA, SERVFAIL, a timeout and an unreachable resolver are kept apart because each
has another fix. What /etc/hosts (or, without ``--dns-server``, the system's
getaddrinfo) says is reported when it differs from DNS: that is where "works with
curl, fails in the pod" often hides.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from regdoctor.discovery import locations
from regdoctor.model import Observation, PhaseStatus, Target
from regdoctor.net.network import Lookup, is_ip
from regdoctor.probes.base import UNRESOLVED, ProbeContext, failure_summary, first

if TYPE_CHECKING:
    from regdoctor.net.proxy import ProxyRoute

_FAILURE_ORDER = ("nxdomain", "servfail", "refused", "unreachable", "timeout", "error")


def combine(a: Lookup, aaaa: Lookup) -> str:
    """The outcome of a name from its A and AAAA answers."""
    if a.addresses or aaaa.addresses:
        return "answer"
    outcomes = {a.outcome, aaaa.outcome}
    if outcomes == {"nodata"}:
        return "nodata"
    for outcome in _FAILURE_ORDER:
        if outcome in outcomes:
            return outcome
    return "nodata" if "nodata" in outcomes else "error"


async def resolve_name(ctx: ProbeContext, name: str, role: str) -> list[Observation]:
    """Resolve ``name`` and return the observations; pins the addresses found so that
    every later connection to ``name`` goes to them."""
    host = name.strip("[]")
    if is_ip(host):
        return [
            ctx.observe(
                "dns.answer",
                ok=True,
                phase="dns",
                facts={
                    "name": host,
                    "role": role,
                    "outcome": "literal",
                    "addresses": [host],
                    "resolver": None,
                    "a": None,
                    "aaaa": None,
                    "rcode": None,
                },
                duration_ms=0.0,
            )
        ]
    from regdoctor.net import roundtrips

    resolver = ctx.network.resolver
    budget = ctx.budget()
    start = time.monotonic()
    # A, AAAA and the system's own view (hosts file, getaddrinfo) at once: one wait
    a, aaaa, (system_source, system_addresses) = await asyncio.gather(
        resolver.query(host, "A", budget),
        resolver.query(host, "AAAA", budget),
        _system_lookup(ctx, host),
    )
    roundtrips.record("dns A+AAAA", (time.monotonic() - start) * 1000, host=host)
    outcome = combine(a, aaaa)
    addresses = list(a.addresses) + list(aaaa.addresses)
    error = None
    if outcome != "answer":
        error = a.error or aaaa.error or f"{host}: {outcome}"
    observations = [
        ctx.observe(
            "dns.answer",
            ok=outcome == "answer",
            phase="dns",
            facts={
                "name": host,
                "role": role,
                "resolver": resolver.label,
                "outcome": outcome,
                "addresses": addresses,
                "a": a.outcome,
                "aaaa": aaaa.outcome,
                "rcode": a.rcode or aaaa.rcode,
            },
            error=error,
            duration_ms=(time.monotonic() - start) * 1000,
        )
    ]
    system = _system_view(ctx, host, addresses, role, system_source, system_addresses)
    if system is not None:
        observations.append(system)
    effective = effective_addresses(observations)
    if effective:
        ctx.network.pin(host, effective)
    return observations


def effective_addresses(observations: list[Observation]) -> list[str]:
    """The addresses a runtime dials: /etc/hosts wins over DNS (glibc and Go both read
    the hosts file first)."""
    for observation in observations:
        if observation.kind == "dns.system" and observation.facts.get("source") != "getaddrinfo":
            return list(observation.facts.get("addresses") or [])
    return list(observations[0].facts.get("addresses") or [])


async def _system_lookup(ctx: ProbeContext, host: str) -> tuple[str | None, list[str] | None]:
    """What the system says of ``host``: the hosts file, else (without
    ``--dns-server``) getaddrinfo. (source, addresses), or (None, None)."""
    hosts_file = ctx.options.config_root / locations.HOSTS.lstrip("/")
    from_hosts = read_hosts_file(hosts_file).get(host.lower())
    if from_hosts:
        return str(hosts_file), from_hosts
    if ctx.options.dns_server is None:
        return "getaddrinfo", await _getaddrinfo(host, ctx.budget())
    return None, None


def _system_view(
    ctx: ProbeContext,
    host: str,
    dns_addresses: list[str],
    role: str,
    source: str | None,
    addresses: list[str] | None,
) -> Observation | None:
    if addresses is None or set(addresses) == set(dns_addresses):
        return None
    return ctx.observe(
        "dns.system",
        ok=True,
        phase="dns",
        facts={
            "name": host,
            "role": role,
            "addresses": addresses,
            "source": source,
            "dns_addresses": dns_addresses,
        },
        source=source,
    )


async def _getaddrinfo(host: str, timeout: float) -> list[str] | None:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def read_hosts_file(path: Path) -> dict[str, list[str]]:
    """Parse an /etc/hosts file: name -> addresses, in file order."""
    result: dict[str, list[str]] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return result
    for line in text.splitlines()[:10000]:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or not is_ip(fields[0].split("%")[0]):
            continue
        for name in fields[1:]:
            result.setdefault(name.lower(), []).append(fields[0])
    return result


class DnsProbe:
    id = "dns"
    needs: tuple[str, ...] = ()

    def applies(self, target: Target) -> bool:
        return True

    def summary(self, observations: Sequence[Observation]) -> str:
        answer = first(observations, "dns.answer", role="registry") or first(
            observations, "dns.answer"
        )
        addresses = answer.facts.get("addresses") if answer else None
        if isinstance(addresses, list) and addresses:
            shown = ", ".join(str(a) for a in addresses[:3])
            shown += f" (+{len(addresses) - 3})" if len(addresses) > 3 else ""
            proxy = first(observations, "proxy.configured")
            if proxy is not None and answer is not None and answer.facts.get("role") == "proxy":
                facts = proxy.facts
                shown += f" (the proxy {facts.get('proxy_hostport')}, from {facts.get('env')})"
            return shown
        return failure_summary(observations)

    async def run(self, ctx: ProbeContext) -> AsyncIterator[Observation]:
        from regdoctor.net.proxy import route

        target = ctx.target
        scheme = target.scheme or "https"
        url = f"{scheme}://{target.hostport}/v2/"
        proxy = route(ctx.network.proxy_for(url), scheme)
        ctx.state.proxy = proxy
        daemon = ctx.network.proxy_env  # the pulling daemon's unit environment, if any
        # a drop-in directory (where a fix writes), not daemon.json's proxies (which a
        # drop-in cannot change: the fixes then edit daemon.json)
        unit_dir = daemon.source if daemon is not None and daemon.source in _UNITS else None
        if proxy is None and unit_dir is not None:
            shell = route(ctx.network.shell_proxy_for(url), scheme)
            if shell is not None:
                # the shell (and regdoctor, curl, podman, ctr) would use a proxy; the
                # daemon pulls without one: its unit's drop-ins set none
                yield ctx.observe(
                    "proxy.shell_only",
                    ok=True,
                    phase="dns",
                    facts={
                        "proxy_hostport": shell.hostport,
                        "env": shell.env,
                        "unit_dir": unit_dir,
                        "unit": _UNITS.get(unit_dir or "", ""),
                        "target": target.hostport,
                    },
                    source=unit_dir,
                )
        if proxy is None:
            observations = await resolve_name(ctx, target.host, "registry")
            plain = _plain_proxy(ctx, observations)
            if plain is None:
                for observation in observations:
                    yield observation
                self._settle(ctx, observations)
                return
            # the name does not resolve here, and http:// goes through HTTP_PROXY, which
            # the runtimes in scope go on to after the https:// attempt fails in DNS
            for observation in observations:
                yield observation
            ctx.state.extra[UNRESOLVED] = observations[0].error or "no address"
            proxy = ctx.state.proxy = plain
        if proxy is not None:
            # A proxied pull never resolves the registry: it resolves the proxy.
            yield proxy_configured(ctx, proxy, unit_dir)
            observations = await resolve_name(ctx, proxy.host, "proxy")
        for observation in observations:
            yield observation
        self._settle(ctx, observations)
        unresolved = ctx.state.extra.get(UNRESOLVED)
        if unresolved is not None and ctx.state.addresses:
            ctx.state.verdict(
                "dns",
                PhaseStatus.WARN,
                f"{target.host} does not resolve here ({unresolved}); http:// goes through "
                f"the proxy {proxy.hostport if proxy else ''} ({proxy.env if proxy else ''})",
            )

    @staticmethod
    def _settle(ctx: ProbeContext, observations: list[Observation]) -> None:
        answer = observations[0]
        ctx.state.addresses = effective_addresses(observations)
        if not ctx.state.addresses:
            ctx.state.verdict("dns", PhaseStatus.FAILED, answer.error)
        elif len(observations) > 1:
            ctx.state.verdict("dns", PhaseStatus.WARN, "the system lookup differs from DNS")
        else:
            ctx.state.verdict("dns", PhaseStatus.OK)


def proxy_configured(ctx: ProbeContext, proxy: ProxyRoute, unit_dir: str | None) -> Observation:
    """The ``proxy.configured`` observation: the pull of ``ctx.target`` goes through
    ``proxy`` (``unit_dir``: the daemon's unit drop-ins set it; None: the environment)."""
    from regdoctor.redact.secrets import redact

    return ctx.observe(
        "proxy.configured",
        ok=True,
        phase="dns",
        facts={
            "proxy": redact(proxy.url),
            "env": proxy.env,
            "host": proxy.host,
            "port": proxy.port,
            "proxy_host": proxy.host,
            "proxy_port": proxy.port,
            "proxy_hostport": proxy.hostport,
            "proxy_scheme": proxy.scheme,
            "target": ctx.target.hostport,
            "unit_dir": unit_dir,
            "unit": _UNITS.get(unit_dir or "", ""),
        },
        source=proxy.env,
    )


def daemon_unit_dir(ctx: ProbeContext) -> str | None:
    """The drop-in directory of the pulling daemon's unit when its environment comes
    from there (a fix writes there), else None."""
    daemon = ctx.network.proxy_env
    return daemon.source if daemon is not None and daemon.source in _UNITS else None


def _plain_proxy(ctx: ProbeContext, observations: list[Observation]) -> ProxyRoute | None:
    """The ``HTTP_PROXY`` route of the target's http:// URL when its name did not resolve
    here and a runtime in scope goes on to http:// after that (dockerd and podman for
    an insecure registry, after any https:// error: moby distribution/pull.go Pull and
    registry.go NewV2Repository (a fallbackError), v20.10; containers/image
    docker_client.go detectPropertiesHelper, v5.23.1; containerd's ``server =
    "http://..."`` goes there at once). Go's ProxyFromEnvironment sends that request to
    the proxy, which resolves the name itself: the node's DNS is not asked. Else None."""
    from regdoctor.net.proxy import route
    from regdoctor.probes.tls import scheme_policy

    target = ctx.target
    if target.scheme is not None or effective_addresses(observations):
        return None
    proxy = route(ctx.network.proxy_for(runtime_http_url(target)), "http")
    if proxy is None:
        return None
    _enforced, _observed, fallback, after = scheme_policy(ctx)
    return proxy if fallback and "unresolved" in after else None


def runtime_http_url(target: Target) -> str:
    """The ``http://`` /v2/ URL the runtimes request for ``target``: with the port the
    registry names, else none (port 80; moby registry/endpoint_v2.go ``http://`` + the
    index name, containers/image docker_client.go ``%s://%s/v2/``). NO_PROXY is matched
    against it as Go's httpproxy does (golang.org/x/net/http/httpproxy useProxy on
    canonicalAddr: the URL's port, else 80 for http and 443 for https), so an entry
    ``host:80`` bypasses the proxy for it and ``host:443`` does not (the URL was
    ``http://host:443/v2/``, which matched the other way round)."""
    from regdoctor.probes.http_ping import names_port

    host = f"[{target.host}]" if ":" in target.host else target.host
    port = f":{target.port}" if names_port(target.registry) else ""
    return f"http://{host}{port}/v2/"


#: a drop-in directory -> the systemd unit it belongs to
_UNITS = {
    locations.DOCKER_DROP_INS: "docker",
    locations.CONTAINERD_DROP_INS: "containerd",
}
