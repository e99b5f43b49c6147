"""Verdicts that disagreed with the runtimes (review of session 9), each with the real
client as the oracle:

- a short name of one component (``nginx``) through two search registries: podman
  completes it per registry (``secure.test/nginx``, ``docker.io/library/nginx``: the
  ``library/`` namespace only for docker.io, containers/image v5.23 docker/reference
  ``ParseNormalizedNamed``); the first is down, podman goes on to the next and pulls, so
  the first one's errors must not list podman although its repository is not the
  image's.
- root podman's saved short-name aliases (``/var/cache/containers/short-name-aliases.conf``)
  that containers/image cannot load (not TOML; an alias without a registry): podman
  refuses every short name (v5.23.1 pkg/sysregistriesv2 ResolveShortNameAlias:
  "loading short-name aliases config file ..."), a fully qualified name never reads the
  file; the fix moves it aside.
- an insecure registry named without a port (``behind.test``), plain HTTP on port 80:
  every runtime's http:// URL has no port (port 80); through ``HTTP_PROXY`` the check
  asked the proxy for ``http://behind.test:443/v2/`` (the proxy's 502 read as the
  registry's failure). Reached directly, check dialled only port 443 and said every
  runtime failed (``plain-no-port-direct``); without ``insecure-registries`` dockerd
  does stop at 443 (``plain-no-port-docker-not-told``), and check, seeing a registry on
  port 80, gives the fix that marks it insecure.
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import Registry, Scenario
from tests.scenarios.runtimes.table import (
    ALL,
    APP,
    HUB_NAMES,
    HUB_REG,
    SECURE_IP,
    TLS_REG,
    C,
    D,
    K,
    P,
)
from tests.scenarios.runtimes.table_podman2 import TLS_CA, TLS_NAMES
from tests.scenarios.runtimes.table_proxy import BOTH_PROXY, _both, drop_in, plain_registry

DEAD_SECURE = Registry("secure", SECURE_IP, 443, "none")
#: a plain-HTTP registry on port 80, named without a port, known only to the proxy
BEHIND_80 = Registry("behind80", "127.0.0.7", 80, "plain")
BEHIND_80_NAMES = {"behind.test": "127.0.0.7"}
#: each runtime told behind.test speaks plain HTTP, the daemons and the shell proxied
PLAIN_80_NODE = {
    "daemon_json": {"insecure-registries": ["behind.test"]},
    "etc_files": {**_both(drop_in(**BOTH_PROXY)), **plain_registry("behind.test")},
    "user_env": BOTH_PROXY,
}
#: the same kind of registry reached directly (the node's DNS knows it)
PLAIN_80 = Registry("plain80", "198.18.0.21", 80, "plain")
PLAIN_80_NAMES = {"plain80.test": "198.18.0.21"}
#: root podman's saved short-name aliases (the sandbox's own /var/cache)
ALIAS_CACHE = "/var/cache/containers/short-name-aliases.conf"
#: one search registry that serves team/app: without the cache podman pulls the short name
ONE_SEARCH = {"containers/registries.conf": 'unqualified-search-registries = ["tls.test:5443"]\n'}

VERDICT3_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "podman-short-name-single-component-next-search",
        "registries.conf",
        "nginx:latest",
        (P,),
        (DEAD_SECURE, HUB_REG),
        {"secure.test": SECURE_IP, **HUB_NAMES},
        hub_trusted=True,
        etc_files={
            "containers/registries.conf": (
                'unqualified-search-registries = ["secure.test", "docker.io"]\n'
                'short-name-mode = "permissive"\n'
            ),
        },
        expect={P: True},
        note="nginx is secure.test/nginx at the first search registry (down) and "
        "docker.io/library/nginx at the second: podman goes on and pulls, so the first "
        "one's error findings (repository nginx, not library/nginx) must not list podman",
    ),
    Scenario(
        "podman-saved-alias-cache-malformed",
        "registries.conf",
        APP,
        (P,),
        (TLS_REG,),
        TLS_NAMES,
        certs=TLS_CA,
        etc_files=ONE_SEARCH,
        node_files={ALIAS_CACHE: '[aliases]\n"team/app" = "tls.test:5443/team/app\n'},
        expect={P: False},
        rule="config-podman-alias-cache-invalid",
        note="the saved short-name alias file is not TOML (an unterminated string): "
        "podman refuses the short name",
    ),
    Scenario(
        "podman-saved-alias-cache-invalid-alias",
        "registries.conf",
        APP,
        (P,),
        (TLS_REG,),
        TLS_NAMES,
        certs=TLS_CA,
        etc_files=ONE_SEARCH,
        node_files={ALIAS_CACHE: '[aliases]\n"team/app" = "team/app"\n'},
        expect={P: False},
        rule="config-podman-alias-cache-invalid",
        note="the saved short-name alias names no registry: podman refuses the short name",
    ),
    Scenario(
        "podman-saved-alias-cache-malformed-qualified",
        "registries.conf",
        f"tls.test:5443/{APP}",
        (P,),
        (TLS_REG,),
        TLS_NAMES,
        certs=TLS_CA,
        etc_files=ONE_SEARCH,
        node_files={ALIAS_CACHE: '[aliases]\n"team/app" = "tls.test:5443/team/app\n'},
        expect={P: True},
        note="the same broken file and a fully qualified name: podman never reads it",
    ),
    Scenario(
        "proxy-plain-no-port",
        "proxy",
        f"behind.test/{APP}",
        ALL,
        registries=(BEHIND_80,),
        proxy="ok",
        proxy_names=BEHIND_80_NAMES,
        hub_trusted=True,
        expect=dict.fromkeys(ALL, True),
        endpoints=dict.fromkeys(ALL, "http://behind.test/v2/"),
        note="an insecure registry named without a port, only through the proxy: every "
        "runtime's http:// request is GET http://behind.test/v2/ (port 80) through "
        "HTTP_PROXY, and pulls",
        **PLAIN_80_NODE,  # type: ignore[arg-type]
    ),
    Scenario(
        "proxy-plain-no-port-needs-login",
        "proxy",
        f"behind.test/{APP}",
        ALL,
        registries=(BEHIND_80,),
        proxy="auth",
        proxy_names=BEHIND_80_NAMES,
        hub_trusted=True,
        expect=dict.fromkeys(ALL, False),
        endpoints=dict.fromkeys(ALL, "http://behind.test/v2/"),
        rule="http-proxy-auth-required",
        note="the same with a proxy that wants a login: the 407 answers GET "
        "http://behind.test/v2/; the HTTP_PROXY login fix pulls on all four",
        **PLAIN_80_NODE,  # type: ignore[arg-type]
    ),
    Scenario(
        "plain-no-port-docker-not-told",
        "scheme",
        f"plain80.test/{APP}",
        ALL,
        registries=(PLAIN_80,),
        names=PLAIN_80_NAMES,
        etc_files=plain_registry("plain80.test"),
        hub_trusted=True,
        expect={D: False, C: True, K: True, P: True},
        rule="tcp-refused-plain-http-80",
        note="the same without daemon.json insecure-registries: dockerd stops at the "
        "refused https:// port 443 and never tries http://; the others pull from port 80",
    ),
    Scenario(
        "plain-no-port-direct",
        "scheme",
        f"plain80.test/{APP}",
        ALL,
        registries=(PLAIN_80,),
        names=PLAIN_80_NAMES,
        daemon_json={"insecure-registries": ["plain80.test"]},
        etc_files=plain_registry("plain80.test"),
        hub_trusted=True,
        expect=dict.fromkeys(ALL, True),
        endpoints=dict.fromkeys(ALL, "http://plain80.test/v2/"),
        note="the same registry reached directly: https:// to port 443 is refused, "
        "dockerd and podman go on to http://plain80.test/v2/ (port 80), ctr and the CRI "
        "go there at once",
    ),
)
