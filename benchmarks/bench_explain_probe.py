#!/usr/bin/env python3
# ruff: noqa: E501 - tables of client message wordings are long lines
"""Client-wording probes for ``explain``: causes the clients' own source words, put inside
the wrappers each client prints around them, checked against the category the cause
names. No pasted text is used (neither the tuned corpus nor the held-out split): every
wording here is a format string of a client or registry (moby, docker/distribution's
client, containerd, containers/image, CRI-O, buildkit, go-containerregistry, oras-go v2,
docker-java, bollard, docker-py, dockerode, the credential helpers, distribution's API
descriptors, Harbor's NOT_FOUND messages, trivy's list of image sources) filled with
documentation names and addresses (``*.test``, RFC 5737).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_explain_probe.py               # counts per family
    PYTHONPATH=. python benchmarks/bench_explain_probe.py --misses      # and each miss
    PYTHONPATH=. python benchmarks/bench_explain_probe.py --rules DIR   # another rules/

A family is a set of causes crossed with a set of wrappers; a text is right when the
leading match names the cause's category. The look-alikes family holds texts that resemble
a registry's answer without being one: right when the lead names what they really say. Misses are reported, not asserted: the probe is
a search for wordings the rules do not read yet, to be fixed from the client's source.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from regdoctor.engine import load_catalog
from regdoctor.engine.explain import explain

H = "registry.example.test"
REF = f"{H}/team/app:1.0"
MAN = f"https://{H}/v2/team/app/manifests/1.0"
PING = f"https://{H}/v2/"
TOKEN = f"https://auth.example.test/token?scope=repository%3Ateam%2Fapp%3Apull&service={H}"
DIGEST = "sha256:" + "0123456789abcdef" * 4

Wrap = Callable[[str], str]

#: Go's network, TLS and proxy errors (net, crypto/tls, crypto/x509, net/http) -> category
NETWORK: dict[str, str] = {
    f"dial tcp: lookup {H} on 192.0.2.53:53: no such host": "dns.nxdomain",
    f"dial tcp: lookup {H}: no such host": "dns.nxdomain",
    f"dial tcp: lookup {H} on 192.0.2.53:53: server misbehaving": "dns.failure",
    f"dial tcp: lookup {H} on 192.0.2.53:53: read udp 192.0.2.10:41234->192.0.2.53:53: "
    "i/o timeout": "dns.failure",
    f"dial tcp: lookup {H}: Temporary failure in name resolution": "dns.failure",
    f"dial tcp: lookup {H}: Try again": "dns.failure",
    f"dial tcp: lookup {H}: i/o timeout": "dns.failure",
    # Go's cgo resolver passing getaddrinfo's errno or text (net/cgo_unix.go, DNSError)
    f"dial tcp: lookup {H}: device or resource busy": "dns.failure",
    f"dial tcp: lookup {H}: too many open files": "dns.failure",
    f"dial tcp: lookup {H}: getaddrinfow: This is usually a temporary error during hostname "
    "resolution and means that the local server did not receive a response from an "
    "authoritative server.": "dns.failure",
    f"dial tcp: lookup {H}: getaddrinfow: No such host is known.": "dns.nxdomain",
    "dial tcp 192.0.2.1:443: connect: connection refused": "tcp.refused",
    "dial tcp [::1]:443: connect: connection refused": "tcp.refused",
    "dial tcp 192.0.2.1:443: i/o timeout": "tcp.timeout",
    "dial tcp 192.0.2.1:443: connect: no route to host": "tcp.timeout",
    "dial tcp 192.0.2.1:443: connect: connection timed out": "tcp.timeout",
    "dial tcp 192.0.2.1:443: connect: network is unreachable": "tcp.timeout",
    "read tcp 192.0.2.10:41234->192.0.2.1:443: read: connection reset by peer": "tcp.reset",
    "EOF": "tcp.reset",
    "unexpected EOF": "tcp.reset",
    "write tcp 192.0.2.10:41234->192.0.2.1:443: write: broken pipe": "tcp.reset",
    "http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, "
    'debug=""': "tcp.reset",
    "net/http: TLS handshake timeout": "tls.handshake",
    "remote error: tls: handshake failure": "tls.handshake",
    "remote error: tls: certificate required": "tls.handshake",
    "tls: server selected unsupported protocol version 301": "tls.handshake",
    "tls: failed to verify certificate: x509: certificate signed by unknown authority": "tls.unknown_authority",
    "x509: certificate signed by unknown authority": "tls.unknown_authority",
    'x509: certificate signed by unknown authority (possibly because of "crypto/rsa: '
    'verification error" while trying to verify candidate authority certificate "Corp CA")': "tls.unknown_authority",
    f"x509: “{H}” certificate is not trusted": "tls.unknown_authority",
    "tls: failed to verify certificate: x509: certificate has expired or is not yet valid: "
    "current time 2026-01-02T03:04:05Z is after 2025-12-31T00:00:00Z": "tls.expired",
    "x509: certificate has expired or is not yet valid": "tls.expired",
    f"tls: failed to verify certificate: x509: certificate is valid for ingress.local, not {H}": "tls.hostname_mismatch",
    f"x509: certificate is not valid for any names, but wanted to match {H}": "tls.hostname_mismatch",
    "x509: cannot validate certificate for 192.0.2.1 because it doesn't contain any IP SANs": "tls.hostname_mismatch",
    "x509: certificate relies on legacy Common Name field, use SANs instead": "tls.hostname_mismatch",
    "http: server gave HTTP response to HTTPS client": "tls.http_on_https",
    "tls: first record does not look like a TLS handshake": "tls.http_on_https",
    "proxyconnect tcp: dial tcp 192.0.2.5:3128: connect: connection refused": "proxy.error",
    "proxyconnect tcp: dial tcp: lookup proxy.example.test: no such host": "proxy.error",
    "proxyconnect tcp: net/http: TLS handshake timeout": "proxy.error",
    "Proxy Authentication Required": "proxy.error",
    "net/http: request canceled while waiting for connection (Client.Timeout exceeded while "
    "awaiting headers)": "http.timeout",
    "context deadline exceeded": "http.timeout",
    "net/http: timeout awaiting response headers": "http.timeout",
    # a read after the connect: Go's own read deadline passed (no answer in time)
    "read tcp 192.0.2.10:41234->192.0.2.1:443: i/o timeout": "http.timeout",
    # ETIMEDOUT on the established connection, as Linux, BSD/macOS and Windows word it: the
    # kernel gave up on it (tcp(7): retransmissions or keepalive unanswered), it died mid-way
    "read tcp 192.0.2.10:41234->192.0.2.1:443: read: connection timed out": "tcp.reset",
    "read tcp 192.0.2.10:41234->192.0.2.1:443: read: operation timed out": "tcp.reset",
    "read tcp 192.0.2.10:41234->192.0.2.1:443: wsarecv: A connection attempt failed because "
    "the connected party did not properly respond after a period of time, or established "
    "connection failed because connected host has failed to respond.": "tcp.reset",
    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)": "http.timeout",
    # the same words from Windows' connect: the connection never completed
    "dial tcp 192.0.2.1:443: connectex: A connection attempt failed because the connected "
    "party did not properly respond after a period of time, or established connection failed "
    "because connected host has failed to respond.": "tcp.timeout",
}

#: how each client prints a failed request to the registry (its own words around the cause)
CLIENTS: dict[str, Wrap] = {
    "docker": lambda c: f'Error response from daemon: Get "{PING}": {c}',
    "docker <20": lambda c: f"Error response from daemon: Get {PING}: {c}",
    "docker, containerd store": lambda c: (
        f'Error response from daemon: failed to resolve reference "{REF}": '
        f'failed to do request: Head "{MAN}": {c}'
    ),
    "compose": lambda c: f'Error response from daemon: Head "{MAN}": {c}',
    "dockerd log": lambda c: (
        f'level=error msg="Handler for POST /v1.45/images/create returned error: '
        f'Get \\"{PING}\\": {c}"'
    ),
    "kubelet, containerd": lambda c: (
        f'Failed to pull image "{REF}": rpc error: code = Unknown desc = failed to pull and '
        f'unpack image "{REF}": failed to resolve reference "{REF}": failed to do request: '
        f'Head "{MAN}": {c}'
    ),
    "kubelet 1.29+, containerd": lambda c: (
        f'Failed to pull image "{REF}": failed to pull and unpack image "{REF}": failed to '
        f'resolve reference "{REF}": failed to do request: Head "{MAN}": {c}'
    ),
    "kubelet, dockershim": lambda c: (
        f'Failed to pull image "{REF}": rpc error: code = Unknown desc = Error response from '
        f"daemon: Get {PING}: {c}"
    ),
    "kubelet, CRI-O": lambda c: (
        f'Failed to pull image "{REF}": rpc error: code = Unknown desc = pinging container '
        f'registry {H}: Get "{PING}": {c}'
    ),
    "crictl": lambda c: (
        f'E0101 00:00:00.000000    1234 remote_image.go:238] "PullImage from image service '
        f'failed" err="rpc error: code = Unknown desc = failed to pull and unpack image '
        f'\\"{REF}\\": failed to resolve reference \\"{REF}\\": failed to do request: Head '
        f'\\"{MAN}\\": {c}" image="{REF}"'
    ),
    "nerdctl": lambda c: (
        f'FATA[0000] failed to resolve reference "{REF}": failed to do request: Head "{MAN}": {c}'
    ),
    "ctr": lambda c: (
        f'ctr: failed to resolve reference "{REF}": failed to do request: Head "{MAN}": {c}'
    ),
    "podman 4": lambda c: (
        f"Error: initializing source docker://{REF}: pinging container registry {H}: "
        f'Get "{PING}": {c}'
    ),
    "podman 5": lambda c: (
        f"Error: internal error: unable to copy from source docker://{REF}: initializing source "
        f'docker://{REF}: pinging container registry {H}: Get "{PING}": {c}'
    ),
    "podman 1-2": lambda c: (
        f'Error: error pulling image "{REF}": unable to pull {REF}: unable to pull image: Error '
        f"initializing source docker://{REF}: error pinging docker registry {H}: Get {PING}: {c}"
    ),
    "skopeo": lambda c: (
        f'FATA[0000] Error parsing image name "docker://{REF}": pinging container registry {H}: '
        f'Get "{PING}": {c}'
    ),
    "buildkit": lambda c: (
        f"ERROR: failed to solve: {REF}: failed to resolve source metadata for {REF}: failed to "
        f'do request: Head "{MAN}": {c}'
    ),
    "buildkit, old": lambda c: (
        "failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed "
        f"to do request: Head {MAN}: {c}"
    ),
    "crane": lambda c: f'Error: fetching manifest {REF}: Get "{PING}": {c}',
    "go-containerregistry": lambda c: f"GET {PING}: {c}",
    "helm": lambda c: f'Error: failed to do request: Head "{MAN}": {c}',
    "JSON log": lambda c: json.dumps(
        {"level": "error", "msg": "pull failed", "error": f'Get "{PING}": {c}'}
    ),
    "Testcontainers log": lambda c: (
        'Status 500: {"message":"Get \\"' + PING + '\\": ' + c.replace('"', '\\"') + '"}'
    ),
    "Kitematic": lambda c: f"(HTTP code 500) server error - Get {PING}: {c}",
}

#: Docker Engine API clients: their own status around the daemon's error
API_CLIENTS: dict[str, Wrap] = {
    "docker-java": lambda c: (
        "Caused by: com.github.dockerjava.api.exception.InternalServerErrorException: Status "
        '500: {"message":"' + c.replace('"', '\\"') + '"}'
    ),
    "docker-java, text body": lambda c: (
        "com.github.dockerjava.api.exception.InternalServerErrorException: Status 500: " + c
    ),
    "bollard": lambda c: "Error: Docker responded with status code 500: " + c,
    "spotify docker-client": lambda c: (
        "com.spotify.docker.client.exceptions.DockerRequestException: Request error: POST "
        "unix://localhost:80/images/create?fromImage=registry.example.test%2Fteam%2Fapp&tag=1.0:"
        ' 500, body: {"message":"' + c.replace('"', '\\"') + '"}'
    ),
    "dockerode": lambda c: "(HTTP code 500) server error - " + c,
    "docker-py": lambda c: (
        "500 Server Error for http+docker://localhost/v1.45/images/create?tag=1.0&fromImage="
        f'registry.example.test%2Fteam%2Fapp: Internal Server Error ("{c}")'
    ),
}

#: the daemon's own errors that reach an API client
DAEMON: dict[str, str] = {
    **{f'Get "{PING}": {c}': cat for c, cat in NETWORK.items()},
    "received unexpected HTTP status: 503 Service Unavailable": "server.error",
    "received unexpected HTTP status: 502 Bad Gateway": "server.error",
    f"unexpected status from HEAD request to {MAN}: 500 Internal Server Error": "server.error",
    f"unexpected status from HEAD request to {MAN}: 403 Forbidden": "auth.denied",
    f"unexpected status from HEAD request to {MAN}: 401 Unauthorized": "auth.unauthorized",
    "toomanyrequests: You have reached your pull rate limit. You may increase the limit by "
    "authenticating and upgrading: https://www.docker.com/increase-rate-limit": "ratelimit",
    f"manifest for {REF} not found: manifest unknown: manifest unknown": "image.manifest_unknown",
    "pull access denied for team/app, repository does not exist or may require 'docker "
    "login': denied: requested access to the resource is denied": "auth.denied",
    f'Head "{MAN}": no basic auth credentials': "auth.unauthorized",
    f'Head "{MAN}": unauthorized: authentication required': "auth.unauthorized",
    "no matching manifest for linux/arm64/v8 in the manifest list entries": "image.platform_mismatch",
}

STATUS = {
    401: ("Unauthorized", "auth.unauthorized"),
    403: ("Forbidden", "auth.denied"),
    429: ("Too Many Requests", "ratelimit"),
    500: ("Internal Server Error", "server.error"),
    502: ("Bad Gateway", "server.error"),
    503: ("Service Unavailable", "server.error"),
    504: ("Gateway Timeout", "server.error"),
}
StatusWrap = Callable[[int, str], str]
#: a registry's status as each client library words it
STATUS_WORDINGS: dict[str, tuple[dict[str, StatusWrap], dict[str, Wrap]]] = {
    "containerd": (
        {
            "HEAD (1.7+)": lambda s, t: f"unexpected status from HEAD request to {MAN}: {s} {t}",
            "HEAD (1.4-1.6)": lambda s, t: (
                f"pulling from host {H} failed with status code [manifests 1.0]: {s} {t}"
            ),
            "token": lambda s, t: (
                "failed to authorize: failed to fetch oauth token: unexpected status from GET "
                f"request to {TOKEN}: {s} {t}"
            ),
            # remotes/docker/fetcher.go (v1.4-v1.7): a blob or manifest GET
            "fetcher": lambda s, t: (
                f"failed to copy: httpReadSeeker: failed open: unexpected status code {MAN}: "
                f"{s} {t}"
            ),
            # core/remotes/docker/fetcher.go (v2.x)
            "HEAD (2.x)": lambda s, t: f"unexpected HEAD status code {MAN}: {s} {t}",
            "token (old)": lambda s, t: (
                f"failed to authorize: failed to fetch oauth token: unexpected status: {s} {t}"
            ),
            "anonymous token": lambda s, t: (
                "failed to authorize: failed to fetch anonymous token: unexpected status from "
                f"GET request to {TOKEN}: {s} {t}"
            ),
        },
        {
            "kubelet": lambda c: (
                f'Failed to pull image "{REF}": rpc error: code = Unknown desc = failed to pull '
                f'and unpack image "{REF}": failed to resolve reference "{REF}": {c}'
            ),
            "nerdctl": lambda c: f'FATA[0000] failed to resolve reference "{REF}": {c}',
            "buildkit": lambda c: (
                f"ERROR: failed to solve: {REF}: failed to resolve source metadata for {REF}: {c}"
            ),
            "docker, containerd store": lambda c: (
                f'Error response from daemon: failed to resolve reference "{REF}": {c}'
            ),
            "helm": lambda c: f"Error: {c}",
        },
    ),
    "containers/image": (
        {
            "bearer token": lambda s, t: (
                f"Requesting bearer token: invalid status code from registry {s} ({t})"
            ),
            "StatusCode": lambda s, t: (
                f'reading manifest 1.0 in {H}/team/app: StatusCode: {s}, "{s} {t}"'
            ),
            "ping": lambda s, t: (
                f"pinging container registry {H}: invalid status code from registry {s} ({t})"
            ),
            # docker/docker_image_src.go (v5.16)
            "blob": lambda s, t: (
                f"reading blob {DIGEST}: invalid status code returned when fetching blob {s} ({t})"
            ),
            # docker/docker_client.go (v5.29)
            "external blob": lambda s, t: (
                f'error fetching external blob from "https://cdn.example.test/layer": {s} ({t})'
            ),
        },
        {
            "podman": lambda c: f"Error: initializing source docker://{REF}: {c}",
            "CRI-O": lambda c: (
                f'Failed to pull image "{REF}": rpc error: code = Unknown desc = initializing '
                f"source docker://{REF}: {c}"
            ),
            "skopeo": lambda c: f'FATA[0000] Error parsing image name "docker://{REF}": {c}',
        },
    ),
    "go-containerregistry": (
        {
            "GET": lambda s, t: f"GET {MAN}: unexpected status code {s} {t}",
            "HEAD": lambda s, t: (
                f"HEAD {MAN}: unexpected status code {s} {t} (HEAD responses have no body, use "
                "GET for details)"
            ),
            "token": lambda s, t: f"GET {TOKEN}: unexpected status code {s} {t}",
        },
        {
            "crane": lambda c: f"Error: {c}",
            "kaniko": lambda c: (
                f"error building image: getting stage builder for stage 0: Get image: {c}"
            ),
            "trivy": lambda c: (
                "FATAL\timage scan error: scan error: unable to initialize a scanner: unable to "
                f"initialize a image scanner: 4 errors occurred:\n\t* {c}"
            ),
        },
    ),
    "oras-go v2": (
        {
            "manifest": lambda s, t: f'GET "{MAN}": response status code {s}: {t}',
            "HEAD manifest": lambda s, t: f'HEAD "{MAN}": response status code {s}: {t}',
        },
        {
            "helm": lambda c: f"Error: {c}",
            "oras": lambda c: f'Error: failed to perform "FetchReference" on source: {c}',
        },
    ),
}

#: single wordings: a credential helper failing, the platform, registry bodies, descriptors
HELPER_OUTPUTS = {
    "osxkeychain": "The specified item could not be found in the keychain.",
    "pass": 'pass not initialized: exit status 1: Error: password store is empty. Try "pass init".',
    "secretservice": "Cannot autolaunch D-Bus without X11 $DISPLAY",
    "wincred": "A specified logon session does not exist. It may already have been terminated.",
    "ecr-login": "NoCredentialProviders: no valid providers in chain. Deprecated.",
    "gcloud": "ERROR: (gcloud.auth.docker-helper) You do not currently have an active account "
    "selected.",
    # the Security framework's text for errSecInteractionNotAllowed (osxkeychain before
    # v0.7), D-Bus's for a session without the Secret Service, gpg's for pass
    "osxkeychain, no session": "User interaction is not allowed.",
    "secretservice, no daemon": "The name org.freedesktop.secrets was not provided by any "
    ".service files",
    "pass, no key": "error fetching password during initialization: exit status 2: gpg: "
    "decryption failed: No secret key",
}
HELPER_CLIENTS: dict[str, Callable[[str, str], str]] = {
    "docker": lambda h, o: f"error getting credentials - err: exit status 1, out: `{o}`",
    "docker, no helper": lambda h, o: (
        f'error getting credentials - err: exec: "docker-credential-{h}": executable file not '
        "found in $PATH, out: ``"
    ),
    "buildkit": lambda h, o: (
        f"ERROR: failed to solve: error getting credentials - err: exit status 1, out: `{o}`"
    ),
    "nerdctl": lambda h, o: (
        f'WARN[0000] cannot get auth config for authConfigHostname="{H}" (refHostname="{H}")  '
        f'error="error getting credentials - err: exit status 1, out: `{o}`"'
    ),
    "go-containerregistry": lambda h, o: (
        f"Error: fetching manifest {REF}: invoking docker-credential-{h}: exit status 1; "
        f"output: {o}"
    ),
    "docker-py": lambda h, o: (
        f"docker.credentials.errors.StoreError: Credentials store docker-credential-{h} exited "
        f'with "{o}".'
    ),
}
SINGLES: dict[str, str] = {
    # platform
    "Error response from daemon: no matching manifest for linux/arm64/v8 in the manifest list "
    "entries": "image.platform_mismatch",
    f'Failed to pull image "{REF}": failed to pull and unpack image "{REF}": no match for '
    f"platform in manifest {DIGEST}: not found": "image.platform_mismatch",
    f"ERROR: failed to solve: {REF}: failed to resolve source metadata for {REF}: no match for "
    "platform in manifest: not found": "image.platform_mismatch",
    f"Error: choosing an image from manifest list docker://{REF}: no image found in image index "
    'for architecture "arm64", variant "v8", OS "linux"': "image.platform_mismatch",
    f"Error: no child with platform linux/arm64 in index {REF}": "image.platform_mismatch",
    f"Error: image with reference {REF} was found but does not provide the specified platform "
    "(linux/arm64)": "image.platform_mismatch",
    "standard_init_linux.go:228: exec user process caused: exec format error": "image.platform_mismatch",
    # docker/distribution's client (registry/client/errors.go)
    f'Error response from daemon: Head "{MAN}": error parsing HTTP 429 response body: '
    'unexpected end of JSON input: ""': "ratelimit",
    f'Error response from daemon: Head "{MAN}": error parsing HTTP 401 response body: '
    'unexpected end of JSON input: ""': "auth.unauthorized",
    f'Error response from daemon: Get "{PING}": unauthorized: HTTP Basic: Access denied': "auth.unauthorized",
    f'Error response from daemon: Head "{MAN}": denied: Your authorization token has expired. '
    "Reauthenticate and try again.": "auth.token_expired",
    # oras-go v2, no registry error in the body
    f'Error: GET "https://{H}/v2/team/app/tags/list?n=1000": response status code 404: '
    "Not Found": "image.name_unknown",
    f'Error: GET "https://{H}/v2/team/app/blobs/{DIGEST}": response status code 404: Not Found': "image.blob_integrity",
}
#: Look-alikes: a wrapper or a path that resembles a registry's answer but is not one (the
#: review of round 9 found the first two read as a registry 5xx, the 404s of other hosts'
#: files as a missing manifest or repository): right when the lead names what the text
#: really says (the inner cause, or nothing: ``other``)
#: An HTML page of the registry's own front end (nginx, a WAF, a CDN) as distribution's
#: client prints a 4xx body that is not the registry's JSON (registry/client/errors.go,
#: HandleErrorResponse parses 400-499 only; UnexpectedHTTPResponseError: "error parsing
#: HTTP %d response body: %s: %q"; a 5xx is "received unexpected HTTP status: 502 Bad
#: Gateway"). Through an HTTPS proxy's tunnel only the URL's host answers: its 403 is
#: auth.denied, its 429 ratelimit (the proxy's page the alternative).
PAGES = {
    403: ("Forbidden", "auth.denied"),
    429: ("Too Many Requests", "ratelimit"),
}


def _page(status: int, text: str, signed: str = "nginx") -> str:
    html = f"<html>\\r\\n<head><title>{status} {text}</title></head>\\r\\n<body>\\r\\n"
    html += f"<center><h1>{status} {text}</h1></center>\\r\\n<hr><center>{signed}</center>"
    return (
        f"error parsing HTTP {status} response body: invalid character '<' looking for "
        f'beginning of value: "{html}\\r\\n</body>\\r\\n</html>\\r\\n"'
    )


PAGE_WRAPPERS: dict[str, Wrap] = {
    "docker": lambda c: f"Error response from daemon: {c}",
    "docker, with the URL": lambda c: f'Error response from daemon: Head "{MAN}": {c}',
    "kubelet, dockershim": lambda c: (
        f'Failed to pull image "{REF}": rpc error: code = Unknown desc = Error response from '
        f"daemon: {c}"
    ),
    "docker, token": lambda c: f'Error response from daemon: Get "{TOKEN}": {c}',
}
#: the same pages where a proxy may have sent them: the GET of an http:// registry through
#: HTTP_PROXY (no tunnel: the proxy answers it), or a page signed by a proxy or web filter
#: (a TLS-intercepting proxy answers for every host)
PROXY_PAGES: dict[str, Wrap] = {
    "docker, http:// registry": lambda c: (
        f'Error response from daemon: Get "http://{H}:5000/v2/": {c}'
    ),
}
PROXY_SIGNATURES = ("squid/5.7", "Zscaler", "FortiGuard Web Filtering", "Blue Coat ProxySG")
#: Go's transport (net/http transport.go, dialConn): a proxy's refusal of CONNECT is the
#: text of its own status line, whatever words it chose, or "unknown status code"
CONNECT_PHRASES = (
    "Forbidden",
    "Bad Gateway",
    "Access violation",
    "Request blocked by Privoxy",
    "Proxy Error",
    "Filtered",
    "unknown status code",
)
CONNECT_WRAPPERS: dict[str, Wrap] = {
    "docker": lambda c: f'Error response from daemon: Get "{PING}": {c}',
    "docker, manifest": lambda c: f'Error response from daemon: Head "{MAN}": {c}',
    "docker, token": lambda c: f'Error response from daemon: Get "{TOKEN}": {c}',
    "Go before 1.14": lambda c: f"Get {PING}: {c}",
}

LOOKALIKES: dict[str, str] = {
    f'Error response from daemon: Head "{MAN}": unauthorized': "auth.unauthorized",
    f'Error response from daemon: Get "{PING}": EOF': "tcp.reset",
    f'    Status 500: Get "{PING}": dial tcp 192.0.2.1:443: connect: connection refused': "tcp.refused",
    f'12:00:01.234 [main] ERROR tc.app - Status 500: Get "{PING}": dial tcp 192.0.2.1:443: '
    "i/o timeout": "tcp.timeout",
    f'\tStatus 500: {{"message":"Get \\"{PING}\\": dial tcp: lookup {H}: no such host"}}': "dns.nxdomain",
    'Error: GET "https://git.example.test/acme/deploy/raw/main/manifests/app.yaml": response '
    "status code 404: Not Found": "other",
    "GET https://git.example.test/acme/manifests/app.yaml: unexpected status code 404 Not Found": "other",
    'Error: GET "https://git.example.test/api/v4/projects/1/packages/tags/list": response '
    "status code 404: Not Found": "other",
}
#: distribution's API descriptors (registry/api/v2/descriptors.go, v2.0-v3.1) as messages
DESCRIPTORS = {
    "The named manifest is not known to the registry.": "image.manifest_unknown",
    "The repository is not known to the registry.": "image.name_unknown",
    "The blob, identified by `name` and `digest`, is unknown to the registry.": "image.blob_integrity",
    "The client does not have access to the repository.": "auth.denied",
    "The client does not have required access to the repository.": "auth.denied",
    "The client is not authenticated.": "auth.unauthorized",
    "The client made too many requests within a time interval.": "ratelimit",
}
DESCRIPTOR_WRAPPERS: dict[str, Wrap] = {
    "alone": lambda d: d,
    "docker": lambda d: f"Error response from daemon: {d}",
    "Harbor replication": lambda d: (
        f"an error occurred while pulling manifest of team/app:1.0 from source registry: {d}"
    ),
    "go-containerregistry": lambda d: f"GET {MAN}: {d}",
    "containers/image": lambda d: f"Error: reading manifest 1.0 in {H}/team/app: {d}",
}

#: Harbor's own NOT_FOUND messages (src/controller/artifact/controller.go, v2.0+; the
#: repository's from src/controller/repository), which clients print after their code
HARBOR_NOT_FOUND = {
    "artifact team/app:1.0 not found": "image.manifest_unknown",
    f"artifact team/app@{DIGEST} not found": "image.manifest_unknown",
    "repository team/app not found": "image.name_unknown",
}
HARBOR_WRAPPERS: dict[str, Wrap] = {
    "docker": lambda m: f"Error response from daemon: unknown: {m}",
    "podman": lambda m: (
        f"Error: initializing source docker://{REF}: reading manifest 1.0 in {H}/team/app: "
        f"unknown: {m}"
    ),
    "CRI-O": lambda m: (
        f'Failed to pull image "{REF}": rpc error: code = Unknown desc = reading manifest 1.0 '
        f"in {H}/team/app: unknown: {m}"
    ),
    "go-containerregistry": lambda m: f"GET {MAN}: NOT_FOUND: {m}",
    "oras-go v2": lambda m: f'Error: failed to perform "FetchReference" on source: not_found: {m}',
    "JSON body": lambda m: '404 {"errors":[{"code":"NOT_FOUND","message":"' + m + '"}]}',
}
#: trivy's image sources (pkg/fanal/image: docker, containerd, podman, then the registry):
#: when all fail it lists each one's error; the registry's is why the scan failed
TRIVY_REMOTE: dict[str, str] = {
    **{f'GET "{PING}": {c}': cat for c, cat in NETWORK.items()},
    **{f"GET {MAN}: unexpected status code {s} {t}": cat for s, (t, cat) in STATUS.items()},
    f"GET {MAN}: UNAUTHORIZED: authentication required; [map[Action:pull Class: "
    "Name:team/app Type:repository]]": "auth.unauthorized",
    f"GET {MAN}: MANIFEST_UNKNOWN: manifest unknown; map[Tag:1.0]": "image.manifest_unknown",
    f"GET {MAN}: DENIED: requested access to the resource is denied": "auth.denied",
}
TRIVY_LISTS: dict[str, Wrap] = {
    "trivy 0.48+": lambda c: (
        "FATAL\timage scan error: scan error: unable to initialize a scanner: unable to "
        "initialize an image scanner: 4 errors occurred:\n"
        f"\t* docker error: unable to inspect the image ({REF}): Cannot connect to the Docker "
        "daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"
        "\t* containerd error: containerd socket not found: /run/containerd/containerd.sock\n"
        "\t* podman error: unable to initialize Podman client: no podman socket found: stat "
        "podman/podman.sock: no such file or directory\n"
        f"\t* remote error: {c}\n"
    ),
    "trivy 0.48+, containerd socket refused": lambda c: (
        "FATAL\timage scan error: scan error: unable to initialize a scanner: unable to "
        "initialize an image scanner: 4 errors occurred:\n"
        f"\t* docker error: unable to inspect the image ({REF}): Error response from daemon: "
        f"No such image: {REF}\n"
        "\t* containerd error: failed to initialize a containerd client: failed to dial "
        '"/run/containerd/containerd.sock": connection error: desc = "transport: error while '
        'dialing: dial unix /run/containerd/containerd.sock: connect: permission denied"\n'
        "\t* podman error: unable to initialize Podman client: no podman socket found: stat "
        "podman/podman.sock: no such file or directory\n"
        f"\t* remote error: {c}\n"
    ),
    "trivy <0.48": lambda c: (
        "FATAL\tscan error: unable to initialize a scanner: unable to initialize a docker "
        "scanner: 4 errors occurred:\n"
        f"\t* unable to inspect the image ({REF}): Cannot connect to the Docker daemon at "
        "unix:///var/run/docker.sock. Is the docker daemon running?\n"
        "\t* containerd socket not found: /run/containerd/containerd.sock\n"
        "\t* unable to initialize Podman client: no podman socket found: stat "
        "podman/podman.sock: no such file or directory\n"
        f"\t* {c}\n"
    ),
    "trivy-operator (one JSON line)": lambda c: json.dumps(
        {
            "level": "error",
            "logger": "reconciler.scan job",
            "msg": "Scan job container",
            "status.message": (
                "FATAL\timage scan error: scan error: unable to initialize a scanner: unable "
                "to initialize a docker scanner: 4 errors occurred:\n"
                f"\t* unable to inspect the image ({REF}): Cannot connect to the Docker daemon "
                "at unix:///var/run/docker.sock. Is the docker daemon running?\n"
                "\t* containerd socket not found: /run/containerd/containerd.sock\n"
                "\t* unable to initialize Podman client: no podman socket found: stat "
                f"podman/podman.sock: no such file or directory\n\t* {c}\n"
            ),
        }
    ),
}


#: The layer applier's own errors (syscall errors from unpacking a layer into the
#: runtime's storage) -> category: a full or failing disk is the disk's; anything else the
#: storage refuses is this host's (other), whatever wrapper the runtime prints
APPLY_CAUSES = {
    "write /usr/lib/x86_64-linux-gnu/libexample.so.1: no space left on device": "client.disk",
    "write /usr/lib/x86_64-linux-gnu/libexample.so.1: input/output error": "client.disk",
    "lchown /usr/bin/ping: operation not permitted": "other",
    "mknod /dev/null: operation not permitted": "other",
    "open /etc/shadow: permission denied": "other",
    "lsetxattr /usr/bin/ping: operation not supported": "other",
    "lstat /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/17/fs/root/.gem: "
    "not a directory": "other",
    "unlinkat /var/lib/containerd/tmpmounts/containerd-mount1/root/.cache: directory not empty": "other",
}
#: how containerd, moby and containers/storage print them (their wrappers, from their source)
APPLY_WRAPPERS: dict[str, Wrap] = {
    "ctr": lambda c: f"ctr: failed to extract layer {DIGEST}: {c}: unknown",
    "crictl, containerd": lambda c: (
        f'FATA[0002] pulling image: failed to pull and unpack image "{REF}": '
        f"failed to extract layer {DIGEST}: {c}: unknown"
    ),
    "kubelet, containerd temp mount": lambda c: (
        f'Failed to pull image "{REF}": rpc error: code = Unknown desc = failed to pull and '
        f'unpack image "{REF}": failed to extract layer {DIGEST}: mount callback failed on '
        f"/var/lib/containerd/tmpmounts/containerd-mount1: {c}: unknown"
    ),
    "docker, chrootarchive": lambda c: (
        f"failed to register layer: Error processing tar file(exit status 1): {c}"
    ),
    "docker 1.1x, ApplyLayer": lambda c: (
        f"failed to register layer: ApplyLayer exit status 1 stdout:  stderr: {c}"
    ),
    "podman, containers/storage 1.4x": lambda c: (
        f'Error: writing blob: adding layer with blob "{DIGEST}": processing tar file({c}): '
        "exit status 1"
    ),
    "crictl, CRI-O": lambda c: (
        f"FATA[0010] pulling image: rpc error: code = Unknown desc = writing blob: adding layer "
        f'with blob "{DIGEST}": Error processing tar file(exit status 1): {c}'
    ),
}


def families() -> Iterator[tuple[str, str, str, str]]:
    """(family, text, expected category, what it is) for every probe text."""
    for (cause, cat), (name, wrap) in itertools.product(NETWORK.items(), CLIENTS.items()):
        yield "network causes x clients", wrap(cause), cat, f"{name}: {cause}"
    for (inner, cat), (name, wrap) in itertools.product(DAEMON.items(), API_CLIENTS.items()):
        yield "daemon errors x Docker API clients", wrap(inner), cat, f"{name}: {inner}"
    for lib, (wordings, outer) in STATUS_WORDINGS.items():
        for (wn, w), (on, o), (status, (text, cat)) in itertools.product(
            wordings.items(), outer.items(), STATUS.items()
        ):
            yield f"registry status x {lib}", o(w(status, text)), cat, f"{on}, {wn}, {status}"
    for (helper, out), (name, wrap) in itertools.product(
        HELPER_OUTPUTS.items(), HELPER_CLIENTS.items()
    ):
        # "osxkeychain, no session": the helper is the name before the comma
        binary = helper.split(",")[0]
        yield "credential helpers", wrap(binary, out), "auth.credential_helper", f"{name}: {helper}"
    for (d, cat), (name, wrap) in itertools.product(
        DESCRIPTORS.items(), DESCRIPTOR_WRAPPERS.items()
    ):
        yield "distribution descriptors", wrap(d), cat, f"{name}: {d}"
    for text, cat in SINGLES.items():
        yield "single wordings", text, cat, text[:100]
    for (m, cat), (name, wrap) in itertools.product(
        HARBOR_NOT_FOUND.items(), HARBOR_WRAPPERS.items()
    ):
        yield "Harbor NOT_FOUND x clients", wrap(m), cat, f"{name}: {m}"
    for (c, cat), (name, wrap) in itertools.product(TRIVY_REMOTE.items(), TRIVY_LISTS.items()):
        yield "trivy sources x registry answers", wrap(c), cat, f"{name}: {c}"
    for (status, (text, cat)), (name, wrap) in itertools.product(
        PAGES.items(), PAGE_WRAPPERS.items()
    ):
        yield "registry's HTML page x clients", wrap(_page(status, text)), cat, f"{name}: {status}"
    for (status, (text, _cat)), (name, wrap) in itertools.product(
        PAGES.items(), PROXY_PAGES.items()
    ):
        yield "a proxy's HTML page x clients", wrap(_page(status, text)), "proxy.error", name
    for (status, (text, _cat)), signed in itertools.product(PAGES.items(), PROXY_SIGNATURES):
        page = _page(status, text, signed)
        yield (
            "a proxy's HTML page x clients",
            PAGE_WRAPPERS["docker, with the URL"](page),
            ("proxy.error"),
            f"{signed}: {status}",
        )
    for phrase, (name, wrap) in itertools.product(CONNECT_PHRASES, CONNECT_WRAPPERS.items()):
        yield (
            "a proxy's CONNECT refusal x clients",
            wrap(phrase),
            "proxy.error",
            f"{name}: {phrase}",
        )
    for (c, cat), (name, wrap) in itertools.product(APPLY_CAUSES.items(), APPLY_WRAPPERS.items()):
        yield "layer applier x causes", wrap(c), cat, f"{name}: {c}"
    for text, cat in LOOKALIKES.items():
        yield "look-alikes", text, cat, text[:100]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--rules", metavar="DIR", type=Path, help="read these rules instead")
    args = parser.parse_args(argv)
    catalog = load_catalog([args.rules], bundled=False) if args.rules else load_catalog()
    totals: dict[str, list[int]] = {}
    misses: list[str] = []
    for family, text, want, what in families():
        lead = next(m for m in explain(catalog, text) if m.leading)
        tally = totals.setdefault(family, [0, 0])
        tally[1] += 1
        if lead.category == want:
            tally[0] += 1
        else:
            misses.append(f"  {family}: want {want}, got {lead.category} ({lead.rule}): {what}")
    for family, (right, total) in totals.items():
        print(f"{family:40} {right:5}/{total}")
    right = sum(r for r, _ in totals.values())
    total = sum(t for _, t in totals.values())
    print(f"{'all':40} {right:5}/{total}")
    if args.misses:
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
