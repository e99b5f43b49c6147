"""Without ``--dns-server``, the system's answer (the hosts file, else getaddrinfo)
decides the DNS phase: the TCP phase and the requests go on while dnspython's A and AAAA
queries are still out; the DNS observations, facts and verdicts are those of a check
that waited for dnspython (they are completed before the rules judge).

dnspython asks a DNS server the test starts on loopback that delays every answer (the
resolver is given to the run's ``Network``: without ``--dns-server`` it would read this
machine's resolv.conf, whose server is not on loopback). The system's view comes from a
hosts file below the config root; where getaddrinfo's answer is needed, the test
replaces that one lookup (the system resolver is not on loopback either)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from regdoctor.check.pipeline import check_target
from regdoctor.model import PhaseStatus, TargetReport
from regdoctor.net.network import Network, Resolver
from regdoctor.options import CheckOptions, SystemClock
from regdoctor.probes import dns as dns_probe
from regdoctor.reference.targets import parse_target
from tests.harness.slow_dns import SlowDns
from tests.harness.tcp_forward import Forwarder
from tests.harness.testbed import Testbed

DELAY_S = 0.5


@pytest.fixture
def slow_dns() -> Iterator[SlowDns]:
    server = SlowDns(DELAY_S).start()
    yield server
    server.stop()


@pytest.fixture
def relay(testbed: Testbed) -> Iterator[Forwarder]:
    forwarder = Forwarder(testbed.endpoints["plain"].port)
    yield forwarder
    forwarder.close()


def _check(ref: str, root: Path, dns: SlowDns) -> TargetReport:
    """One target's check in process, as ``check`` runs it, without ``--dns-server``."""
    options = CheckOptions(timeout=3.0, deadline=15.0, config_root=root)
    network = Network(options)
    network._resolver = Resolver(dns.server, options.timeout)  # instead of resolv.conf's

    async def run() -> TargetReport:
        try:
            clock = SystemClock()
            return await check_target(
                parse_target(ref), options, network, clock, clock.monotonic() + 15.0
            )
        finally:
            await network.aclose()

    return asyncio.run(run())


def _hosts(root: Path, text: str) -> None:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "hosts").write_text(text)


def _path(report: TargetReport) -> list[str]:
    return [step.what for step in report.critical_path]


def _kinds(report: TargetReport, kind: str) -> list[dict[str, object]]:
    return [dict(o.facts) for o in report.observations if o.kind == kind]


def _phases(report: TargetReport) -> dict[str, PhaseStatus]:
    return {p.name: p.status for p in report.phases}


def _healthy(report: TargetReport) -> None:
    manifest = next(o for o in report.observations if o.kind == "image.manifest")
    assert manifest.ok, manifest
    assert all(f.severity.value != "error" for f in report.findings)


def test_the_check_goes_on_with_the_hosts_file_before_dnspython_answers(
    testbed: Testbed, relay: Forwarder, slow_dns: SlowDns, tmp_path: Path
) -> None:
    _hosts(tmp_path, "127.0.0.1 app.slow.test\n")
    image = testbed.images.app.ref(f"app.slow.test:{relay.port}")
    report = _check(f"http://{image}", tmp_path, slow_dns)
    _healthy(report)
    # the registry accepted the TCP phase's connection (and Harbor's spare, opened
    # after the TCP phase) before the DNS server answered
    asked = min(at for at, _, _ in slow_dns.queries)
    assert max(relay.accepted_at) < asked + DELAY_S
    # ... and the observations are those of a check that waited for the answer
    (answer,) = _kinds(report, "dns.answer")
    assert answer["outcome"] == "answer" and answer["addresses"] == ["127.0.0.1"]
    assert answer["a"] == "answer" and answer["aaaa"] == "nodata"
    assert _kinds(report, "dns.system") == []  # the hosts file says what DNS says
    (connect,) = _kinds(report, "tcp.connect")
    assert connect["outcome"] == "connected" and connect["address"] == "127.0.0.1"
    assert _phases(report)["dns"] is PhaseStatus.OK
    assert _phases(report)["tcp"] is PhaseStatus.OK
    # the critical path: the requests over the connection the TCP phase opened, then
    # the rest of the wait for dnspython (on the link: a round trip)
    assert _path(report) == [
        "tcp connect",
        "GET /v2/",
        "HEAD manifest",
        "dns A+AAAA (beside the check)",
    ]
    beside = report.critical_path[-1]
    assert beside.round_trips == 1 and beside.host == "app.slow.test"
    # the DNS phase's time is its own wait (a hosts file: none); the answer's is the
    # queries'
    dns = next(p for p in report.phases if p.name == "dns")
    assert dns.duration_ms is not None and dns.duration_ms < DELAY_S * 1000 / 2
    answered = next(o for o in report.observations if o.kind == "dns.answer")
    assert answered.duration_ms is not None and answered.duration_ms >= DELAY_S * 1000
    assert relay.accepted == 2  # the TCP phase's connection and Harbor's spare


