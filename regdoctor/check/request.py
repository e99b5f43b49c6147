"""What a caller asks of a run, as plain data: no argparse, no files read yet.

Every command that checks registries builds a :class:`CheckRequest` (the CLI from its
arguments, ``explain --check`` from the registries a paste names, the TUI for a re-run)
and hands it to :func:`regdoctor.check.plan.plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from regdoctor.model import Secret
from regdoctor.reference import dockerhub

__all__ = ["DEFAULT_TARGET", "NAMED_FILES", "CheckRequest", "UsageError"]

#: What ``check`` looks at when neither TARGETs nor the configuration name a registry.
DEFAULT_TARGET = dockerhub.DOMAIN

#: Configuration files a caller may name, with the command-line flag that names them.
NAMED_FILES: Mapping[str, str] = {
    "daemon_config": "--daemon-config",
    "docker_config": "--docker-config",
    "registries_conf": "--registries-conf",
    "auth_file": "--auth-file",
    "containerd_config": "--containerd-config",
    "kubelet_config": "--kubelet-config",
}


class UsageError(Exception):
    """A problem with what was asked: one line, exit code 3."""


@dataclass(frozen=True, eq=False)
class CheckRequest:
    """One run, as asked. Values are as given (strings); :func:`~regdoctor.check.plan.plan`
    validates them and raises :class:`UsageError` with the flag's name."""

    targets: tuple[str, ...] = ()
    #: Each network wait (``--timeout``); None: 5 s, and phases a runtime waits longer
    #: for (the TLS handshake) get the runtime's own limit.
    timeout: float | None = None
    deadline: float = 30.0
    dns_server: str | None = None
    ca_files: tuple[str, ...] = ()
    cert: str | None = None
    key: str | None = None
    username: str | None = None
    password: Secret | None = None
    platforms: tuple[str, ...] = ()
    insecure: bool = False
    #: The directory treated as ``/`` (``--root``); None: ``REGDOCTOR_CONFIG_ROOT`` or ``/``.
    root: str | None = None
    #: Named configuration files, by the keys of :data:`NAMED_FILES`.
    config_files: Mapping[str, str] = field(default_factory=dict)
    #: ``--runtime``: one runtime, ``all``, or ``""`` (found on the host or in the config).
    runtime: str = ""
    kube_manifests: tuple[str, ...] = ()
    rules_dirs: tuple[str, ...] = ()
    #: Check the TARGETs only, without reading any configuration.
    no_config: bool = False
    debug: bool = False
