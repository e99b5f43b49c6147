"""Fix commands that were wrong after session 9 (podman's registries.conf).

- A wildcard ``[[registry]]`` (``*.test``) with a mirror that has a port, and an image
  with a port: containers/image v5.23.1 ``rewriteReference`` keeps what follows the
  wildcard's match (``:5000/team/app:1.2``) and puts it after the mirror's location,
  ``mirror.test:5000:5000/...`` does not parse, and ``PullSourcesFromReference`` stops
  the whole pull before any request. The fix is a table for the image's ``host:port``
  alone, with the wildcard's mirrors (a longer prefix: only ``/team/app`` follows).
- A table whose mirror and location both speak plain HTTP: podman's insecure fix for
  each is a drop-in for the same table (a drop-in replaces the whole table of its
  prefix), so the two must write the same table, with both ``insecure``; the second
  one run undid the first.
- What was only unit-tested: podman's insecure drop-in sorts after a site drop-in named
  ``zzz-*.conf`` that defines the same table (a later file's table replaces an earlier
  one's of the same prefix); the kubelet's new pull Secret goes on the pod's own service
  account (``serviceAccountName``), not ``default``.
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import MIRROR_IP, Registry, Scenario
from tests.scenarios.runtimes.table import (
    APP,
    NS_PLAIN,
    PLAIN_IP,
    PLAIN_NAMES,
    SECURE_IP,
    SECURE_NAMES,
    K,
    P,
    _ca_everywhere,
    _containerd_ca_hosts,
)

FIXCMD4_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "fixcmd4-podman-wildcard-mirror-port-served",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN, Registry("mirror", MIRROR_IP, 5000, "tls")),
        {**PLAIN_NAMES, "mirror.test": MIRROR_IP},
        certs={"containers/certs.d/mirror.test:5000/ca.crt": "ca"},
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nprefix = "*.test"\n\n'
                '[[registry.mirror]]\nlocation = "mirror.test:5000"\n'
            ),
        },
        rule="config-podman-wildcard-rewrite",
        expect={P: False},
        note="a wildcard [[registry]] with a mirror that has a port, an image with a port: "
        "podman stops at 'rewriting reference: invalid reference format' before any "
        "request; the fix's table for plain.test:5000 keeps the mirror, which serves "
        "the image",
    ),
    Scenario(
        "fixcmd4-podman-insecure-mirror-and-location",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN, Registry("mirror", MIRROR_IP, 5000, "plain", "stale")),
        {**PLAIN_NAMES, "mirror.test": MIRROR_IP},
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nlocation = "plain.test:5000"\n\n'
                '[[registry.mirror]]\nlocation = "mirror.test:5000"\n'
            ),
        },
        expect={P: False},
        note="the table's mirror and its location both speak plain HTTP, only the "
        "registry has the image: both insecure fixes write the drop-in of the table, and "
        "it must keep both insecure (the mirror's fix, run second, wrote the table back "
        "without it: podman went on from the mirror's 404 to https://plain.test:5000)",
    ),
    Scenario(
        "fixcmd4-podman-insecure-after-zzz-dropin",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containers/registries.conf.d/zzz-site.conf": (
                '[[registry]]\nlocation = "plain.test:5000"\n'
            ),
        },
        expect={P: False},
        note="a site drop-in zzz-site.conf defines the plain-HTTP registry's table without "
        "insecure: the fix's drop-in must sort after it (zzzz-regdoctor-insecure-...), or "
        "podman reads zzz-site.conf's table last and still speaks https",
    ),
    Scenario(
        "fixcmd4-cri-private-pod-service-account",
        "cri",
        f"secure.test/{APP}",
        (K,),
        (Registry("secure", SECURE_IP, 443, "token_private"),),
        {**SECURE_NAMES, "auth.test": "127.0.0.1"},
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        pod_service_account="builder",
        expect={K: False},
        note="a private repository (anonymous token, manifest refused) for a pod that "
        "names no pull secret and runs as the service account builder: the fix's new "
        "Secret goes on builder (on default, the kubelet would not pass it for this pod)",
    ),
    Scenario(
        "fixcmd5-podman-wildcard-plain-mirror",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (
            Registry("plain", PLAIN_IP, 5000, "tls", "stale"),
            Registry("mirror", MIRROR_IP, 5000, "plain"),
        ),
        {**PLAIN_NAMES, "mirror.test": MIRROR_IP},
        certs={"containers/certs.d/plain.test:5000/ca.crt": "ca"},
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nprefix = "*.test"\n\n'
                '[[registry.mirror]]\nlocation = "mirror.test:5000"\n'
            ),
        },
        expect={P: False},
        note="the wildcard rewrite stop, and behind it a plain-HTTP mirror that has the "
        "image (the registry speaks TLS without it): the fix's host table is the longer "
        "prefix, so it must carry the mirror's insecure itself (an insecure drop-in for "
        '"*.test" never wins for plain.test:5000: podman tried https://mirror.test:5000)',
    ),
    Scenario(
        "fixcmd5-podman-wildcard-short-name",
        "registries.conf",
        APP,
        (P,),
        (NS_PLAIN, Registry("mirror", MIRROR_IP, 5000, "tls")),
        {**PLAIN_NAMES, "mirror.test": MIRROR_IP},
        certs={"containers/certs.d/mirror.test:5000/ca.crt": "ca"},
        etc_files={
            "containers/registries.conf": (
                'unqualified-search-registries = ["plain.test:5000"]\n\n'
                '[[registry]]\nprefix = "*.test"\n\n'
                '[[registry.mirror]]\nlocation = "mirror.test:5000"\n'
            ),
        },
        rule="config-podman-wildcard-rewrite",
        expect={P: False},
        note="a short name whose search registry plain.test:5000 the wildcard cannot "
        "rewrite: the fix's host table is for plain.test:5000 (it was for docker.io, "
        "the short name's Docker Hub reading: podman still stopped)",
    ),
)
