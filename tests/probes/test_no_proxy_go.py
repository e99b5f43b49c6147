"""NO_PROXY as Go's httpproxy reads it (golang.org/x/net/http/httpproxy, used by docker,
containerd, podman): the request URL's host and port (canonicalAddr: the URL's port,
else 80 for http://, 443 for https://) against each entry; an entry without a port
matches every port, one with a port only that port (review of session 10: the http://
URL of a registry named without a port was matched as ``http://host:443``)."""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import pytest

from regdoctor.discovery.env import ProxyEnv
from regdoctor.model import Observation
from regdoctor.reference.targets import parse_target

PROXY = "http://192.0.2.1:3128"


def _env(no_proxy: str) -> ProxyEnv:
    return ProxyEnv.from_env({"HTTP_PROXY": PROXY, "HTTPS_PROXY": PROXY, "NO_PROXY": no_proxy})


@pytest.mark.parametrize(
    ("no_proxy", "url", "proxied"),
    [
        # no port in the entry: every port, either scheme
        ("reg.test", "http://reg.test/v2/", False),
        ("reg.test", "https://reg.test/v2/", False),
        ("reg.test", "http://reg.test:5000/v2/", False),
        # a port: only that port (http:// without a port is 80, https:// 443)
        ("reg.test:80", "http://reg.test/v2/", False),
        ("reg.test:80", "https://reg.test/v2/", True),
        ("reg.test:443", "http://reg.test/v2/", True),
        ("reg.test:443", "https://reg.test/v2/", False),
        ("reg.test:5000", "http://reg.test:5000/v2/", False),
        ("reg.test:5000", "https://reg.test:5000/v2/", False),
        ("reg.test:5000", "https://reg.test/v2/", True),
        # domains: a bare name matches itself and its subdomains, a leading dot or *.
        # only the subdomains
        ("test", "http://reg.test/v2/", False),
        (".reg.test", "https://reg.test/v2/", True),
        ("*.reg.test", "https://a.reg.test/v2/", False),
        # addresses: IP with and without a port, CIDR (no port), IPv6 in brackets
        ("192.0.2.10", "https://192.0.2.10/v2/", False),
        ("192.0.2.10:80", "https://192.0.2.10/v2/", True),
        ("192.0.2.0/24", "http://192.0.2.10:5000/v2/", False),
        ("[2001:db8::1]:443", "https://[2001:db8::1]/v2/", False),
        ("[2001:db8::1]:443", "http://[2001:db8::1]/v2/", True),
        ("*", "https://reg.test/v2/", False),
        ("other.test", "https://reg.test/v2/", True),
        # net.SplitHostPort fails on a bracketed address without a port ("missing
        # port"): Go then reads the entry whole, as a domain ".[2001:db8::1]", which no
        # URL host matches (hosts are compared without brackets): it bypasses nothing
        ("[2001:db8::1]", "https://[2001:db8::1]/v2/", True),
        ("[2001:db8::1]", "http://[2001:db8::1]/v2/", True),
        # without brackets SplitHostPort fails too ("too many colons"): an IP, any port
        ("2001:db8::1", "https://[2001:db8::1]/v2/", False),
        ("2001:db8::1", "http://[2001:db8::1]:5000/v2/", False),
        # a stray text after the bracket is no port: the entry is no address
        ("[2001:db8::1]x", "https://[2001:db8::1]/v2/", True),
        ("[2001:db8::1]:", "https://[2001:db8::1]/v2/", False),
        # a port and no host: Go skips the entry
        (":443", "https://reg.test/v2/", True),
    ],
)
def test_no_proxy_matches_as_go_does(no_proxy: str, url: str, proxied: bool) -> None:
    assert (_env(no_proxy).choose(url).proxy is not None) is proxied


def test_the_http_url_of_a_registry_names_its_port_only_when_it_does() -> None:
    from regdoctor.probes.dns import runtime_http_url

    assert runtime_http_url(parse_target("reg.test/team/app:1")) == "http://reg.test/v2/"
    assert runtime_http_url(parse_target("reg.test:5000/app:1")) == "http://reg.test:5000/v2/"
    assert runtime_http_url(parse_target("reg.test:443/app:1")) == "http://reg.test:443/v2/"
    assert runtime_http_url(parse_target("[2001:db8::1]/app:1")) == "http://[2001:db8::1]/v2/"


@pytest.mark.parametrize(
    ("no_proxy", "proxied"),
    [("", True), ("behind.test", False), ("behind.test:80", False), ("behind.test:443", True)],
)
def test_the_http_fallback_through_http_proxy_reads_no_proxy_at_port_80(
    no_proxy: str, proxied: bool
) -> None:
    """An unresolved name whose runtimes go on to http://behind.test/v2/ (port 80) through
    HTTP_PROXY: NO_PROXY=behind.test:80 sends that request direct (Go), so the check
    must not route it through the proxy; behind.test:443 leaves it proxied."""
    from regdoctor.probes import dns

    env = _env(no_proxy)
    ctx = SimpleNamespace(
        target=parse_target("behind.test/team/app:1.2"),
        network=SimpleNamespace(proxy_for=lambda url: env.choose(url).proxy),
    )
    policy = (True, True, True, frozenset({"unresolved"}))
    nxdomain = Observation("dns.answer", "t", False, "dns", facts={"addresses": []})
    with mock.patch("regdoctor.probes.tls.scheme_policy", lambda _c: policy):
        route = dns._plain_proxy(ctx, [nxdomain])  # type: ignore[arg-type]
    assert (route is not None) is proxied, route
