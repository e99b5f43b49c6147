"""podman's registries.conf (v2) in the runtime table: a ``prefix`` remapped to another
``location`` with a path, wildcard prefixes, mirrors limited to digests or tags
(``pull-from-mirror``, ``mirror-by-digest-only``), an ``insecure`` mirror before an
untrusted registry, short names (``unqualified-search-registries``,
``short-name-mode`` without a TTY) and a ``registries.conf.d`` drop-in that overrides the
main file. Only podman reads these files.
"""

from __future__ import annotations

from tests.harness.content import sha256_digest, single_arch_blobs
from tests.scenarios.runtimes.scenario import MIRROR_IP, Registry, Scenario
from tests.scenarios.runtimes.table import (
    APP,
    HUB_NAMES,
    HUB_REG,
    NS_PLAIN,
    PLAIN_NAMES,
    SECURE_IP,
    TLS_IP,
    TLS_REG,
    C,
    D,
    K,
    P,
)

#: ``team/app:1.2`` by digest (the pushed bytes are deterministic)
APP_DIGEST = sha256_digest(single_arch_blobs("amd64", "/app", oci=False)[2])
APP_BY_DIGEST = f"team/app@{APP_DIGEST}"
CONF = "containers/registries.conf"
TLS_NAMES = {"tls.test": TLS_IP}
#: secure.test with a certificate from a CA nobody trusts (the fix's ./ca.crt)
UNTRUSTED_SECURE = Registry("secure", SECURE_IP, 443, "untrusted")
SECURE_AND_TLS = {"secure.test": SECURE_IP, **TLS_NAMES}
TLS_CA = {"containers/certs.d/tls.test:5443/ca.crt": "ca"}


def _mirrored(mode: str) -> str:
    """secure.test with one mirror, tls.test:5443, limited by ``mode``."""
    return (
        '[[registry]]\nlocation = "secure.test"\n\n'
        f'[[registry.mirror]]\nlocation = "tls.test:5443"\n{mode}\n'
    )


