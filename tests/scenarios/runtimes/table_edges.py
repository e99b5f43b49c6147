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
    PASSWORD,
    USERNAME,
    Registry,
    Scenario,
)
from tests.scenarios.runtimes.table import (
    ALL,
    APP,
    HUB_NAMES,
    SECURE_IP,
    SECURE_NAMES,
    C,
    D,
    K,
    P,
    _ca_everywhere,
    _containerd_ca_hosts,
    _secure_tls,
)

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

SCENARIOS: tuple[Scenario, ...] = table.SCENARIOS + EDGES
BY_ID = {s.id: s for s in SCENARIOS}
assert len(BY_ID) == len(SCENARIOS), "duplicate scenario id"
