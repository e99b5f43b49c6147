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
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import Scenario
from tests.scenarios.runtimes.table import ALL, APP, TLS_REG, C, D, K, P
from tests.scenarios.runtimes.table_podman2 import TLS_NAMES

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
