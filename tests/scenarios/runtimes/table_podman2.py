"""podman's registries.conf files as containers/image v5.23.1 chooses them, and fixes that
must write where podman reads and keep what the entry already says:

- the user's ``$HOME/.config/containers/registries.conf`` replaces
  ``/etc/containers/registries.conf`` *and* ``/etc/containers/registries.conf.d``
  (pkg/sysregistriesv2 newConfigWrapperWithHomeDir: only
  ``$HOME/.config/containers/registries.conf.d`` is read after it), also for root
  (the table's podman runs as root with ``HOME=/home/node``);
- the insecure drop-in replaces the whole ``[[registry]]`` table of its prefix
  (updateWithConfigurationFrom), so it must carry the entry's ``location`` and mirrors.
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import MIRROR_IP, PASSWORD, USERNAME, Registry, Scenario
from tests.scenarios.runtimes.table import (
    APP,
    HUB_NAMES,
    HUB_REG,
    NS_PLAIN,
    PLAIN_NAMES,
    SECURE_IP,
    TLS_IP,
    TLS_REG,
    D,
    P,
    _auth,
    _secure_tls,
)
from tests.scenarios.runtimes.world import NODE_HOME

#: ~/.dockercfg: the pre-1.7 format, registry keys at the top level
LEGACY_LOGIN = {"secure.test": {"auth": _auth(USERNAME, PASSWORD), "email": ""}}
USER_CONF = "/home/node/.config/containers/registries.conf"
#: a trusted mirror whose storage lacks team/app (it holds an older nginx): podman asks it
#: first (its log shows the request), gets "manifest unknown", and goes on
TLS_NAMES = {"tls.test": TLS_IP}
TLS_CA = {"containers/certs.d/tls.test:5443/ca.crt": "ca"}
STALE_MIRROR = Registry("mirror", MIRROR_IP, 5000, "tls", "stale")

PODMAN2_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "podman-user-conf-hides-etc-dropins",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containers/registries.conf.d/50-plain.conf": (
                '[[registry]]\nlocation = "plain.test:5000"\ninsecure = true\n'
            ),
        },
        node_files={USER_CONF: 'unqualified-search-registries = ["docker.io"]\n'},
        expect={P: False},
        note="a drop-in in /etc marks the plain-HTTP registry insecure, but the user has "
        "~/.config/containers/registries.conf: podman then reads no /etc drop-in (https "
        "fails); the fix must go to ~/.config/containers/registries.conf.d",
    ),
    Scenario(
        "podman-user-conf-alias-fix",
        "registries.conf",
        APP,
        (P,),
        (HUB_REG,),
        HUB_NAMES,
        hub_trusted=True,
        etc_files={"containers/registries.conf": 'unqualified-search-registries = ["docker.io"]\n'},
        node_files={USER_CONF: 'short-name-mode = "enforcing"\n'},
        expect={P: False},
        note="/etc/containers/registries.conf has docker.io to search, but the user's own "
        "registries.conf replaces it (none): podman refuses the short name; an alias "
        "drop-in in /etc/containers/registries.conf.d is not read, the user's is",
    ),
    Scenario(
        "podman-insecure-fix-keeps-location-mirror",
        "registries.conf",
        "plain.test:5000/app:1.2",
        (P,),
        (NS_PLAIN, STALE_MIRROR),
        {**PLAIN_NAMES, "mirror.test": MIRROR_IP},
        certs={"containers/certs.d/mirror.test:5000/ca.crt": "ca"},
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nprefix = "plain.test:5000"\nlocation = "plain.test:5000/team"\n'
                '\n[[registry.mirror]]\nlocation = "mirror.test:5000"\n'
            ),
        },
        expect={P: False},
        note="plain.test:5000/app is served from plain.test:5000/team (a location with a "
        "path) behind a mirror that lacks it: podman asks the mirror, then https at the "
        "plain-HTTP registry fails. The insecure drop-in replaces the whole table: without "
        "the location podman asks plain.test:5000/app (not there); the mirror must stay "
        "(test_podman2_fix_keeps_mirror reads its log)",
    ),
    Scenario(
        "podman-alias-not-fully-qualified",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nlocation = "plain.test:5000"\ninsecure = true\n'
            ),
            "containers/registries.conf.d/50-aliases.conf": ('[aliases]\n"app" = "team/app"\n'),
        },
        expect={P: False},
        note='an alias whose value names no registry ("team/app"): podman refuses the '
        "whole configuration, so even a fully qualified image from an insecure registry "
        "that pulls without the alias fails",
    ),
    Scenario(
        "podman-short-name-blocked-search-registry",
        "registries.conf",
        APP,
        (P,),
        (Registry("secure", SECURE_IP, 443, "none"), TLS_REG),
        {"secure.test": SECURE_IP, **TLS_NAMES},
        certs=TLS_CA,
        etc_files={
            "containers/registries.conf": (
                'unqualified-search-registries = ["secure.test", "tls.test:5443"]\n'
                'short-name-mode = "permissive"\n\n'
                '[[registry]]\nlocation = "secure.test"\nblocked = true\n'
            ),
        },
        expect={P: True},
        note="the first search registry is blocked: podman's pull of that candidate fails "
        '("registry secure.test is blocked") and it goes on to the next, which pulls '
        "(containers/common v0.50.1 libimage pull: every candidate's error is kept, the "
        "loop continues)",
    ),
    Scenario(
        "podman-short-name-saved-alias",
        "registries.conf",
        APP,
        (P,),
        (NS_PLAIN, TLS_REG),
        {**PLAIN_NAMES, **TLS_NAMES},
        certs=TLS_CA,
        etc_files={
            "containers/registries.conf": (
                'unqualified-search-registries = ["plain.test:5000", "tls.test:5443"]\n'
                'short-name-mode = "enforcing"\n'
            ),
        },
        node_files={
            "/var/cache/containers/short-name-aliases.conf": (
                '[aliases]\n"team/app" = "tls.test:5443/team/app"\n'
            )
        },
        expect={P: True},
        note="two search registries and enforcing mode would refuse without a TTY, but a "
        "user once picked tls.test:5443 at the prompt: root podman saved it in "
        "/var/cache/containers/short-name-aliases.conf, which wins over registries.conf, "
        "and pulls from there without asking",
    ),
    Scenario(
        "creds-legacy-dockercfg-only",
        "credentials",
        f"secure.test/{APP}",
        (D, P),
        node_files={f"{NODE_HOME}/.dockercfg": LEGACY_LOGIN},
        expect={D: True, P: True},
        note="only the legacy ~/.dockercfg (no ~/.docker/config.json): the docker CLI "
        "20.10 reads it when config.json does not exist (cli/config Load), podman always "
        "reads it last (containers/image getAuthFilePaths, legacyFormat)",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-legacy-dockercfg-beside-config-json",
        "credentials",
        f"secure.test/{APP}",
        (D, P),
        docker_config={"auths": {}},
        node_files={f"{NODE_HOME}/.dockercfg": LEGACY_LOGIN},
        expect={D: False, P: True},
        note="~/.dockercfg has the login and ~/.docker/config.json exists without it: the "
        "docker CLI reads only config.json and sends no credentials; podman finds the "
        "login in ~/.dockercfg",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "podman-insecure-plain-http-mirror",
        "registries.conf",
        f"secure.test/{APP}",
        (P,),
        (Registry("secure", SECURE_IP, 443, "none"), Registry("mirror", MIRROR_IP, 5000)),
        {"secure.test": SECURE_IP, "mirror.test": MIRROR_IP},
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nlocation = "secure.test"\n\n'
                '[[registry.mirror]]\nlocation = "mirror.test:5000"\ninsecure = true\n'
            ),
        },
        expect={P: True},
        note="a plain-HTTP mirror marked insecure: podman's https ping fails and it goes on "
        "over http there (detectPropertiesHelper), and pulls; the registry itself is down",
    ),
)
