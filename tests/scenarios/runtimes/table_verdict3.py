"""Verdicts that disagreed with the runtimes (review of session 9), each with the real
client as the oracle:

- a short name of one component (``nginx``) through two search registries: podman
  completes it per registry (``secure.test/nginx``, ``docker.io/library/nginx``: the
  ``library/`` namespace only for docker.io, containers/image v5.23 docker/reference
  ``ParseNormalizedNamed``); the first is down, podman goes on to the next and pulls, so
  the first one's errors must not list podman although its repository is not the
  image's.
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import Registry, Scenario
from tests.scenarios.runtimes.table import HUB_NAMES, HUB_REG, SECURE_IP, P

DEAD_SECURE = Registry("secure", SECURE_IP, 443, "none")

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
)
