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
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import Registry, Scenario
from tests.scenarios.runtimes.table import APP, HUB_NAMES, HUB_REG, SECURE_IP, TLS_REG, P
from tests.scenarios.runtimes.table_podman2 import TLS_CA, TLS_NAMES

DEAD_SECURE = Registry("secure", SECURE_IP, 443, "none")
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
)
