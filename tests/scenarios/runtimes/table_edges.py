"""More of the runtime table (session 5): how the kubelet matches a pull secret's key,
rate limits, TLS edges (mutual TLS, ``skip_verify``, a ``ca`` that is not the issuer,
an untrusted token realm), podman's ``blocked`` and ``[[registry.mirror]]``, forward
proxies, a missing tag and a missing platform. Declared as in :mod:`.table`;
:data:`SCENARIOS` is the whole table.
"""

from __future__ import annotations

from tests.scenarios.runtimes import table
from tests.scenarios.runtimes.scenario import (
    HUB_IP,
    MIRROR_IP,
    PASSWORD,
    USERNAME,
    Registry,
    Scenario,
)
from tests.scenarios.runtimes.table import (
    ALL,
    APP,
    HUB_NAMES,
    NS_PLAIN,
    PLAIN_NAMES,
    SECURE_IP,
    SECURE_NAMES,
    TLS_IP,
    TLS_REG,
    UNTRUSTED_IP,
    C,
    D,
    K,
    P,
    _auth,
    _ca_everywhere,
    _containerd_ca_hosts,
    _hosts,
    _secure_tls,
)
from tests.scenarios.runtimes.table_creds import CREDS_SCENARIOS
from tests.scenarios.runtimes.table_fixcmd import FIXCMD_SCENARIOS
from tests.scenarios.runtimes.table_fixcmd3 import FIXCMD3_SCENARIOS
from tests.scenarios.runtimes.table_fixcmd4 import FIXCMD4_SCENARIOS
from tests.scenarios.runtimes.table_fixcov import FIXCOV_SCENARIOS
from tests.scenarios.runtimes.table_hunt import HUNT_SCENARIOS
from tests.scenarios.runtimes.table_hunt2 import HUNT2_SCENARIOS
from tests.scenarios.runtimes.table_podman2 import PODMAN2_SCENARIOS
from tests.scenarios.runtimes.table_proxy import PROXY_SCENARIOS
from tests.scenarios.runtimes.table_registries_conf import REGISTRIES_CONF_SCENARIOS
from tests.scenarios.runtimes.table_verdict2 import VERDICT2_SCENARIOS
from tests.scenarios.runtimes.table_verdict3 import VERDICT3_SCENARIOS
from tests.scenarios.runtimes.table_verdict4 import VERDICT4_SCENARIOS

EDGES: tuple[Scenario, ...] = (
    # -- the kubelet's keyring: which pull secret entry an image gets ----------------------
    Scenario(
        "cri-pull-secret-key-with-port",
        "cri",
        f"secure.test/{APP}",
        (K,),
        pull_secret=(USERNAME, PASSWORD),
        pull_secret_key="secure.test:443",
        expect={K: False},
        note="a key secure.test:443 is not the image's secure.test (the ports differ): "
        "the kubelet sends no credentials",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "cri-pull-secret-key-url",
        "cri",
        f"secure.test/{APP}",
        (K,),
        pull_secret=(USERNAME, PASSWORD),
        pull_secret_key="https://secure.test/v2/",
        expect={K: True},
        note="the kubelet strips the scheme and /v2/ of a key",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "cri-pull-secret-hub-legacy-key",
        "cri",
        "nginx:latest",
        (K,),
        (Registry("hub", HUB_IP, 443, "basic"),),
        HUB_NAMES,
        hub_trusted=True,
        pull_secret=(USERNAME, PASSWORD),
        pull_secret_key="https://index.docker.io/v1/",
        expect={K: True},
        note="a Hub login saved by docker (index.docker.io/v1/) serves docker.io images; "
        "AuthConfig.server_address stays empty, so the CRI sends it to registry-1.docker.io",
    ),
)

RATE_LIMITED = Registry("secure", SECURE_IP, 443, "token_ratelimit")
TOKEN_NAMES = {**SECURE_NAMES, "auth.test": "127.0.0.1"}

EDGES += (
    # -- rate limits ---------------------------------------------------------------------
    Scenario(
        "ratelimit-anonymous",
        "ratelimit",
        f"secure.test/{APP}",
        ALL,
        (RATE_LIMITED,),
        TOKEN_NAMES,
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        expect={D: False, C: False, K: False, P: False},
        note="429 TOOMANYREQUESTS for anonymous manifest requests (Docker Hub's limit); "
        "a login (for the kubelet: a pull secret) lifts it",
    ),
)

