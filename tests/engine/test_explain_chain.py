"""Go error chains: the innermost cause and the host it concerns; the same cause gets the
same category whatever wraps it; when the text cannot tell, both causes and the check."""

# ruff: noqa: E501 - real pasted errors are long lines

from __future__ import annotations

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.chain import cause_peer, describe, split_chain
from regdoctor.engine.explain import explain

CATALOG = load_catalog()


def lead(text: str):
    return next(m for m in explain(CATALOG, text) if m.leading)


def test_links_and_roles():
    line = 'Error response from daemon: Get "https://r.example.test/v2/team/app/manifests/1": Get "https://auth.example.test/token?scope=repository%3Ateam%2Fapp%3Apull&service=r": dial tcp 192.0.2.4:443: connect: connection refused'
    links = split_chain(line)
    assert [link.role for link in links][:3] == [None, "registry", "realm"]
    peer = cause_peer(links)
    assert (peer.host, peer.role) == ("auth.example.test", "realm")


@pytest.mark.parametrize(
    ("line", "role", "name"),
    [
        (
            'Get "https://registry-1.docker.io/v2/": proxyconnect tcp: dial tcp 192.0.2.7:3128: connect: connection refused',
            "proxy",
            "192.0.2.7",
        ),
        (
            'failed to fetch oauth token: Post "https://auth.example.test/token": dial tcp: lookup auth.example.test on 127.0.0.53:53: no such host',
            "realm",
            "auth.example.test",
        ),
        (
            'error getting credentials - err: exec: "docker-credential-desktop": executable file not found in $PATH, out: ``',
            "helper",
            "desktop",
        ),
        (
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
            "daemon",
            None,
        ),
        (
            'failed to copy: httpReadSeeker: failed open: failed to do request: Get "https://mirror.example.test/v2/library/nginx/blobs/sha256:ab?ns=docker.io": dial tcp 192.0.2.9:443: i/o timeout',
            "mirror",
            "mirror.example.test",
        ),
        (
            '{"message":"Get https://registry-1.docker.io/v2/x/y/manifests/latest: Get https://auth.docker.io/token?scope=repository%3Ax%2Fy%3Apull&service=registry.docker.io: read tcp 10.0.2.15:54122->192.0.2.1:443: read: connection reset by peer"}',
            "realm",
            "auth.docker.io",
        ),
    ],
)
def test_the_host_the_cause_concerns(line, role, name):
    fields = describe(line)
    assert fields.get("peer_role") == role
    assert fields.get("peer_name") == name


def test_a_token_server_failure_is_named_as_the_token_server():
    m = lead(
        'Error response from daemon: Get "https://r.example.test/v2/": Get "https://auth.example.test/token?scope=x&service=r": dial tcp 192.0.2.4:443: connect: connection refused'
    )
    assert m.category == "tcp.refused"
    assert m.fields["peer_role"] == "realm"
    assert "auth.example.test" in m.explanation and "token server" in m.explanation


CAUSE = "dial tcp 192.0.2.4:5000: connect: connection refused"


@pytest.mark.parametrize(
    "wrapped",
    [
        f'Error response from daemon: Get "https://r.example.test:5000/v2/": {CAUSE}',  # docker
        f'ctr: failed to resolve reference "r.example.test:5000/a:1": failed to do request: Head "https://r.example.test:5000/v2/a/manifests/1": {CAUSE}',  # containerd
        f'Error: initializing source docker://r.example.test:5000/a:1: pinging container registry r.example.test:5000: Get "https://r.example.test:5000/v2/": {CAUSE}',  # podman
        f'  Warning  Failed  3s  kubelet  Failed to pull image "r.example.test:5000/a:1": rpc error: code = Unknown desc = failed to pull and unpack image "r.example.test:5000/a:1": failed to resolve reference "r.example.test:5000/a:1": failed to do request: Head "https://r.example.test:5000/v2/a/manifests/1": {CAUSE}',  # kubelet
        f' > [internal] load metadata for r.example.test:5000/a:1: failed to solve: r.example.test:5000/a:1: failed to do request: Head "https://r.example.test:5000/v2/a/manifests/1": {CAUSE}',  # buildkit
    ],
)
def test_the_same_cause_gets_the_same_category_whatever_wraps_it(wrapped):
    m = lead(wrapped)
    assert m.category == "tcp.refused"
    assert m.fields.get("peer_role") == "registry"


def test_pull_access_denied_names_both_causes_and_the_check_that_tells_them_apart():
    m = lead(
        "Error response from daemon: pull access denied for base, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
    )
    assert m.category == "auth.denied"
    assert [a.category for a in m.alternatives] == ["image.name_unknown", "auth.denied"]
    assert m.check == 'echo "$PASSWORD" | regdoctor check -u USER --password-stdin base'
    assert m.to_dict()["alternatives"][0]["category"] == "image.name_unknown"


