"""Per-test environment isolation: no developer config, no proxies, no host leaks.

Without it a test would read the developer's ~/.docker/config.json, credential helpers,
registries.conf or a proxy, and pass or fail for reasons outside the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")
#: Host variables that would point a client at this machine's real config or daemons.
HOST_LEAKS = (
    "DOCKER_HOST",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CONTEXT",
    "CONTAINERS_REGISTRIES_CONF",
    "CONTAINERS_CONF",
    "KUBECONFIG",
)


@dataclass(frozen=True)
class IsolatedEnv:
    """Where a test's environment points: all below one fresh temporary directory."""

    root: Path
    home: Path
    config_root: Path
    """``REGDOCTOR_CONFIG_ROOT``: regdoctor reads ``etc/docker/certs.d`` etc. below it."""
    docker_config: Path
    """``DOCKER_CONFIG`` (``config.json`` goes here)."""
    registry_auth_file: Path
    """``REGISTRY_AUTH_FILE`` (podman/skopeo auth.json; not created)."""
    xdg_runtime_dir: Path


def proxy_variable_names() -> set[str]:
    """Every spelling of the proxy variables: upper, lower, and any odd mix present."""
    names = {v for p in PROXY_VARIABLES for v in (p, p.lower())}
    names |= {k for k in os.environ if k.upper() in PROXY_VARIABLES}
    return names


def isolate(monkeypatch: pytest.MonkeyPatch, root: Path) -> IsolatedEnv:
    """Point HOME, DOCKER_CONFIG, XDG_*, REGISTRY_AUTH_FILE and REGDOCTOR_CONFIG_ROOT below
    ``root``, and remove proxy and host-daemon variables."""
    env = IsolatedEnv(
        root=root,
        home=root / "home",
        config_root=root / "config-root",
        docker_config=root / "home" / ".docker",
        registry_auth_file=root / "run" / "containers" / "auth.json",
        xdg_runtime_dir=root / "run",
    )
    for path in (env.home, env.config_root, env.docker_config):
        path.mkdir(parents=True, exist_ok=True)
    env.xdg_runtime_dir.mkdir(mode=0o700, exist_ok=True)
    settings = {
        "HOME": env.home,
        "DOCKER_CONFIG": env.docker_config,
        "XDG_CONFIG_HOME": env.home / ".config",
        "XDG_STATE_HOME": env.home / ".local" / "state",
        "XDG_CACHE_HOME": env.home / ".cache",
        "XDG_RUNTIME_DIR": env.xdg_runtime_dir,
        "REGISTRY_AUTH_FILE": env.registry_auth_file,
        "REGDOCTOR_CONFIG_ROOT": env.config_root,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, str(value))
    for name in proxy_variable_names() | set(HOST_LEAKS):
        monkeypatch.delenv(name, raising=False)
    return env