UNTRUSTED = Registry("untrusted", UNTRUSTED_IP, 443, "untrusted")
UNTRUSTED_NAMES = {"untrusted.test": UNTRUSTED_IP}
TLS_NAMES = {"tls.test": TLS_IP}
PODMAN_MIRROR_NAMES = {**SECURE_NAMES, "mirror.test": MIRROR_IP}

EDGES += (
    # -- hosts.toml TLS options ----------------------------------------------------------
    Scenario(
        "containerd-hosts-skip-verify",
        "hosts.toml",
        f"untrusted.test/{APP}",
        (C, K),
        (UNTRUSTED,),
        UNTRUSTED_NAMES,
        etc_files={
            "containerd/certs.d/untrusted.test/hosts.toml": _hosts(
                "https://untrusted.test",
                "https://untrusted.test",
                capabilities=["pull", "resolve"],
                skip_verify=True,
            )
        },
        fix_ca="other_ca",
        expect={C: True, K: True},
        note="[host] skip_verify = true: the untrusted certificate is accepted",
    ),
    Scenario(
        "containerd-host-x509-before-skip-verify-server",
        "hosts.toml",
        f"untrusted.test/{APP}",
        (C, K),
        (UNTRUSTED,),
        UNTRUSTED_NAMES,
        etc_files={
            "containerd/certs.d/untrusted.test/hosts.toml": (
                'server = "https://untrusted.test"\nskip_verify = true\n\n'
                + _hosts(
                    "https://untrusted.test",
                    "https://untrusted.test",
                    capabilities=["pull", "resolve"],
                ).split("\n", 2)[2]
            )
        },
        fix_ca="other_ca",
        expect={C: True, K: True},
        note="the [host] entry (no skip_verify) fails x509, the server line's own entry "
        "(skip_verify) is tried next and pulls",
    ),
    Scenario(
        "containerd-dead-mirror-then-x509",
        "hosts.toml",
        f"untrusted.test/{APP}",
        (C, K),
        (UNTRUSTED, Registry("mirror", MIRROR_IP, 443, "none")),
        {**UNTRUSTED_NAMES, "mirror.test": MIRROR_IP},
        etc_files={
            "containerd/certs.d/untrusted.test/hosts.toml": _hosts(
                "https://untrusted.test", "https://mirror.test", capabilities=["pull", "resolve"]
            )
        },
        fix_ca="other_ca",
        expect={C: False, K: False},
        note="a [host] mirror that refuses connections, then the registry fails x509: "
        "containerd reports its first error (the mirror's), and only both fixes make it pull",
    ),
    Scenario(
        "containerd-hosts-ca-not-the-issuer",
        "hosts.toml",
        f"tls.test:5443/{APP}",
        (C, K),
        (TLS_REG,),
        TLS_NAMES,
        certs={"containerd/certs.d/tls.test:5443/other-ca.crt": "other_ca"},
        etc_files={
            "containerd/certs.d/tls.test:5443/hosts.toml": _hosts(
                "https://tls.test:5443",
                "https://tls.test:5443",
                capabilities=["pull", "resolve"],
                ca="/etc/containerd/certs.d/tls.test:5443/other-ca.crt",
            )
        },
        expect={C: False, K: False},
        note="hosts.toml ca names a CA that did not sign the registry's certificate",
    ),
    Scenario(
        "docker-certs-d-wrong-ca",
        "tls",
        f"tls.test:5443/{APP}",
        (D, P),
        (TLS_REG,),
        TLS_NAMES,
        certs={
            "docker/certs.d/tls.test:5443/ca.crt": "other_ca",
            "containers/certs.d/tls.test:5443/ca.crt": "other_ca",
        },
        expect={D: False, P: False},
        note="certs.d holds a CA, but not the one that signed the registry's certificate",
    ),
    # -- podman registries.conf ------------------------------------------------------------
    Scenario(
        "podman-blocked",
        "podman",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nlocation = "plain.test:5000"\ninsecure = true\nblocked = true\n'
            )
        },
        expect={P: False},
        note="blocked = true: podman refuses the registry before any request",
    ),
    Scenario(
        "podman-mirror-primary-down",
        "podman",
        f"secure.test/{APP}",
        (P,),
        (Registry("secure", SECURE_IP, 443, "none"), Registry("mirror", MIRROR_IP, 443, "tls")),
        PODMAN_MIRROR_NAMES,
        certs={"containers/certs.d/mirror.test/ca.crt": "ca"},
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nlocation = "secure.test"\n\n'
                '[[registry.mirror]]\nlocation = "mirror.test"\n'
            )
        },
        expect={P: True},
        note="[[registry.mirror]] serves the image; the registry itself is down",
    ),
    Scenario(
        "podman-mirror-untrusted-primary-down",
        "podman",
        f"secure.test/{APP}",
        (P,),
        (Registry("secure", SECURE_IP, 443, "none"), Registry("mirror", MIRROR_IP, 443, "tls")),
        PODMAN_MIRROR_NAMES,
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nlocation = "secure.test"\n\n'
                '[[registry.mirror]]\nlocation = "mirror.test"\n'
            )
        },
        expect={P: False},
        note="the mirror's CA is not installed and the registry is down: both fail",
    ),
)

