"""Verdicts that disagreed with the runtimes (review of session 10), each with the real
client as the oracle:

- an insecure registry named without a port on plain-HTTP port 80, and only dockerd
  told so (daemon.json ``insecure-registries``): https:// to port 443 is refused,
  dockerd goes on to ``http://plain80.test/v2/`` (port 80) and pulls (moby 20.10
  registry/service_v2.go lookupV2Endpoints: an insecure index gets an http:// endpoint
  after the https:// one); containerd, the CRI and podman stop at 443. The table runs
  one runtime at a time; ``test_verdict4_mixed_scope.py`` runs ``regdoctor check
  --runtime all`` on the same node and holds each runtime's verdict to its own pull.
- the same kind of registry reachable only through ``HTTP_PROXY`` (no ``HTTPS_PROXY``):
  https:// goes direct and 443 refuses; a runtime told the registry is insecure sends
  ``GET http://behind.test/v2/`` to the proxy (Go's ProxyFromEnvironment: HTTP_PROXY
  for http:// URLs). check's look at port 80 (``http.plain_port``) went direct.
- podman alone in scope refusing a short name before any request (two search
  registries, ``short-name-mode = "enforcing"``, no TTY: containers/common v0.50
  libimage/pull.go via containers/image v5.23.1 pkg/shortnames Resolve, "short-name
  resolution enforced but cannot prompt without a TTY"): check probed docker.io, the
  image's host as docker reads the name, which podman never contacts (its DNS answer
  and its findings showed). ``test_verdict4_short_name.py`` reads the Docker Hub
  registry's own access log: check sends it nothing.
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import PROXY_URL, Registry, Scenario
from tests.scenarios.runtimes.table import (
    ALL,
    APP,
    HUB_NAMES,
    HUB_REG,
    NS_PLAIN,
    PLAIN_NAMES,
    TLS_REG,
    C,
    D,
    K,
    P,
)
from tests.scenarios.runtimes.table_podman2 import TLS_CA, TLS_NAMES
from tests.scenarios.runtimes.table_proxy import _both, drop_in
from tests.scenarios.runtimes.table_verdict3 import (
    BEHIND_80,
    BEHIND_80_NAMES,
    PLAIN_80,
    PLAIN_80_NAMES,
)

#: the node's DNS gives behind.test an address where nothing listens (443 refused);
#: only the proxy reaches the plain-HTTP registry on port 80 (its own name table)
BEHIND_DIRECT = Registry("behind_direct", "198.18.0.22", 443, "none")
HTTP_ONLY_PROXY = {"HTTP_PROXY": PROXY_URL}

VERDICT4_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "plain-no-port-only-docker-told",
        "scheme",
        f"plain80.test/{APP}",
        ALL,
        registries=(PLAIN_80,),
        names=PLAIN_80_NAMES,
        daemon_json={"insecure-registries": ["plain80.test"]},
        hub_trusted=True,
        expect={D: True, C: False, K: False, P: False},
        endpoints={D: "http://plain80.test/v2/"},
        rule="tcp-refused-plain-http-80",
        note="only dockerd is told plain80.test is insecure: it goes on from the refused "
        "port 443 to http://plain80.test/v2/ (port 80) and pulls; ctr, the CRI and "
        "podman stop at 443 (the fix marks it insecure for each)",
    ),
    Scenario(
        "proxy-http-only-plain-no-port-not-told",
        "proxy",
        f"behind.test/{APP}",
        ALL,
        registries=(BEHIND_80, BEHIND_DIRECT),
        names={"behind.test": BEHIND_DIRECT.ip},
        proxy="ok",
        proxy_names=BEHIND_80_NAMES,
        etc_files=_both(drop_in(**HTTP_ONLY_PROXY)),
        user_env=HTTP_ONLY_PROXY,
        hub_trusted=True,
        expect=dict.fromkeys(ALL, False),
        rule="tcp-refused-plain-http-80",
        note="HTTP_PROXY alone (units and shell), no runtime told behind.test is "
        "insecure: https:// goes direct and port 443 refuses; the registry on port 80 is "
        "reachable only through the proxy, where a runtime told it is insecure sends "
        "http://behind.test/v2/. check's look at port 80 goes through HTTP_PROXY too (it "
        "went direct, found nothing and gave tcp-refused, whose fix changes nothing); "
        "the fix marks it insecure and each pulls through the proxy",
    ),
    Scenario(
        "proxy-http-only-plain-no-port-docker-told",
        "proxy",
        f"behind.test/{APP}",
        ALL,
        registries=(BEHIND_80, BEHIND_DIRECT),
        names={"behind.test": BEHIND_DIRECT.ip},
        proxy="ok",
        proxy_names=BEHIND_80_NAMES,
        etc_files=_both(drop_in(**HTTP_ONLY_PROXY)),
        user_env=HTTP_ONLY_PROXY,
        daemon_json={"insecure-registries": ["behind.test"]},
        hub_trusted=True,
        expect={D: True, C: False, K: False, P: False},
        endpoints={D: "http://behind.test/v2/"},
        rule="tcp-refused-plain-http-80",
        note="HTTP_PROXY alone, only dockerd told behind.test is insecure: port 443 "
        "refuses (direct), dockerd goes on to http://behind.test/v2/ through HTTP_PROXY "
        "(Go's ProxyFromEnvironment) and pulls; check dialled port 80 directly and said "
        "tcp-refused. ctr, the CRI and podman stop at 443",
    ),
    Scenario(
        "podman-short-name-enforcing-hub-unasked",
        "registries.conf",
        APP,
        (P,),
        (NS_PLAIN, TLS_REG, HUB_REG),
        {**PLAIN_NAMES, **TLS_NAMES, **HUB_NAMES},
        certs=TLS_CA,
        hub_trusted=True,
        etc_files={
            "containers/registries.conf": (
                'unqualified-search-registries = ["tls.test:5443", "plain.test:5000"]\n'
                'short-name-mode = "enforcing"\n'
            ),
        },
        expect={P: False},
        rule="config-podman-short-name",
        note="podman refuses the short name before any request (enforcing, no TTY); "
        "Docker Hub serves the image and is up, but no runtime in scope asks it: check "
        "must not either (the alias fix sends podman to tls.test:5443)",
    ),
)