REGISTRIES_CONF_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "podman-prefix-remap-path-untrusted",
        "registries.conf",
        "alias.test/apps/app:1.2",
        (P,),
        (TLS_REG,),
        TLS_NAMES,
        etc_files={
            CONF: '[[registry]]\nprefix = "alias.test/apps"\nlocation = "tls.test:5443/team"\n'
        },
        expect={P: False},
        note="prefix alias.test/apps is served from location tls.test:5443/team (a path): "
        "podman never dials alias.test (not even in DNS) and fails x509 at tls.test:5443; "
        "the CA must go to that host's certs.d",
    ),
    Scenario(
        "podman-prefix-remap-path",
        "registries.conf",
        "alias.test/apps/app:1.2",
        (P,),
        (TLS_REG,),
        TLS_NAMES,
        certs=TLS_CA,
        etc_files={
            CONF: '[[registry]]\nprefix = "alias.test/apps"\nlocation = "tls.test:5443/team"\n'
        },
        expect={P: True},
        note="the same remap with tls.test:5443's CA installed: podman pulls "
        "tls.test:5443/team/app:1.2 (the repository is rewritten, not only the host)",
    ),
    Scenario(
        "podman-mirror-location-path",
        "registries.conf",
        "secure.test/apps/app:1.2",
        (P,),
        (Registry("secure", SECURE_IP, 443, "none"), TLS_REG),
        SECURE_AND_TLS,
        certs=TLS_CA,
        etc_files={
            CONF: '[[registry]]\nprefix = "secure.test/apps"\nlocation = "secure.test/apps"\n\n'
            '[[registry.mirror]]\nlocation = "tls.test:5443/team"\n'
        },
        expect={P: True},
        note="a mirror location with a path: secure.test/apps/app:1.2 comes from the mirror "
        "as tls.test:5443/team/app:1.2; the registry itself is down",
    ),
    Scenario(
        "podman-wildcard-mirror-primary-down",
        "registries.conf",
        f"reg.corp.test/{APP}",
        (P,),
        (Registry("secure", SECURE_IP, 443, "none"), TLS_REG),
        {"reg.corp.test": SECURE_IP, **TLS_NAMES},
        certs=TLS_CA,
        etc_files={
            CONF: '[[registry]]\nprefix = "*.corp.test"\n\n'
            '[[registry.mirror]]\nlocation = "tls.test:5443"\n'
        },
        expect={P: True},
        note='prefix = "*.corp.test" without a location: reg.corp.test/team/app comes from '
        "the mirror as tls.test:5443/team/app; the registry itself is down",
    ),
    Scenario(
        "podman-digest-only-mirror-by-tag",
        "registries.conf",
        f"secure.test/{APP}",
        (P,),
        (UNTRUSTED_SECURE, TLS_REG),
        SECURE_AND_TLS,
        certs=TLS_CA,
        etc_files={CONF: _mirrored('pull-from-mirror = "digest-only"')},
        fix_ca="other_ca",
        expect={P: False},
        note="the mirror (trusted, holds the image) is digest-only: a pull by tag skips it "
        "and fails x509 at secure.test; the fix is secure.test's CA",
    ),
    Scenario(
        "podman-digest-only-mirror-by-digest",
        "registries.conf",
        f"secure.test/{APP_BY_DIGEST}",
        (P,),
        (UNTRUSTED_SECURE, TLS_REG),
        SECURE_AND_TLS,
        certs=TLS_CA,
        etc_files={CONF: _mirrored('pull-from-mirror = "digest-only"')},
        expect={P: True},
        note="the same digest-only mirror serves a pull by digest; the untrusted registry "
        "is never asked",
    ),
    Scenario(
        "podman-tag-only-mirror-by-digest",
        "registries.conf",
        f"secure.test/{APP_BY_DIGEST}",
        (P,),
        (UNTRUSTED_SECURE, TLS_REG),
        SECURE_AND_TLS,
        certs=TLS_CA,
        etc_files={CONF: _mirrored('pull-from-mirror = "tag-only"')},
        fix_ca="other_ca",
        expect={P: False},
        note="a tag-only mirror is skipped for a pull by digest: x509 at secure.test",
    ),
    Scenario(
        "podman-mirror-by-digest-only-by-tag",
        "registries.conf",
        f"secure.test/{APP}",
        (P,),
        (UNTRUSTED_SECURE, TLS_REG),
        SECURE_AND_TLS,
        certs=TLS_CA,
        etc_files={
            CONF: '[[registry]]\nlocation = "secure.test"\nmirror-by-digest-only = true\n\n'
            '[[registry.mirror]]\nlocation = "tls.test:5443"\n'
        },
        fix_ca="other_ca",
        expect={P: False},
        note="mirror-by-digest-only = true on the [[registry]]: a pull by tag skips every mirror",
    ),
    Scenario(
        "podman-insecure-mirror-untrusted-primary",
        "registries.conf",
        f"secure.test/{APP}",
        (P,),
        (UNTRUSTED_SECURE, Registry("mirror", MIRROR_IP, 443, "untrusted")),
        {"secure.test": SECURE_IP, "mirror.test": MIRROR_IP},
        etc_files={
            CONF: '[[registry]]\nlocation = "secure.test"\n\n'
            '[[registry.mirror]]\nlocation = "mirror.test"\ninsecure = true\n'
        },
        expect={P: True},
        note="the mirror's insecure = true skips verification of its untrusted certificate: "
        "podman pulls from it and never asks the untrusted registry",
    ),
    Scenario(
        "podman-short-name-enforcing-no-tty",
        "registries.conf",
        APP,
        (P,),
        (NS_PLAIN, TLS_REG),
        {**PLAIN_NAMES, **TLS_NAMES},
        certs=TLS_CA,
        etc_files={
            CONF: 'unqualified-search-registries = ["tls.test:5443", "plain.test:5000"]\n'
            'short-name-mode = "enforcing"\n'
        },
        expect={P: False},
        note="a short name with two search registries and short-name-mode enforcing: "
        "without a TTY podman cannot prompt and refuses before any request",
    ),
    Scenario(
        "podman-short-name-permissive-first-down",
        "registries.conf",
        APP,
        (P,),
        (Registry("secure", SECURE_IP, 443, "none"), TLS_REG),
        {"secure.test": SECURE_IP, **TLS_NAMES},
        certs=TLS_CA,
        etc_files={
            CONF: 'unqualified-search-registries = ["secure.test", "tls.test:5443"]\n'
            'short-name-mode = "permissive"\n'
        },
        expect={P: True},
        note="permissive without a TTY tries the search registries in order: the first is "
        "down, the second pulls",
    ),
    Scenario(
        "podman-short-name-no-search-registries",
        "registries.conf",
        APP,
        (D, K, P),
        (HUB_REG,),
        HUB_NAMES,
        hub_trusted=True,
        etc_files={CONF: "# no unqualified-search-registries, no aliases\n"},
        expect={P: False},
        note="a short name and no search registries (Debian's registries.conf): podman "
        "does not assume docker.io as docker and the CRI do, and stops before any "
        "request; the alias fix sends it to Docker Hub",
    ),
    Scenario(
        "ctr-short-name",
        "short-name",
        APP,
        (C,),
        (HUB_REG,),
        HUB_NAMES,
        hub_trusted=True,
        full_name=f"docker.io/{APP}",
        expect={C: False},
        note="ctr does not complete a short name: team/app:1.2 is host team, repository "
        "app (it dials https://team/v2/app/manifests/1.2); only the full name pulls",
    ),
    Scenario(
        "ctr-single-name",
        "short-name",
        "nginx:latest",
        (C,),
        (HUB_REG,),
        HUB_NAMES,
        hub_trusted=True,
        full_name="docker.io/library/nginx:latest",
        expect={C: False},
        note="ctr reads nginx:latest as dummy://nginx:latest: an invalid port, refused "
        "before any request; only the full name pulls",
    ),
    Scenario(
        "podman-dropin-search-registries",
        "registries.conf",
        APP,
        (P,),
        (NS_PLAIN, TLS_REG),
        {**PLAIN_NAMES, **TLS_NAMES},
        certs=TLS_CA,
        etc_files={
            CONF: 'unqualified-search-registries = ["plain.test:5000", "tls.test:5443"]\n'
            'short-name-mode = "enforcing"\n',
            "containers/registries.conf.d/50-search.conf": (
                'unqualified-search-registries = ["tls.test:5443"]\n'
            ),
        },
        expect={P: True},
        note="a drop-in replaces unqualified-search-registries with one registry: one "
        "candidate is no ambiguity, so enforcing mode pulls without a TTY",
    ),
    Scenario(
        "podman-dropin-overrides-insecure",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            CONF: '[[registry]]\nlocation = "plain.test:5000"\ninsecure = true\n',
            "containers/registries.conf.d/50-site.conf": (
                '[[registry]]\nlocation = "plain.test:5000"\n'
            ),
        },
        expect={P: False},
        note="the main file marks the plain-HTTP registry insecure, a registries.conf.d "
        "drop-in with the same prefix replaces that table (insecure = false): https "
        "fails; a fix in the main file alone changes nothing",
    ),
)