MTLS = Registry("mtls", TLS_IP, 5443, "mtls")
MTLS_HOST = "tls.test:5443"


def _client_pair_everywhere(hostport: str) -> dict[str, str]:
    """The harness CA and client pair installed the way each runtime reads them."""
    certs = dict(_ca_everywhere(hostport))
    for base in ("docker", "containers", "containerd"):
        certs[f"{base}/certs.d/{hostport}/client.cert"] = "client_cert"
        certs[f"{base}/certs.d/{hostport}/client.key"] = "client_key"
    return certs


EDGES += (
    # -- mutual TLS ------------------------------------------------------------------------
    Scenario(
        "mtls-no-client-cert",
        "tls",
        f"{MTLS_HOST}/{APP}",
        ALL,
        (MTLS,),
        TLS_NAMES,
        certs=_ca_everywhere(MTLS_HOST),
        etc_files=_containerd_ca_hosts(MTLS_HOST),
        expect={D: False, C: False, K: False, P: False},
        note="the registry requires a client certificate; the CA is installed, no client pair",
    ),
    Scenario(
        "mtls-client-cert-installed",
        "tls",
        f"{MTLS_HOST}/{APP}",
        ALL,
        (MTLS,),
        TLS_NAMES,
        certs=_client_pair_everywhere(MTLS_HOST),
        etc_files={
            f"containerd/certs.d/{MTLS_HOST}/hosts.toml": _hosts(
                f"https://{MTLS_HOST}",
                f"https://{MTLS_HOST}",
                capabilities=["pull", "resolve"],
                ca=f"/etc/containerd/certs.d/{MTLS_HOST}/ca.crt",
            ).rstrip("\n")
            + f'\n  client = [["/etc/containerd/certs.d/{MTLS_HOST}/client.cert", '
            f'"/etc/containerd/certs.d/{MTLS_HOST}/client.key"]]\n'
        },
        expect={D: True, C: True, K: True, P: True},
        note="client.cert/client.key in docker's and podman's certs.d, hosts.toml client",
    ),
)

EDGES += (
    # -- the token realm's certificate ---------------------------------------------------
    Scenario(
        "token-realm-untrusted",
        "credentials",
        f"secure.test/{APP}",
        (D, K, P),  # ctr has no login: past the realm it would fail 401 anyway
        (Registry("secure", SECURE_IP, 443, "token"),),
        TOKEN_NAMES,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        docker_config={"auths": {"secure.test": {"auth": _auth(USERNAME, PASSWORD)}}},
        pull_secret=(USERNAME, PASSWORD),
        realm_ca="other_ca",
        fix_ca="other_ca",
        expect={D: False, K: False, P: False},
        note="the registry's CA is installed, the token server's certificate is from "
        "another CA: the token request fails",
    ),
)

