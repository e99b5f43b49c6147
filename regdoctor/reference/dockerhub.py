"""Every name Docker Hub goes by, in one place.

Docker Hub images are named ``docker.io/...`` (``index.docker.io`` is the legacy domain),
dialled at ``registry-1.docker.io``, authenticated by ``auth.docker.io``, and stored under
the key ``https://index.docker.io/v1/`` in Docker's ``config.json``. Single-component
names live in the ``library`` namespace (``nginx`` is ``docker.io/library/nginx``).
"""

from __future__ import annotations

__all__ = [
    "ALIASES",
    "API_HOST",
    "AUTH_HOST",
    "CONFIG_KEY",
    "DOMAIN",
    "LEGACY_DOMAIN",
    "OFFICIAL_NAMESPACE",
    "PUBLIC_NAMES",
    "TOKEN_SERVICE",
    "is_hub",
]

#: The canonical domain of Docker Hub image names.
DOMAIN = "docker.io"
#: The legacy domain, normalised to :data:`DOMAIN` by every client.
LEGACY_DOMAIN = "index.docker.io"
#: The host that serves the registry API (what a pull dials).
API_HOST = "registry-1.docker.io"
#: The token service named in Docker Hub's ``WWW-Authenticate`` realm.
AUTH_HOST = "auth.docker.io"
#: The ``service`` Docker Hub's token realm issues tokens for.
TOKEN_SERVICE = "registry.docker.io"  # noqa: S105 - a service name
#: The key Docker's ``config.json`` stores Hub credentials under (docker/cli
#: ``registry.IndexServer``); ``docker.io`` as a key is never used for Hub pulls.
CONFIG_KEY = "https://index.docker.io/v1/"
#: The namespace of single-component names (official images).
OFFICIAL_NAMESPACE = "library"
#: Host names that all mean Docker Hub when they appear as a registry.
ALIASES: frozenset[str] = frozenset({DOMAIN, LEGACY_DOMAIN, API_HOST, "registry.hub.docker.com"})
#: Docker Hub's public host names (never masked by ``--redact-hosts``).
PUBLIC_NAMES: frozenset[str] = ALIASES | {AUTH_HOST}


def is_hub(host: str) -> bool:
    """Whether ``host`` (a registry name, without scheme, path or port) is Docker Hub."""
    return host.lower().rstrip(".") in ALIASES
