"""Wall time on a slow link (a delaying relay on loopback, ``tests/harness/slow_link``):
what the critical path does not count must not cost wall time either. The optional
Harbor probe runs on a connection of its own opened beside the TCP phase's (or on the
idle one), so it ends with the image phase, not a round trip after it; a registry
reached without a scheme that answers the TLS attempt in plain HTTP gets its
``http://`` requests over a connection opened beside that attempt, so the fallback
costs no connect; the manifest request goes out with the first ``GET /v2/`` (on a
spare connected, and for TLS secured, with the TCP and TLS phases' own), and with a
token with the authenticated ``GET /v2/``, not a round trip after it. The assertions
compare phases of one check with each other, in round trips of the link, with half a
round trip of slack for a loaded machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from regdoctor.model import Credentials, PhaseResult, Secret, TargetReport
from tests.harness import procs
from tests.harness.registry import Registry, RegistryOptions, TokenAuthConfig
from tests.harness.slow_link import SlowLink
from tests.harness.testbed import PASSWORD, USERNAME, Testbed
from tests.helpers.reports import run_report

RTT_S = 0.5  # long enough that half of it (the slack) outlasts a loaded machine's CPU stalls
RTT_MS = RTT_S * 1000
#: The blob storage look after a found single-platform manifest (probes/blob_storage.py):
#: its config blob's GET, one round trip on the target's connection (the manifest was
#: asked for with GET, so its body named the blob); its redirect would name a storage
#: host every runtime would fail at.
BLOB_LOOK = ["GET blob"]


@pytest.fixture
def link(request: pytest.FixtureRequest, testbed: Testbed) -> Iterator[SlowLink]:
    slow = SlowLink(testbed.endpoints[request.param].port, RTT_S)
    yield slow
    slow.close()


#: The manifest request of an anonymous registry, sent beside the first ``GET /v2/`` on the
#: spare connected with the TCP phase's connection (probes/manifest_request.py).
BESIDE_PING = "GET manifest (beside GET /v2/)"


def _went_with_the_ping(target: TargetReport) -> None:
    """The manifest's answer was there when the HTTP and auth phases ended: the image
    phase is the blob look's one round trip."""
    beside = next(r for r in target.critical_path if r.what == BESIDE_PING)
    assert beside.round_trips == 0, target.critical_path
    image = _phases(target)["image"]
    assert image.duration_ms < RTT_MS + RTT_MS / 2, image


def _phases(target: TargetReport) -> dict[str, PhaseResult]:
    return {p.name: p for p in target.phases}


def _healthy(target: TargetReport) -> None:
    manifest = next(o for o in target.observations if o.kind == "image.manifest")
    assert manifest.ok, manifest
    assert any(o.kind == "harbor.systeminfo" for o in target.observations)


@pytest.mark.parametrize("link", ["plain"], indirect=True)
def test_harbor_ends_with_the_image_phase_not_after_it(
    testbed: Testbed, isolate_env: object, link: SlowLink
) -> None:
    image = testbed.images.app.ref(f"127.0.0.1:{link.port}")
    (target,) = run_report([f"http://{image}"]).targets
    _healthy(target)
    phases = _phases(target)
    # both start when the HTTP phase has answered; the manifest GET is one round trip
    # on the target's connection, Harbor's GET one on the spare beside it
    assert phases["harbor"].duration_ms < phases["image"].duration_ms + RTT_MS / 2, phases
    assert [r.what for r in target.critical_path] == [
        "tcp connect",
        "GET /v2/",
        BESIDE_PING,
        *BLOB_LOOK,
    ]
    _went_with_the_ping(target)
    # the target's connection, the early spare connected with it (the manifest) and the
    # one Harbor took
    assert link.accepted == 3


@pytest.mark.parametrize("link", ["tls"], indirect=True)
def test_over_tls_harbor_waits_for_no_handshake_of_its_own(
    testbed: Testbed, isolate_env: object, link: SlowLink
) -> None:
    """The spare is secured while ``/v2/`` is in flight, so Harbor's request is one
    round trip, beside the manifest's."""
    image = testbed.images.app.ref(f"127.0.0.1:{link.port}")
    (target,) = run_report([image], ca_file=testbed.ca_file).targets
    _healthy(target)
    phases = _phases(target)
    assert phases["harbor"].duration_ms < phases["image"].duration_ms + RTT_MS / 2, phases
    assert [r.what for r in target.critical_path] == [
        "tcp connect",
        "tls handshake",
        "GET /v2/",
        BESIDE_PING,
        *BLOB_LOOK,
    ]
    # the spare connected with the target's was secured with it, and kept because it
    # showed the leaf the TLS phase verified: the manifest went beside the ping
    _went_with_the_ping(target)
    # the target's; two early spares (the first secured beside the handshake: the
    # manifest's; the second plain, had the answer been plain HTTP); Harbor's; and the
    # spare for a fallback to http:// (a loopback registry may fall back, as Docker's does)
    assert link.accepted == 5


