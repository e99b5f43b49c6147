"""Small client-side helpers for tests that talk to the testbed directly with httpx.

Tests use these to check the testbed itself, and to set up state around regdoctor
calls; regdoctor's own auth dance is product code and must not be borrowed from here.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import httpx

from tests.harness.pki import CertKey

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def tls_context(ca_file: Path | None, client: CertKey | None = None) -> ssl.SSLContext:
    """A verifying context trusting only ``ca_file`` (or nothing: then every cert fails).

    httpx 0.28 deprecates ``verify=<path>``; an explicit context also keeps the system
    store out of the tests.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file is not None:
        ctx.load_verify_locations(cafile=str(ca_file))
    if client is not None:
        ctx.load_cert_chain(str(client.cert), str(client.key))
    return ctx


def http_client(
    base_url: str = "",
    *,
    ca_file: Path | None = None,
    client: CertKey | None = None,
    verify: bool = True,
    timeout_s: float = 5.0,
) -> httpx.Client:
    """An httpx client that ignores proxies and the system trust store."""
    verify_arg: ssl.SSLContext | bool = tls_context(ca_file, client) if verify else False
    return httpx.Client(base_url=base_url, verify=verify_arg, timeout=timeout_s, trust_env=False)


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` -> ("bearer", {"realm": ..., ...})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest))


def fetch_token(
    challenge: dict[str, str],
    *,
    ca_file: Path | None,
    auth: tuple[str, str] | None,
) -> httpx.Response:
    """GET the challenge's realm with its service and scope (the token step of the dance)."""
    params = {k: v for k, v in challenge.items() if k in ("service", "scope")}
    with http_client(ca_file=ca_file) as client:
        return client.get(challenge["realm"], params=params, auth=auth)