EDGES += (
    # -- what the registry holds -------------------------------------------------------------
    Scenario(
        "tag-missing",
        "image",
        "tls.test:5443/team/app:1.3",
        ALL,
        (TLS_REG,),
        TLS_NAMES,
        certs=_ca_everywhere("tls.test:5443"),  # containerd: certs.d/<host>/ca.crt
        wrong_reference=True,
        expect={D: False, C: False, K: False, P: False},
        note="team/app has 1.2, not 1.3: nothing on the node fixes it; the tag regdoctor "
        "names is pulled instead",
    ),
    Scenario(
        "tag-missing-server-fallback",
        "image",
        "tls.test:5443/team/app:1.3",
        (C, K),
        (TLS_REG,),
        TLS_NAMES,
        certs=_ca_everywhere("tls.test:5443"),
        etc_files=_containerd_ca_hosts("tls.test:5443"),
        wrong_reference=True,
        masked_by="tls.unknown_authority",
        expect={C: False, K: False},
        note="hosts.toml: ca only on [host]; after its 404 containerd tries the `server` "
        "entry (no ca) and reports that one's x509 error, not the missing tag. Both are "
        "true: the verdict is the x509 error the runtime shows, its fix (the ca on the "
        "`server` line too) turns the error into `not found`, and the tag regdoctor "
        "names then pulls (it pulls even untouched: the [host] entry answers it first)",
    ),
)

EDGES += (
    Scenario(
        "hosts-ca-on-server-only",
        "hosts.toml",
        "tls.test:5443/team/app:1.2",
        (C, K),
        (TLS_REG,),
        TLS_NAMES,
        certs=_ca_everywhere("tls.test:5443"),
        etc_files={
            "containerd/certs.d/tls.test:5443/hosts.toml": 'ca = "/etc/containerd/certs.d/'
            'tls.test:5443/ca.crt"\n'
            + _hosts(
                "https://tls.test:5443", "https://tls.test:5443", capabilities=["pull", "resolve"]
            )
        },
        expect={C: True, K: True},
        note="hosts.toml: ca only at the top (the `server` line), a [host] for the same "
        "host:port without: containerd fails its handshake there (x509), goes on to the "
        "server entry and pulls; a warning, not a mirror",
    ),
    Scenario(
        "hosts-ca-on-server-only-tag-missing",
        "image",
        "tls.test:5443/team/app:1.3",
        (C, K),
        (TLS_REG,),
        TLS_NAMES,
        certs=_ca_everywhere("tls.test:5443"),
        etc_files={
            "containerd/certs.d/tls.test:5443/hosts.toml": 'ca = "/etc/containerd/certs.d/'
            'tls.test:5443/ca.crt"\n'
            + _hosts(
                "https://tls.test:5443", "https://tls.test:5443", capabilities=["pull", "resolve"]
            )
        },
        wrong_reference=True,
        masked_by="tls.unknown_authority",
        expect={C: False, K: False},
        note="hosts-ca-on-server-only with a tag nobody has: the [host] fails x509 first, "
        "the server entry answers 404; containerd reports its first non-404 error (the "
        "x509), not the missing tag. Its fix (the ca on the [host] too) leaves the 404",
    ),
    Scenario(
        "platform-missing",
        "image",
        "tls.test:5443/team/armonly:1.0",
        ALL,
        (TLS_REG,),
        TLS_NAMES,
        certs=_ca_everywhere("tls.test:5443"),
        server_side=True,
        server_fix=r"amd64",
        expect={D: False, C: False, K: False, P: False},
        note="the index has linux/arm64 only; the fix is the registry's: push linux/amd64",
    ),
)

SCENARIOS: tuple[Scenario, ...] = (
    table.SCENARIOS
    + EDGES
    + PROXY_SCENARIOS
    + CREDS_SCENARIOS
    + REGISTRIES_CONF_SCENARIOS
    + VERDICT2_SCENARIOS
    + PODMAN2_SCENARIOS
    + FIXCMD_SCENARIOS
    + VERDICT3_SCENARIOS
    + FIXCMD3_SCENARIOS
    + FIXCMD4_SCENARIOS
    + HUNT_SCENARIOS
    + VERDICT4_SCENARIOS
    + HUNT2_SCENARIOS
    + FIXCOV_SCENARIOS
)
BY_ID = {s.id: s for s in SCENARIOS}
assert len(BY_ID) == len(SCENARIOS), "duplicate scenario id"