@pytest.mark.parametrize("link", ["plain"], indirect=True)
def test_the_fallback_to_http_costs_no_connect(
    testbed: Testbed, isolate_env: object, link: SlowLink
) -> None:
    """No scheme, a loopback registry that speaks plain HTTP: TLS is tried first (as
    Docker does), and ``GET /v2/`` then goes over the connection opened beside the
    attempt: one round trip, not a connect and a request."""
    image = testbed.images.app.ref(f"127.0.0.1:{link.port}")
    (target,) = run_report([image]).targets
    _healthy(target)
    phases = _phases(target)
    assert target.endpoint["scheme"] == "http"
    # the exchange's own time (the phase's also holds making the HTTP client: CPU)
    v2 = next(o for o in target.observations if o.kind == "http.response" and o.step == "v2")
    assert v2.duration_ms is not None and v2.duration_ms < 1.5 * RTT_MS, v2
    path = [r.what for r in target.critical_path]
    assert path == ["tcp connect", "tls handshake", "GET /v2/", BESIDE_PING, *BLOB_LOOK]
    _went_with_the_ping(target)
    assert phases["harbor"].duration_ms < phases["image"].duration_ms + RTT_MS / 2, phases
    # the TLS attempt's connection; two early spares (the first's handshake, begun beside
    # the attempt's, met plain HTTP: closed; the second, plain, carried the manifest);
    # the fallback's (GET /v2/) and Harbor's
    assert link.accepted == 5


@pytest.fixture
def slow_token_registry(testbed: Testbed, tmp_path: Path) -> Iterator[tuple[SlowLink, SlowLink]]:
    """An HTTP registry with token auth whose realm (the testbed's token server) is
    behind a slow link too, as a registry and its realm are on a WAN: (registry link,
    realm link)."""
    realm = SlowLink(testbed.token_server.port, RTT_S)
    token = testbed.registries["token"].options.token
    assert token is not None
    options = RegistryOptions(
        token=TokenAuthConfig(
            realm=f"https://127.0.0.1:{realm.port}/token",
            service=token.service,
            issuer=token.issuer,
            rootcertbundle=token.rootcertbundle,
        )
    )
    registry = Registry("slow-token", tmp_path / "registry", testbed.storage_root, options)
    registry.start()
    try:
        procs.poll_all({f"registry ({registry.log_path})": registry.check_ready}, timeout_s=20)
        link = SlowLink(registry.port, RTT_S)
        yield link, realm
        link.close()
    finally:
        registry.stop()
        realm.close()


def test_with_a_token_the_manifest_request_goes_with_the_authenticated_ping(
    testbed: Testbed, isolate_env: object, slow_token_registry: tuple[SlowLink, SlowLink]
) -> None:
    link, realm = slow_token_registry
    image = testbed.images.app.ref(f"127.0.0.1:{link.port}")
    credentials = Credentials(USERNAME, Secret(PASSWORD), "--username")
    report = run_report([f"http://{image}"], ca_file=testbed.ca_file, credentials=credentials)
    (target,) = report.targets
    _healthy(target)
    phases = _phases(target)
    # the manifest's answer (a GET: its body names the config blob) was there when the
    # auth phase ended: the image phase is the blob look's one round trip only
    assert phases["image"].duration_ms < RTT_MS + RTT_MS / 2, phases
    beside = target.critical_path[-2]
    assert beside.what == "GET manifest (beside the authenticated GET /v2/)"
    assert beside.round_trips == 0
    assert [r.what for r in target.critical_path[-1:]] == BLOB_LOOK
    get = next(o for o in target.observations if o.step == "manifest.get")
    assert get.facts["status"] == 200 and get.duration_ms is not None
    assert get.duration_ms >= RTT_MS  # it did cross the link, beside the ping
    # one manifest request, not a HEAD and then a GET
    assert not [o for o in target.observations if o.step == "manifest.head"]
    # the registry's connection and Harbor's spare (with credentials no early spare:
    # no anonymous manifest request beside the first ping); Harbor's request went on the
    # registry's idle connection during the token dance, the authenticated ping and the
    # manifest GET on that one and the spare
    assert link.accepted == 2
    assert realm.accepted == 1
