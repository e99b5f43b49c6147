"""Hunted verdicts: areas the table did not cover, each with the real clients as the
oracle (session 10):

- a registry's CA saved as ``ca.cert`` (not ``.crt``) in the certs.d directory of each
  runtime: the ``.cert`` extension is a *client* certificate, so docker and podman want
  a ``ca.key`` beside it and refuse the whole directory (moby v20.10.24
  registry/registry.go ReadCertsDirectory: "missing key ca.key for client certificate
  ca.cert. CA certificates must use the extension .crt"; containers/image v5.23.1
  pkg/tlsclientconfig SetupCertificates: the same, "should use"); containerd 1.6's
  hosts directory without hosts.toml reads ``*.cert`` as a client pair too
  (remotes/docker/config/hosts.go loadCertFiles).
- an ``auths`` entry with a password *and* an ``identitytoken`` (an OAuth refresh token
  from an SSO login, here one the token server no longer takes): for a bearer-token
  registry dockerd and containers/image send the refresh token (grant_type
  refresh_token) instead of the password; for a basic-auth registry the password.
- a registry that requires a client certificate, and the one installed everywhere is
  issued by a CA it does not accept: the TLS handshake fails for every runtime.
- a token registry whose realm names a port nothing listens on (``auth.test:1``): no
  node fix; the registry's ``auth.token.realm`` must change.
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import PASSWORD, USERNAME, Registry, Scenario
from tests.scenarios.runtimes.table import (
    ALL,
    APP,
    SECURE_IP,
    TLS_REG,
    C,
    D,
    K,
    P,
    _auth,
    _ca_everywhere,
    _containerd_ca_hosts,
    _secure_tls,
)
from tests.scenarios.runtimes.table_creds import RIGHT
from tests.scenarios.runtimes.table_podman2 import TLS_NAMES

#: the registry and its token realm (table_edges.TOKEN_NAMES, which imports this module)
TOKEN_NAMES = {"secure.test": SECURE_IP, "auth.test": "127.0.0.1"}

TLS_HOST = "tls.test:5443"


def _ca_as_cert(hostport: str) -> dict[str, str]:
    """The harness CA saved as ``ca.cert`` in each runtime's certs.d directory."""
    return {
        f"{base}/certs.d/{hostport}/ca.cert": "ca"
        for base in ("docker", "containers", "containerd")
    }


HUNT_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "certs-d-ca-named-cert",
        "tls",
        f"{TLS_HOST}/{APP}",
        ALL,
        (TLS_REG,),
        TLS_NAMES,
        certs=_ca_as_cert(TLS_HOST),
        expect={D: False, C: False, K: False, P: False},
        note="the CA saved as ca.cert: docker and podman read *.cert as a client "
        "certificate and want ca.key beside it",
    ),
)

#: a password and a refresh token the token server does not know
STALE_TOKEN_LOGIN = {"auth": _auth(USERNAME, PASSWORD), "identitytoken": "stale-refresh-token"}

HUNT_SCENARIOS += (
    Scenario(
        "creds-identitytoken-stale-token-registry",
        "credentials",
        f"secure.test/{APP}",
        (D, P),
        (Registry("secure", SECURE_IP, 443, "token_private"),),
        TOKEN_NAMES,
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        docker_config={"auths": {"secure.test": STALE_TOKEN_LOGIN}},
        note="auths has the right password and a refresh token the token server refuses: "
        "for a bearer-token registry both clients send the refresh token",
    ),
    Scenario(
        "creds-identitytoken-stale-basic-registry",
        "credentials",
        f"secure.test/{APP}",
        (D, P),
        docker_config={"auths": {"secure.test": STALE_TOKEN_LOGIN}},
        note="the same entry for a basic-auth registry: the password is what is sent",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
)

HUNT_SCENARIOS += (
    Scenario(
        "token-realm-refused",
        "credentials",
        f"secure.test/{APP}",
        (D, K, P),  # ctr has no login: past the realm it would fail 401 anyway
        (Registry("secure", SECURE_IP, 443, "token_dead_realm"),),
        TOKEN_NAMES,
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        docker_config={"auths": {"secure.test": RIGHT}},
        pull_secret=(USERNAME, PASSWORD),
        server_side=True,
        server_fix=r"realm",
        note="the registry's token realm is https://auth.test:1/token, where nothing "
        "listens: every client's token request is refused; the registry's realm must change",
    ),
)


def _other_client_pair(hostport: str) -> dict[str, str]:
    """The harness CA, and a client pair from a CA the registry does not accept, where
    each runtime reads them."""
    certs = dict(_ca_everywhere(hostport))
    for base in ("docker", "containers", "containerd"):
        certs[f"{base}/certs.d/{hostport}/client.cert"] = "other_client_cert"
        certs[f"{base}/certs.d/{hostport}/client.key"] = "other_client_key"
    return certs


HUNT_SCENARIOS += (
    Scenario(
        "mtls-client-cert-other-ca",
        "tls",
        f"{TLS_HOST}/{APP}",
        ALL,
        (Registry("mtls", "198.18.0.40", 5443, "mtls"),),
        TLS_NAMES,
        certs=_other_client_pair(TLS_HOST),
        etc_files={
            f"containerd/certs.d/{TLS_HOST}/hosts.toml": (
                f'server = "https://{TLS_HOST}"\n\n[host."https://{TLS_HOST}"]\n'
                '  capabilities = ["pull", "resolve"]\n'
                f'  ca = "/etc/containerd/certs.d/{TLS_HOST}/ca.crt"\n'
                f'  client = [["/etc/containerd/certs.d/{TLS_HOST}/client.cert", '
                f'"/etc/containerd/certs.d/{TLS_HOST}/client.key"]]\n'
            )
        },
        note="a client pair is installed everywhere, issued by a CA the registry does not accept",
    ),
)


HUNT_SCENARIOS += (
    Scenario(
        "certs-d-lone-key",
        "tls",
        f"{TLS_HOST}/{APP}",
        ALL,
        (TLS_REG,),
        TLS_NAMES,
        certs={
            **_ca_everywhere(TLS_HOST),
            **{
                f"{base}/certs.d/{TLS_HOST}/client.key": "client_key"
                for base in ("docker", "containers", "containerd")
            },
        },
        expect={D: False, C: True, K: True, P: False},
        note="the CA as ca.crt and a client.key without client.cert: docker and podman "
        "refuse the directory ('missing client certificate client.cert for key "
        "client.key'); containerd reads no lone key",
    ),
)