def test_an_organisation_repository_is_likelier_private():
    m = lead(
        'failed to pull and unpack image "docker.io/acme/app:1.0" --platform linux/arm64: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed'
    )
    assert [a.category for a in m.alternatives] == ["auth.denied", "image.name_unknown"]
    assert "--platform linux/arm64" in (m.check or "")
    assert "-u USER --password-stdin" in (m.check or "")


def test_docker_loopback_fallback_points_at_the_https_attempt():
    m = lead(
        'Error response from daemon: Get "http://localhost:5000/v2/": read tcp 127.0.0.1:41234->127.0.0.1:5000: read: connection reset by peer'
    )
    assert m.category == "tcp.reset"
    assert m.alternatives and "plain HTTP" in m.alternatives[0].reason
    assert m.check == "regdoctor check https://localhost:5000"


def test_docker_20_10_loopback_fallback_without_a_url():
    # dockerd 20.10.24, captured live (tests/scenarios/runtimes/test_explain_live_fallback.py):
    # a TLS registry on 127.0.0.1 wanting basic auth, no login; only the retry is reported.
    m = lead(
        "Error response from daemon: read tcp 127.0.0.1:47282->127.0.0.1:5443: read: connection reset by peer"
    )
    assert m.category == "tcp.reset"
    assert m.alternatives and "plain HTTP" in m.alternatives[0].reason
    assert m.check == "regdoctor check https://127.0.0.1:5443"


def test_a_reset_on_an_https_url_or_a_remote_peer_is_not_the_fallback():
    for text in (
        'Error response from daemon: Get "https://127.0.0.1:5443/v2/": read tcp 127.0.0.1:4711->127.0.0.1:5443: read: connection reset by peer',
        "Error response from daemon: read tcp 192.0.2.7:47282->198.51.100.9:443: read: connection reset by peer",
    ):
        m = lead(text)
        assert m.category == "tcp.reset"
        assert m.alternatives == (), text


def test_a_plain_error_has_no_alternatives():
    m = lead(
        'Error response from daemon: Get "https://r.example.test/v2/": x509: certificate signed by unknown authority'
    )
    assert m.alternatives == ()
    assert "alternatives" not in m.to_dict()


@pytest.mark.parametrize(
    "text",
    [
        'Error response from daemon: Head "https://ghcr.io/v2/acme/app/manifests/latest": unauthorized',
        "Error: unexpected status from HEAD request to https://quay.example.test/v2/acme/chart/manifests/1.0: 401 Unauthorized",
    ],
)
def test_a_bare_401_leaves_a_missing_repository_open(text):
    m = lead(text)
    assert m.category == "auth.unauthorized"
    assert [a.category for a in m.alternatives] == ["auth.unauthorized", "image.name_unknown"]
    assert "-u USER --password-stdin" in (m.check or "")


@pytest.mark.parametrize(
    "text",
    [
        'Error response from daemon: Head "https://ghcr.io/v2/acme/app/manifests/latest": denied: denied',
        'ERROR: for web  Head "https://ghcr.io/v2/acme/app/manifests/latest": denied',
        "Error: failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fapp%3Apull&service=ghcr.io: 403 Forbidden",
    ],
)
def test_a_bare_403_leaves_a_missing_repository_and_a_stale_login_open(text):
    m = lead(text)
    assert m.category == "auth.denied"
    assert [a.category for a in m.alternatives] == [
        "auth.denied",
        "image.name_unknown",
        "auth.token_expired",
    ]
    assert m.check and "ghcr.io/acme/app" in m.check


@pytest.mark.parametrize(
    "text",
    [
        "Get https://registry-1.docker.io/v2/acme/app/manifests/1: unauthorized: incorrect username or password",
        "Error response from daemon: Get https://r.example.test/v2/acme/app/manifests/1: no basic auth credentials",
        "error: failed to solve: rpc error: code = Unknown desc = server message: insufficient_scope: authorization failed",
        "Error response from daemon: pull access denied for r.example.test/app, repository does not exist or may require 'docker login': denied: Your authorization token has expired. Reauthenticate and try again.",
    ],
)
def test_a_refusal_that_says_why_has_no_bare_refusal_alternatives(text):
    m = lead(text)
    assert "auth.token_expired" not in [a.category for a in m.alternatives]
    assert m.category != "auth.unauthorized" or m.alternatives == ()


