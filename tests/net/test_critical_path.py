"""The critical path of a check, counted on real loopback registries: how many round
trips a healthy image check makes in a row, and how many connections the registry
accepts (a counting TCP relay in front of it). A and AAAA go out together (a DNS server
that delays every answer). Every request of the critical path goes over the connection
the TCP phase opened (no ``tcp connect (new connection)`` on the path); the registry
also accepts the spare connections opened beside it (``net/handover.py``): one for the
optional Harbor probe, one for a fallback to ``http://`` where that may happen."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from regdoctor.model import Credentials, Report, Secret, TargetReport
from regdoctor.net.network import Network
from regdoctor.options import CheckOptions
from tests.harness.slow_dns import SlowDns
from tests.harness.tcp_forward import Forwarder
from tests.harness.testbed import PASSWORD, USERNAME, Testbed
from tests.helpers.reports import cli, run_report


def _dns(testbed: Testbed) -> tuple[str, int]:
    host, _, port = testbed.dns_server.rpartition(":")
    return host, int(port)


@pytest.fixture
def relay(request: pytest.FixtureRequest, testbed: Testbed) -> Iterator[Forwarder]:
    """``plain``, ``tls``, ``token``; ``plain+link`` (``tls+link``): behind a relay
    that delays each chunk 50 ms each way (a ~100 ms round trip), so that requests sent
    together answer together whatever the registry's own time on a loaded machine."""
    name, _, link = request.param.partition("+")
    forwarder = Forwarder(testbed.endpoints[name].port, delay=0.05 if link else 0.0)
    yield forwarder
    forwarder.close()


def _only(report: Report) -> TargetReport:
    (target,) = report.targets
    return target


#: The blob storage look after a found single-platform manifest (probes/blob_storage.py):
#: its config blob's GET, whose redirect would name the storage host every runtime
#: fails at; one round trip on the same connection. The manifest itself is asked for
#: with GET (not HEAD) where the look runs, so its body names the blob without a
#: second manifest request. (An index costs one more: the manifest of its entry for
#: this machine.)
BLOB_LOOK = ["GET blob"]


def _path(target: TargetReport) -> list[str]:
    return [step.what for step in target.critical_path]


def _healthy(target: TargetReport) -> None:
    manifest = next(o for o in target.observations if o.kind == "image.manifest")
    assert manifest.ok, manifest
    assert not target.findings or all(f.severity.value != "error" for f in target.findings)


#: The manifest request of an anonymous registry goes beside the first ``GET /v2/``, on
#: the spare connected with the TCP phase's connection (probes/manifest_request.py).
BESIDE_PING = "GET manifest (beside GET /v2/)"


def _beside_overlapped(target: TargetReport) -> None:
    """The manifest request cost no round trip of its own: it went with the ping."""
    beside = next(step for step in target.critical_path if step.what == BESIDE_PING)
    assert beside.round_trips == 0, "\n".join(map(str, target.critical_path))


@pytest.mark.parametrize("relay", ["plain+link"], indirect=True)
def test_plain_http_image_check_is_four_round_trips(
    testbed: Testbed, isolate_env: object, relay: Forwarder
) -> None:
    """DNS, TCP, ``GET /v2/`` with the manifest beside it, the blob look: 4 (issue 16's
    target for a plain-HTTP image check, the blob look included)."""
    image = testbed.images.app.ref(f"registry.test:{relay.port}")
    report = run_report([f"http://{image}"], dns_server=_dns(testbed))
    target = _only(report)
    _healthy(target)
    assert _path(target) == ["dns A+AAAA", "tcp connect", "GET /v2/", BESIDE_PING, *BLOB_LOOK]
    _beside_overlapped(target)
    assert target.round_trips == 4
    # the Harbor probe asked too (beside the image phase, off the critical path) ...
    assert any(o.kind == "harbor.systeminfo" for o in target.observations)
    # ... over an idle connection or the spare opened beside the TCP phase's; the
    # manifest went over the early spare, connected with the TCP phase's own
    assert relay.accepted == 3