def test_when_dns_names_other_addresses_than_getaddrinfo_the_connect_is_redone(
    testbed: Testbed,
    relay: Forwarder,
    slow_dns: SlowDns,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The system resolver said 127.0.0.2 (nothing listens there), DNS 127.0.0.1: a
    runtime dials what DNS says, so the TCP phase does, as before: the check is redone
    waiting for DNS, and what the first attempt observed (a refusal) is dropped."""

    async def getaddrinfo(host: str, timeout: float) -> list[str]:
        assert host == "app.slow.test"
        return ["127.0.0.2"]

    monkeypatch.setattr(dns_probe, "_getaddrinfo", getaddrinfo)
    image = testbed.images.app.ref(f"app.slow.test:{relay.port}")
    report = _check(f"http://{image}", tmp_path, slow_dns)
    _healthy(report)
    (system,) = _kinds(report, "dns.system")
    assert system["source"] == "getaddrinfo"
    assert system["addresses"] == ["127.0.0.2"] and system["dns_addresses"] == ["127.0.0.1"]
    assert [(c["address"], c["outcome"]) for c in _kinds(report, "tcp.connect")] == [
        ("127.0.0.1", "connected")
    ]
    assert _phases(report)["dns"] is PhaseStatus.WARN
    assert _phases(report)["tcp"] is PhaseStatus.OK
    # the critical path says what happened: the attempt on getaddrinfo's answer, the
    # wait for dnspython's, and the check redone
    assert _path(report) == [
        "dns getaddrinfo",
        "tcp connect",
        "dns A+AAAA (beside the check)",
        "dns A+AAAA",
        "tcp connect",
        "GET /v2/",
        "HEAD manifest",
    ]
    assert relay.accepted == 2  # the redone check's connection and Harbor's spare


def test_when_the_system_finds_nothing_the_dns_phase_waits_for_dnspython(
    testbed: Testbed,
    relay: Forwarder,
    slow_dns: SlowDns,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def getaddrinfo(host: str, timeout: float) -> list[str]:
        return []  # what a failed lookup gives

    monkeypatch.setattr(dns_probe, "_getaddrinfo", getaddrinfo)
    image = testbed.images.app.ref(f"app.slow.test:{relay.port}")
    report = _check(f"http://{image}", tmp_path, slow_dns)
    _healthy(report)
    answered = min(at for at, _, _ in slow_dns.queries) + DELAY_S
    assert relay.accepted_at[0] >= answered
    assert _path(report)[:2] == ["dns A+AAAA", "tcp connect"]
    (system,) = _kinds(report, "dns.system")  # as before: getaddrinfo found nothing
    assert system["addresses"] == [] and system["source"] == "getaddrinfo"


def test_a_failing_name_keeps_its_rcode_and_verdict(
    testbed: Testbed,
    relay: Forwarder,
    slow_dns: SlowDns,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """getaddrinfo answered, DNS says NXDOMAIN: DNS is what a runtime dials, so the
    DNS phase fails with the rcode, as before (the check is redone waiting for DNS)."""

    async def getaddrinfo(host: str, timeout: float) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(dns_probe, "_getaddrinfo", getaddrinfo)
    report = _check(f"http://gone.invalid:{relay.port}", tmp_path, slow_dns)
    (answer,) = _kinds(report, "dns.answer")
    assert answer["outcome"] == "nxdomain" and answer["rcode"] == "NXDOMAIN"
    assert _phases(report)["dns"] is PhaseStatus.FAILED
    assert _phases(report)["tcp"] is PhaseStatus.SKIPPED
    assert _kinds(report, "tcp.connect") == []
    # what the rules concluded on these observations before (getaddrinfo's answer is
    # kept as the system's view that differs)
    assert [f.rule for f in report.findings] == ["dns-system-differs"]


def test_with_a_hosts_entry_a_failing_dns_name_is_still_reported(
    testbed: Testbed, relay: Forwarder, slow_dns: SlowDns, tmp_path: Path
) -> None:
    """/etc/hosts wins (the runtime dials it): the check goes on with it; DNS's NXDOMAIN
    is still observed, with its rcode, as the difference, and the phase warns."""
    _hosts(tmp_path, "127.0.0.1 pinned.invalid\n")
    image = testbed.images.app.ref(f"pinned.invalid:{relay.port}")
    started = time.monotonic()
    report = _check(f"http://{image}", tmp_path, slow_dns)
    _healthy(report)
    assert relay.accepted_at[0] < started + DELAY_S
    (answer,) = _kinds(report, "dns.answer")
    assert answer["outcome"] == "nxdomain" and answer["rcode"] == "NXDOMAIN"
    (system,) = _kinds(report, "dns.system")
    assert system["addresses"] == ["127.0.0.1"] and system["dns_addresses"] == []
    assert _phases(report)["dns"] is PhaseStatus.WARN
    assert _path(report)[0] == "tcp connect"
    kinds = [o.kind for o in report.observations]
    # the DNS phase's observations come first, where it would have made them
    assert kinds[:3] == ["dns.answer", "dns.system", "tcp.connect"]


def test_dnspython_is_made_in_the_idle_worker_once_the_check_waits(
    slow_dns: SlowDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DNS phase's dnspython resolver (its import, ~45 ms of CPU) is made by the
    run's idle worker (net/idle.py), which begins once a request is on the link, not
    by the event loop's thread nor before."""
    threads: list[str] = []
    real = Resolver.prepare

    def prepare() -> None:
        threads.append(threading.current_thread().name)
        real()

    monkeypatch.setattr(Resolver, "prepare", staticmethod(prepare))
    network = Network(CheckOptions(dns_server=slow_dns.server, timeout=3.0))

    async def run() -> tuple[bool, Resolver]:
        made = asyncio.create_task(network.prepare_resolver(when_idle=True))
        done, _ = await asyncio.wait({made}, timeout=0.2)
        waited = not done  # no request on the link yet: not made
        network.idle.start()
        return waited, await made

    try:
        waited, resolver = asyncio.run(run())
    finally:
        network.idle.close()
    assert waited
    assert resolver is network.resolver and resolver.label == f"127.0.0.1:{slow_dns.port}"
    assert len(threads) == 1 and threads[0].startswith("regdoctor-idle")
