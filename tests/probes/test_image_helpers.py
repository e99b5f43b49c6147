"""Small pieces of the image probe: platform matching, outcome classification, headers."""

import pytest

from regdoctor.probes.exchange import Exchange
from regdoctor.probes.image import _window, classify, platform_matches, platforms_of_index


@pytest.mark.parametrize(
    ("requested", "available", "expected"),
    [
        ("linux/arm64", "linux/arm64/v8", True),
        ("linux/arm64/v8", "linux/arm64/v8", True),
        ("linux/arm/v7", "linux/arm/v6", False),
        ("linux/arm/v7", "linux/arm", False),
        ("linux/amd64", "windows/amd64", False),
    ],
)
def test_platform_matches(requested, available, expected):
    assert platform_matches(requested, available) is expected


def test_attestation_entries_are_not_platforms():
    index = {
        "manifests": [
            {"platform": {"os": "linux", "architecture": "amd64"}},
            {"platform": {"os": "unknown", "architecture": "unknown"}},
            {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            "garbage",
        ]
    }
    assert platforms_of_index(index) == ["linux/amd64", "linux/arm64/v8"]
    assert platforms_of_index({"manifests": "nope"}) == []


def _exchange(status, headers=None, body=b""):
    return Exchange(
        url="https://r.test/v2/x/manifests/1",
        outcome="response",
        status=status,
        headers=headers or {},
        body=body,
    )


@pytest.mark.parametrize(
    ("exchange", "outcome"),
    [
        (_exchange(200), "found"),
        (_exchange(404, body=b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'), "manifest_unknown"),
        (_exchange(404, body=b'{"errors":[{"code":"NAME_UNKNOWN"}]}'), "name_unknown"),
        (
            _exchange(401, {"www-authenticate": 'Bearer realm="x",error="insufficient_scope"'}),
            "denied",
        ),
        (_exchange(401, {"www-authenticate": 'Bearer realm="x"'}), "unauthorized"),
        (_exchange(403), "denied"),
        (_exchange(429), "ratelimited"),
        (_exchange(503), "server_error"),
        (Exchange(url="u", outcome="timeout"), "error"),
    ],
)
def test_classify(exchange, outcome):
    assert classify(exchange) == outcome


def test_ratelimit_window():
    assert _window("100;w=21600") == 21600
    assert _window("100") is None
    assert _window(None) is None


def test_dns_outcome_of_a_name_from_its_two_answers():
    from regdoctor.net.network import Lookup
    from regdoctor.probes.dns import combine

    answer, nodata = Lookup("answer", ("192.0.2.1",)), Lookup("nodata")
    assert combine(answer, nodata) == "answer"
    assert combine(nodata, Lookup("answer", ("2001:db8::1",))) == "answer"
    assert combine(nodata, nodata) == "nodata"
    assert combine(Lookup("nxdomain"), Lookup("nxdomain")) == "nxdomain"
    assert combine(Lookup("timeout"), nodata) == "timeout"
    assert combine(Lookup("servfail"), Lookup("timeout")) == "servfail"
    assert combine(Lookup("unreachable"), Lookup("unreachable")) == "unreachable"