@pytest.mark.parametrize("relay", ["tls+link"], indirect=True)
def test_tls_image_check_is_five_round_trips(
    testbed: Testbed, isolate_env: object, relay: Forwarder
) -> None:
    image = testbed.images.app.ref(f"registry.test:{relay.port}")
    report = run_report([image], dns_server=_dns(testbed), ca_file=testbed.ca_file)
    target = _only(report)
    _healthy(target)
    handshake = next(o for o in target.observations if o.kind == "tls.handshake")
    assert handshake.facts["protocol"] == "TLSv1.3"
    assert _path(target) == [
        "dns A+AAAA",
        "tcp connect",
        "tls handshake",
        "GET /v2/",
        BESIDE_PING,
        *BLOB_LOOK,
    ]
    _beside_overlapped(target)
    assert target.round_trips == 5
    # the TCP phase's; the two early spares connected with it (the first secured with
    # its handshake, which carried the manifest; the second, plain, for the manifest had
    # the TLS attempt met plain HTTP); Harbor's spare; and the spare for a fallback to
    # http:// (the name resolves to loopback, where Docker may fall back)
    assert relay.accepted == 5
    # the phases report their own waits: the TLS phase is the handshake, not the ping
    phases = {p.name: p for p in target.phases}
    assert phases["tls"].duration_ms == pytest.approx(handshake.duration_ms, abs=0.02)
    v2 = next(o for o in target.observations if o.kind == "http.response" and o.step == "v2")
    assert phases["http"].duration_ms == pytest.approx(v2.duration_ms, abs=0.02)


