"""Issue #13, trust: a token realm on another host over plain HTTP receives the user's
password in Basic auth; the pull works, and the report must warn instead of saying ok.

Real peers: the distribution registry (plain HTTP on 127.0.0.1, token auth) whose realm
is the harness's token server on plain HTTP under another name, ``auth.registry.test``,
which only the test's own dnsmasq resolves (to 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hardening.runner import run
from tests.harness import procs
from tests.harness.dns import DnsServer
from tests.harness.registry import Registry, RegistryOptions, TokenAuthConfig, wait_all_ready
from tests.harness.token_server import ISSUER, SERVICE, TokenServer, make_signing_key

USER = "robot"
PASSWORD = "Realm-Canary-5c1d2e"
REALM_HOST = "auth.registry.test"


@dataclass
class PlainRealm:
    dns: DnsServer
    token: TokenServer
    registry: Registry


@pytest.fixture
def plain_realm(tmp_path: Path) -> Iterator[PlainRealm]:
    signing = make_signing_key(tmp_path / "token")
    token = TokenServer(
        tls=None, signing=signing, username=USER, password=PASSWORD, url_host=REALM_HOST
    )
    dns = DnsServer(tmp_path / "dns")
    registry: Registry | None = None
    try:
        token.start()
        dns.start()
        registry = Registry(
            name="plain-realm",
            workdir=tmp_path / "registry",
            storage_root=tmp_path / "storage",
            options=RegistryOptions(
                token=TokenAuthConfig(
                    realm=token.url("token"),
                    service=SERVICE,
                    issuer=ISSUER,
                    rootcertbundle=signing.rootcertbundle,
                )
            ),
        )
        registry.start()
        wait_all_ready([registry])
        procs.poll_until(dns.check_ready, 15, "dnsmasq")
        yield PlainRealm(dns, token, registry)
    finally:
        if registry is not None:
            registry.stop()
        dns.stop()
        token.stop()


def _check(bed: PlainRealm, *extra: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    args = ["check", "--format", "json", "--dns-server", bed.dns.server, "--timeout", "3"]
    args += ["--username", USER, "--password-stdin", *extra]
    return run([*args, f"http://127.0.0.1:{bed.registry.port}"], stdin=password)


def test_plain_http_realm_on_another_host_gets_the_password_and_a_warning(
    plain_realm: PlainRealm,
) -> None:
    result = _check(plain_realm)
    where = result.stdout[-3000:] + result.stderr[-2000:]
    # the realm really got the password, in Basic auth, over plain HTTP
    got = [r for r in plain_realm.token.requests if r.path.startswith("/token")]
    assert got and got[0].has_authorization and got[0].username == USER, where
    facts = next(o for o in result.observations() if o["kind"] == "auth.result")["facts"]
    assert facts["outcome"] == "authenticated", where
    assert facts["realm_host"] == REALM_HOST and facts["realm_scheme"] == "http"
    assert facts["realm_same_host"] is False and facts["credentials_sent_to_realm"] is True
    finding = next(f for f in result.findings if f["rule"] == "auth-realm-credentials-plain-http")
    assert finding["severity"] == "warning" and finding["category"] == "auth.realm_mismatch"
    assert REALM_HOST in finding["title"]
    assert result.code == 1, where  # not "ok"
    assert PASSWORD not in result.stdout + result.stderr


def test_no_warning_when_no_password_goes_there(plain_realm: PlainRealm) -> None:
    """Anonymous: the realm is still plain HTTP on another host, but no credential
    travels, so there is nothing to warn about (the token server refuses: that is the
    finding)."""
    args = ["check", "--format", "json", "--dns-server", plain_realm.dns.server]
    result = run([*args, "--timeout", "3", f"http://127.0.0.1:{plain_realm.registry.port}"])
    facts = next(o for o in result.observations() if o["kind"] == "auth.result")["facts"]
    assert facts["credentials_sent_to_realm"] is False
    assert "auth-realm-credentials-plain-http" not in result.rules
