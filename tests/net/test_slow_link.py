"""Wall time on a slow link (a delaying relay on loopback, ``tests/harness/slow_link``):
what the critical path does not count must not cost wall time either. The optional
Harbor probe runs on a connection of its own opened beside the TCP phase's (or on the
idle one), so it ends with the image phase, not a round trip after it; a registry
reached without a scheme that answers the TLS attempt in plain HTTP gets its
``http://`` requests over a connection opened beside that attempt, so the fallback
costs no connect. The assertions compare phases of one check with each other, in
round trips of the link, with half a round trip of slack for a loaded machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from regdoctor.model import PhaseResult, TargetReport
from tests.harness.slow_link import SlowLink
from tests.harness.testbed import Testbed
from tests.helpers.reports import run_report

RTT_S = 0.2
RTT_MS = RTT_S * 1000


@pytest.fixture
def link(request: pytest.FixtureRequest, testbed: Testbed) -> Iterator[SlowLink]:
    slow = SlowLink(testbed.endpoints[request.param].port, RTT_S)
    yield slow
    slow.close()


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
    # both start when the HTTP phase has answered; the manifest HEAD is one round trip
    # on the target's connection, Harbor's GET one on the spare beside it
    assert phases["harbor"].duration_ms < phases["image"].duration_ms + RTT_MS / 2, phases
    assert [r.what for r in target.critical_path] == ["tcp connect", "GET /v2/", "HEAD manifest"]
    assert link.accepted == 2  # the target's connection and the spare Harbor took


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
        "HEAD manifest",
    ]
    # the target's, Harbor's, and the spare for a fallback to http:// that the TLS
    # answer made moot (a loopback registry may fall back, as Docker's does)
    assert link.accepted == 3


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
    assert phases["http"].duration_ms < 1.5 * RTT_MS, phases
    path = [r.what for r in target.critical_path]
    assert path == ["tcp connect", "tls handshake", "GET /v2/", "HEAD manifest"]
    assert phases["harbor"].duration_ms < phases["image"].duration_ms + RTT_MS / 2, phases
    # the TLS attempt's connection, the fallback's and Harbor's
    assert link.accepted == 3