@pytest.mark.parametrize("relay", ["token"], indirect=True)
def test_token_check_is_eight_round_trips_and_one_registry_connection(
    testbed: Testbed, isolate_env: object, relay: Forwarder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest HEAD goes out beside the authenticated GET /v2/ unless the Harbor
    probe's optional request holds the registry's connection at that moment
    (send_head_beside: a third connection would cost more than the round trip saved).
    Whether it does is the scheduler's (under load the Harbor request, sent while the
    token is fetched from the realm, may still be in flight), so the test records what
    the HEAD found when it was about to go and asserts the path that follows from it,
    instead of assuming a quiet machine (it failed ~1 run in 5 under load)."""
    from regdoctor.net.handover import Gate
    from regdoctor.probes import auth, harbor
    from regdoctor.probes.exchange import origin

    seen: dict[str, object] = {}
    send = auth.send_head_beside

    def send_recorded(ctx, authorization):  # type: ignore[no-untyped-def]
        gate = ctx.state.extra.get("gate")
        target = ctx.target
        url = f"http://{target.hostport}/v2/"
        seen["harbor_in_flight"] = isinstance(gate, Gate) and gate.optional_in_flight(origin(url))
        seen["spare"] = ctx.network.handover(ctx.state).has_spare(target.host, target.port)
        return send(ctx, authorization)

    fetch = harbor.fetch

    async def harbor_fetch(ctx, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.setdefault("harbor_started_after", [o.kind for o in ctx.state.observations])
        return await fetch(ctx, *args, **kwargs)

    monkeypatch.setattr(auth, "send_head_beside", send_recorded)
    monkeypatch.setattr(harbor, "fetch", harbor_fetch)
    # by address (no DNS wait): the realm is another host (its own TCP and TLS waits)
    image = testbed.images.app.ref(f"127.0.0.1:{relay.port}")
    credentials = Credentials(USERNAME, Secret(PASSWORD), "--username")
    report = run_report([f"http://{image}"], ca_file=testbed.ca_file, credentials=credentials)
    target = _only(report)
    _healthy(target)
    path = _path(target)
    assert path[:6] == [
        "tcp connect",
        "GET /v2/",
        "tcp connect",  # the token realm
        "tls handshake",
        "token",
        "GET /v2/ (authenticated)",
    ]
    assert seen["spare"] is True, seen  # the spare connection was at hand
    # with credentials no anonymous manifest request went beside the first ping: the
    # spare connected with the TCP phase's connection was still at hand
    if seen["harbor_in_flight"]:
        # the Harbor request held the registry's connection: the HEAD waited for it
        assert path[6:] == ["GET manifest", *BLOB_LOOK], path
        assert target.round_trips <= 9
    else:
        # sent with the authenticated ping (they do not depend on each other)
        assert path[6:] == ["GET manifest (beside the authenticated GET /v2/)", *BLOB_LOOK], path
        assert target.round_trips <= 8
    # the TCP phase's and Harbor's spare (http:// given: no fallback); with credentials
    # no early spare (no anonymous manifest request beside the first ping)
    assert relay.accepted == 2
    tokens = [o for o in target.observations if o.step == "auth.token"]
    assert len(tokens) == 1  # once per scope
    # the Harbor probe ran beside the auth phase (it started before any of the auth and
    # image phases' observations: while the token was fetched), not after the image
    # phase; when its answer is observed is the scheduler's
    started_after = seen["harbor_started_after"]
    assert isinstance(started_after, list)
    assert "auth.result" not in started_after and "image.manifest" not in started_after
    assert "harbor.systeminfo" in [o.kind for o in target.observations]


def test_a_and_aaaa_are_asked_together(testbed: Testbed, isolate_env: object) -> None:
    delay = 0.4
    slow = SlowDns(delay).start()
    try:
        report = run_report(
            [f"http://app.slow.test:{testbed.endpoints['plain'].port}"],
            dns_server=slow.server,
        )
    finally:
        slow.stop()
    target = _only(report)
    answer = next(o for o in target.observations if o.kind == "dns.answer")
    assert answer.ok and answer.facts["addresses"] == ["127.0.0.1"]
    types = {kind: at for at, _, kind in slow.queries}
    assert set(types) == {"A", "AAAA"}
    # sent together: the second did not wait for the first answer
    assert abs(types["A"] - types["AAAA"]) < delay / 2
    assert answer.duration_ms is not None and answer.duration_ms < 1.5 * delay * 1000
    assert _path(target)[0] == "dns A+AAAA"


def test_an_unpinned_host_is_resolved_with_a_and_aaaa_together() -> None:
    """A host no DNS phase resolved (a redirect's, a realm behind a proxy rule)."""
    delay = 0.4
    slow = SlowDns(delay).start()
    network = Network(CheckOptions(dns_server=slow.server, timeout=3.0))
    try:
        addresses = asyncio.run(network.addresses_for("realm.slow.test", 3.0))
    finally:
        slow.stop()
    assert addresses == ("127.0.0.1",)
    at = {kind: when for when, _, kind in slow.queries}
    assert abs(at["A"] - at["AAAA"]) < delay / 2


@pytest.mark.parametrize("relay", ["plain+link"], indirect=True)
def test_debug_and_json_say_the_critical_path(
    testbed: Testbed, isolate_env: object, relay: Forwarder
) -> None:
    image = testbed.images.app.ref(f"registry.test:{relay.port}")
    run = cli(
        "check",
        "--debug",
        "--format",
        "json",
        "--dns-server",
        testbed.dns_server,
        f"http://{image}",
    )
    assert run.returncode == 0, run.stderr[-2000:]
    timing = json.loads(run.stdout)["targets"][0]["timing"]
    assert timing["round_trips"] == 4
    assert [s["what"] for s in timing["critical_path"]] == [
        "dns A+AAAA",
        "tcp connect",
        "GET /v2/",
        BESIDE_PING,
        *BLOB_LOOK,
    ]
    line = next(x for x in run.stderr.splitlines() if "critical path:" in x)
    assert "critical path: 4 round trips: dns A+AAAA" in line
    assert "GET manifest" in line


@pytest.mark.parametrize("relay", ["token"], indirect=True)
def test_after_a_fallback_to_http_the_realm_connection_is_still_reused(
    testbed: Testbed, isolate_env: object, relay: Forwarder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No scheme: TLS first, the server answers in plain HTTP, the check goes on over
    http:// (on a connection opened beside the TLS attempt, so the fallback costs no
    connect on the critical path); the token realm's connection is still the one its
    TCP phase opened. Whether the manifest HEAD goes beside the authenticated ping is the
    scheduler's, as in the token test above (it failed once in a loaded run)."""
    from regdoctor.net.handover import Gate
    from regdoctor.probes import auth
    from regdoctor.probes.exchange import origin

    seen: dict[str, object] = {}
    send = auth.send_head_beside

    def send_recorded(ctx, authorization):  # type: ignore[no-untyped-def]
        gate = ctx.state.extra.get("gate")
        url = f"http://{ctx.target.hostport}/v2/"
        seen["harbor_in_flight"] = isinstance(gate, Gate) and gate.optional_in_flight(origin(url))
        return send(ctx, authorization)

    monkeypatch.setattr(auth, "send_head_beside", send_recorded)
    image = testbed.images.app.ref(f"127.0.0.1:{relay.port}")
    credentials = Credentials(USERNAME, Secret(PASSWORD), "--username")
    report = run_report([image], ca_file=testbed.ca_file, credentials=credentials)
    target = _only(report)
    _healthy(target)
    path = _path(target)
    assert "harbor_in_flight" in seen  # the HEAD was about to go beside the ping
    assert path == [
        "tcp connect",
        "tls handshake",  # answered in plain HTTP
        "GET /v2/",  # http://, on the spare connected beside the TLS attempt
        "tcp connect",  # the token realm
        "tls handshake",
        "token",
        "GET /v2/ (authenticated)",
        "GET manifest"
        if seen.get("harbor_in_flight")
        else "GET manifest (beside the authenticated GET /v2/)",
        *BLOB_LOOK,
    ]
    assert target.round_trips <= (10 if seen.get("harbor_in_flight") else 9)
    # the TLS attempt's, the fallback's spare and Harbor's (with credentials no early
    # spare)
    assert relay.accepted == 3


def _check_one(target: str, **overrides: object) -> TargetReport:
    """One check in process of ``target`` with its spec's fields replaced."""
    from dataclasses import replace

    from regdoctor.check.pipeline import check
    from regdoctor.reference.targets import parse_target

    spec = replace(parse_target(target), **overrides)  # type: ignore[arg-type]
    report = check([spec], CheckOptions(timeout=3.0, deadline=15.0), command=["regdoctor"])
    return _only(report)


def test_a_docker_hub_mirror_gets_a_manifest_head_and_no_blob_look(
    testbed: Testbed, isolate_env: object
) -> None:
    """A manifest GET counts against Docker Hub's pull rate limit (a mirror's too): there
    the image probe keeps HEAD, and the blob look (which needs the body) does not run."""
    image = testbed.images.app.ref(f"127.0.0.1:{testbed.endpoints['plain'].port}")
    target = _check_one(f"http://{image}", mirror_of="docker.io")
    _healthy(target)
    # beside the ping (a mirror may serve anonymous pulls; Docker Hub itself never does)
    assert _path(target) == ["tcp connect", "GET /v2/", "HEAD manifest (beside GET /v2/)"]
    steps = [o.step for o in target.observations if o.kind == "http.response"]
    assert "manifest.head" in steps and "manifest.get" not in steps
    assert not [o for o in target.observations if o.kind == "image.blob"]
    manifest = next(o for o in target.observations if o.kind == "image.manifest")
    assert manifest.facts["digest"] and manifest.facts["manifest_kind"]


def test_a_missing_tag_is_one_manifest_get_then_the_tag_list(
    testbed: Testbed, isolate_env: object
) -> None:
    """Where the blob look runs, the manifest is asked for once, with GET: a 404 is read
    from that answer (its body is the registry's error) as from a HEAD and the GET that
    used to follow it."""
    host = f"127.0.0.1:{testbed.endpoints['plain'].port}"
    missing = testbed.images.app.ref(host).rsplit(":", 1)[0] + ":no-such-tag"
    target = _check_one(f"http://{missing}")
    assert _path(target) == ["tcp connect", "GET /v2/", BESIDE_PING, "GET tags/list"]
    (get,) = [o for o in target.observations if o.step == "manifest.get"]
    assert get.facts["status"] == 404 and "MANIFEST_UNKNOWN" in get.facts["error_codes"]
    assert get.evidence and "MANIFEST_UNKNOWN" in get.evidence
    assert not [o for o in target.observations if o.step == "manifest.head"]
    manifest = next(o for o in target.observations if o.kind == "image.manifest")
    assert manifest.facts["outcome"] == "manifest_unknown"
    assert manifest.facts["tags_count"] and manifest.facts["status"] == 404


def test_an_index_costs_its_entry_for_this_machine(testbed: Testbed, isolate_env: object) -> None:
    """The index's body (the one manifest GET) names no config blob: the look asks for
    the entry this machine pulls, then its config blob; two round trips, one more than a
    single-platform image."""
    from regdoctor.probes.image import local_platform

    if local_platform() not in ("linux/amd64", "linux/arm64"):
        pytest.skip("the testbed's index holds linux/amd64 and linux/arm64 only")
    image = testbed.images.multi.ref(f"127.0.0.1:{testbed.endpoints['plain'].port}")
    target = _check_one(f"http://{image}")
    _healthy(target)
    assert _path(target) == [
        "tcp connect",
        "GET /v2/",
        BESIDE_PING,
        "GET manifest (the index's entry for this machine)",
        "GET blob",
    ]
    manifest = next(o for o in target.observations if o.kind == "image.manifest")
    assert manifest.facts["is_index"] and manifest.facts["platforms"]
    assert [o.step for o in target.observations if o.step == "manifest.get"] == ["manifest.get"]
