"""DNS: what the registry's name resolves to, through which resolver, and how fast.

A and AAAA (and the system's own lookup) are asked together, one wait; NXDOMAIN,
NODATA, SERVFAIL, a timeout and an unreachable resolver are kept apart because each
has another fix. What /etc/hosts (or, without ``--dns-server``, the system's
getaddrinfo) says is reported when it differs from DNS: that is where "works with
curl, fails in the pod" often hides.

Without ``--dns-server`` the system's answer (what a runtime dials) decides the phase and
the check goes on with it; dnspython (imported in a worker thread) and its queries are
off the critical path, and its observations are completed before the rules judge
(:class:`PendingDns`).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from regdoctor.discovery import locations
from regdoctor.model import Observation, PhaseStatus, Target
from regdoctor.net.network import Lookup, is_ip
from regdoctor.probes.base import ProbeContext, failure_summary, first

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


def _literal(ctx: ProbeContext, host: str, role: str) -> list[Observation]:
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


async def resolve_name(ctx: ProbeContext, name: str, role: str) -> list[Observation]:
    """Resolve ``name`` and return the observations; pins the addresses found so that
    every later connection to ``name`` goes to them."""
    host = name.strip("[]")
    if is_ip(host):
        return _literal(ctx, host, role)
    from regdoctor.net import roundtrips

    budget = ctx.budget()
    start = time.monotonic()
    # A, AAAA and the system's own view (hosts file, getaddrinfo) at once: one wait
    if ctx.options.dns_server is None:
        (a, aaaa, _), (system_source, system_addresses) = await asyncio.gather(
            _dnspython(ctx, host, budget), _system_lookup(ctx, host)
        )
    else:
        resolver = ctx.network.resolver
        a, aaaa, (system_source, system_addresses) = await asyncio.gather(
            resolver.query(host, "A", budget),
            resolver.query(host, "AAAA", budget),
            _system_lookup(ctx, host),
        )
    end = time.monotonic()
    roundtrips.record("dns A+AAAA", (end - start) * 1000, host=host)
    observations = _answer(ctx, host, role, a, aaaa, system_source, system_addresses, start, end)
    effective = effective_addresses(observations)
    if effective:
        ctx.network.pin(host, effective)
    return observations


def _answer(
    ctx: ProbeContext,
    host: str,
    role: str,
    a: Lookup,
    aaaa: Lookup,
    system_source: str | None,
    system_addresses: list[str] | None,
    start: float,
    end: float,
) -> list[Observation]:
    """The observations of a name's lookup: the DNS answer, and the system's view when
    it differs."""
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
                "resolver": ctx.network.resolver.label,
                "outcome": outcome,
                "addresses": addresses,
                "a": a.outcome,
                "aaaa": aaaa.outcome,
                "rcode": a.rcode or aaaa.rcode,
            },
            error=error,
            duration_ms=(end - start) * 1000,
        )
    ]
    system = _system_view(ctx, host, addresses, role, system_source, system_addresses)
    if system is not None:
        observations.append(system)
    return observations


async def _dnspython(
    ctx: ProbeContext, host: str, budget: float, *, when_idle: bool = False
) -> tuple[Lookup, Lookup, float]:
    """A and AAAA through dnspython, asked together (dnspython imported in a worker
    thread on first use; ``when_idle``: once the check waits on the network), and when
    they went out."""
    resolver = await ctx.network.prepare_resolver(when_idle=when_idle)
    sent = time.monotonic()
    a, aaaa = await asyncio.gather(
        resolver.query(host, "A", budget), resolver.query(host, "AAAA", budget)
    )
    return a, aaaa, sent


#: ``TargetState.extra``: the DNS phase's dnspython answer still to come (PendingDns)
PENDING_KEY = "dns_pending"
#: ``TargetState.extra``: the DNS phase waits for dnspython (a check being redone)
WAIT_KEY = "dns_wait"


class PendingDns:
    """The DNS phase, decided on the system's answer while dnspython's A and AAAA
    queries (and its import, in a worker thread) are still out.

    Without ``--dns-server``, what a runtime dials is what the hosts file says, else what
    the system's resolver says; getaddrinfo asks the same resolver as dnspython. So the
    later phases go on with the system's addresses at once, and dnspython's answer,
    which the observations need (an rcode when the name fails, a difference between DNS
    and the system's view), is awaited before the rules judge (:meth:`complete`). The
    observations are then what the DNS phase would have made waiting for it. When DNS
    settles on other addresses than those dialled (getaddrinfo and DNS differ, or DNS
    fails: rare), the check is redone, waiting for dnspython as before."""

    def __init__(
        self,
        ctx: ProbeContext,
        task: asyncio.Task[tuple[Lookup, Lookup, float]],
        host: str,
        role: str,
        start: float,
        source: str,
        addresses: list[str],
    ) -> None:
        self._task = task
        self._done_at: float | None = None
        task.add_done_callback(self._answered)
        self.host, self.role, self.start = host, role, start
        self.source = source
        self.system_addresses = addresses
        #: what the later phases dial meanwhile: the hosts file's addresses, in its
        #: order; getaddrinfo's in DNS's (A, then AAAA), which are theirs if they agree
        self.addresses = (
            list(addresses)
            if source != "getaddrinfo"
            else sorted(a for a in addresses if ":" not in a)
            + sorted(a for a in addresses if ":" in a)
        )
        #: where its observations go in the target's (after the phase's earlier ones)
        self.index = len(ctx.state.observations)

    def _answered(self, _: object) -> None:
        self._done_at = time.monotonic()

    async def complete(self, ctx: ProbeContext) -> list[Observation] | None:
        """The DNS phase's observations, once dnspython has answered; None when they
        name other addresses than the later phases dialled (or the lookup failed)."""
        from regdoctor.net import roundtrips

        waited_from = time.monotonic()
        ctx.network.idle.start()  # no request went out (a failed phase): dnspython now
        try:
            a, aaaa, sent = await self._task
        except Exception:  # a crash: the redone check observes it as it always did
            return None
        end = self._done_at or time.monotonic()
        if end > waited_from + 0.0005:
            # the check was done before the answer: the rest of the wait was on its path
            # (a round trip when most of it was the queries on the link, not the import)
            on_link = end - max(sent, waited_from)
            roundtrips.record(
                "dns A+AAAA (beside the check)",
                (end - waited_from) * 1000,
                round_trips=1 if on_link > (end - sent) / 2 else 0,
                host=self.host,
            )
        # the answer's duration: its queries' (the phase's is the system's lookup)
        observations = _answer(
            ctx, self.host, self.role, a, aaaa, self.source, self.system_addresses, sent, end
        )
        if effective_addresses(observations) != self.addresses:
            return None
        return observations

    def cancel(self) -> None:
        self._task.cancel()


async def resolve_beside(ctx: ProbeContext, name: str, role: str) -> list[Observation] | PendingDns:
    """The DNS phase without ``--dns-server``: dnspython's A and AAAA and the system's
    view (the hosts file, else getaddrinfo in the loop's executor) at once; when the
    system answers, a :class:`PendingDns` (the later phases need not wait for
    dnspython), else, once dnspython has answered, the observations."""
    host = name.strip("[]")
    if is_ip(host):
        return _literal(ctx, host, role)
    from regdoctor.net import roundtrips

    budget = ctx.budget()
    start = time.monotonic()
    # dnspython's import waits for the run's idle work (the first request on the link)
    queries = asyncio.create_task(_dnspython(ctx, host, budget, when_idle=True))
    try:
        system_source, system_addresses = await _system_lookup(ctx, host)
        if system_addresses and system_source is not None:
            if system_source == "getaddrinfo":  # a lookup on the link (a hosts file is not)
                roundtrips.record("dns getaddrinfo", (time.monotonic() - start) * 1000, host=host)
            return PendingDns(ctx, queries, host, role, start, system_source, system_addresses)
        ctx.network.idle.start()  # nothing else to go on: dnspython now
        a, aaaa, _ = await queries
    except BaseException:
        queries.cancel()
        raise
    end = time.monotonic()
    roundtrips.record("dns A+AAAA", (end - start) * 1000, host=host)
    observations = _answer(ctx, host, role, a, aaaa, system_source, system_addresses, start, end)
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
        from regdoctor.redact.secrets import redact

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
        if proxy is not None:
            # A proxied pull never resolves the registry: it resolves the proxy.
            yield ctx.observe(
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
                    "target": target.hostport,
                    # the daemon's unit drop-ins set it (None: the environment)
                    "unit_dir": unit_dir,
                    "unit": _UNITS.get(unit_dir or "", ""),
                },
                source=proxy.env,
            )
            host, role = proxy.host, "proxy"
        else:
            host, role = target.host, "registry"
        if ctx.options.dns_server is None and not ctx.state.extra.get(WAIT_KEY):
            result = await resolve_beside(ctx, host, role)
        else:
            result = await resolve_name(ctx, host, role)
        if isinstance(result, PendingDns):
            # decided on the system's answer; the observations (and the verdict, the
            # same or a warning) follow with dnspython's, before the rules judge
            ctx.network.pin(host, result.addresses)
            ctx.state.addresses = list(result.addresses)
            ctx.state.extra[PENDING_KEY] = result
            ctx.state.verdict("dns", PhaseStatus.OK)
            return
        for observation in result:
            yield observation
        self.settle(ctx, result)

    @staticmethod
    def settle(ctx: ProbeContext, observations: list[Observation]) -> None:
        """The phase's addresses and verdict from its lookup's observations."""
        answer = observations[0]
        ctx.state.addresses = effective_addresses(observations)
        if not ctx.state.addresses:
            ctx.state.verdict("dns", PhaseStatus.FAILED, answer.error)
        elif len(observations) > 1:
            ctx.state.verdict("dns", PhaseStatus.WARN, "the system lookup differs from DNS")
        else:
            ctx.state.verdict("dns", PhaseStatus.OK)


#: a drop-in directory -> the systemd unit it belongs to
_UNITS = {
    locations.DOCKER_DROP_INS: "docker",
    locations.CONTAINERD_DROP_INS: "containerd",
}