@pytest.mark.parametrize(
    ("line", "role"),
    [
        # Go's transport: a proxy's refusal of CONNECT is the bare status text
        (
            'Error response from daemon: Get "https://registry.example.test/v2/": Bad Gateway',
            "proxy",
        ),
        (
            'failed to fetch anonymous token: Get "https://auth.example.test/token?scope=x": Forbidden',
            "proxy",
        ),
        # Go's transport returns the proxy's own reason phrase, whatever its words
        (
            'Error response from daemon: Get "https://registry.example.test/v2/": Access violation',
            "proxy",
        ),
        (
            'Error response from daemon: Get "https://registry.example.test/v2/": Request blocked by Privoxy',
            "proxy",
        ),
        (
            'Error response from daemon: Get "https://registry.example.test/v2/": unknown status code',
            "proxy",
        ),
        (
            'Error response from daemon: Get "https://registry.example.test/v2/": Forbidden`',
            "proxy",
        ),
        # the registry's own answer through the tunnel, with its status and body
        (
            'Error response from daemon: Get "https://registry.example.test/v2/": error parsing HTTP 403 response body: invalid character \'<\' looking for beginning of value: "<html><head><title>403 Forbidden</title></head></html>"',
            "registry",
        ),
        # Go's own io.EOF and go-containerregistry's upper-case method and code
        ('Error response from daemon: Get "https://registry.example.test/v2/": EOF', "registry"),
        ("GET https://registry.example.test/v2/app/manifests/1: DENIED", "registry"),
        # a cause whose "net/http: " prefix was cut off is not a reason phrase
        (
            'Error response from daemon: Get "https://registry.example.test/v2/": TLS handshake timeout',
            "registry",
        ),
        # a plain-HTTP request has no CONNECT: a bare text there is not a proxy's refusal
        ('Get "http://registry.example.test/v2/": Bad Gateway', "registry"),
        # registries' own lower-case error codes
        ('Head "https://registry.example.test/v2/app/manifests/1": unauthorized', "registry"),
    ],
)
def test_which_host_answered(line, role):
    assert cause_peer(split_chain(line)).role == role


_SQUID_403 = (
    'Error response from daemon: Get "http://registry.example.test:5000/v2/": error parsing HTTP 403 '
    "response body: invalid character '<' looking for beginning of value: \"<!DOCTYPE html>\\n"
    '<html><head>\\n<meta type=\\"copyright\\" content=\\"Copyright (C) 1996-2020 The Squid '
    'Software Foundation and contributors\\">\\n<title>ERROR: The requested URL could not be '
    'retrieved</title>"'
)


@pytest.mark.parametrize(
    ("text", "category", "confidence", "alternative"),
    [
        # Squid's own page for an http:// registry through HTTP_PROXY: no tunnel, the proxy
        # answers the GET itself
        (_SQUID_403, "proxy.error", "medium", None),
        # TLS-intercepting proxies' block pages name themselves
        (
            "Error response from daemon: error parsing HTTP 403 response body: invalid character '<' looking for beginning of value: \"<html><head><title>Access Denied</title></head><body>Your organization's policy prohibits access to this site. Zscaler</body></html>\"",
            "proxy.error",
            "medium",
            None,
        ),
        (
            'Error response from daemon: Get "https://registry-1.docker.io/v2/": error parsing HTTP 403 response body: invalid character \'<\' looking for beginning of value: "<!DOCTYPE html><html><head><title>Web Filter Violation</title></head><body>FortiGuard Web Filtering</body></html>"',
            "proxy.error",
            "medium",
            None,
        ),
        # an http:// registry's page that names no proxy: the proxy's, or the registry's own
        (
            'Error response from daemon: Get "http://registry.example.test:5000/v2/": error parsing HTTP 429 response body: invalid character \'<\' looking for beginning of value: "<html><head><title>429 Too Many Requests</title></head></html>"',
            "proxy.error",
            "medium",
            "ratelimit",
        ),
        # an https:// registry's own 403 or 429 page (through the tunnel only its front end
        # answers), the proxy's page left open: medium, not high
        (
            'Error response from daemon: Head "https://registry.example.test/v2/app/manifests/1": error parsing HTTP 403 response body: invalid character \'<\' looking for beginning of value: "<html><head><title>403 Forbidden</title></head><body><center>nginx</center></body></html>"',
            "auth.denied",
            "medium",
            "proxy.error",
        ),
        (
            "Error response from daemon: error parsing HTTP 429 response body: invalid character '<' looking for beginning of value: \"<html><head><title>429 Too Many Requests</title></head><body><center>nginx</center></body></html>\"",
            "ratelimit",
            "medium",
            "proxy.error",
        ),
        # a proxy's refusal of CONNECT, in its own words
        (
            'Error response from daemon: Get "https://registry.example.test/v2/": Access violation',
            "proxy.error",
            "high",
            None,
        ),
    ],
)
def test_an_html_4xx_page_is_the_proxys_when_a_proxy_may_have_sent_it(
    text, category, confidence, alternative
):
    match = lead(text)
    assert match.category == category
    assert match.confidence == confidence
    others = [a.category for a in match.alternatives]
    if alternative is None:
        assert set(others) <= {category}
    else:
        assert others[0] == category and alternative in others


def test_a_registry_5xx_is_read_by_its_status_not_a_parsed_body():
    """distribution's client parses bodies of 4xx answers only (HandleErrorResponse):
    a 5xx is 'received unexpected HTTP status: 502 Bad Gateway'."""
    match = lead(
        'Error response from daemon: Get "https://registry.example.test/v2/": received unexpected HTTP status: 502 Bad Gateway'
    )
    assert (match.category, match.fields.get("status")) == ("server.error", "502")
