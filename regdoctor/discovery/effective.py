"""The effective configuration: every source read together.

:func:`discover` reads the sources (each its own module) into one :class:`Effective`.
What is derived from it lives in modules of its own, each doing one job:
:mod:`~regdoctor.discovery.plans` (the ordered endpoints each runtime tries for an image,
every value with the ``file#key`` it came from), :mod:`~regdoctor.discovery.targets`
(the registries and mirrors found, as check targets) and
:mod:`~regdoctor.discovery.observations` (what was read, as ``config.*`` observations for
the rules). :class:`Effective`'s methods of the same names hand over to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regdoctor.discovery import (
    containerd_hosts,
    docker_config,
    docker_daemon,
    env,
    kubelet,
    registries_conf,
    systemd_units,
)
from regdoctor.discovery.base import FileResult, Paths, reading_below
from regdoctor.discovery.plans import HUB, RUNTIMES, Plan
from regdoctor.model import Observation, Target

if TYPE_CHECKING:  # read only for a cluster's manifests: imported there
    from regdoctor.discovery import kube
    from regdoctor.model import CredentialRef


#: daemon.json ``proxies`` key -> the variable dockerd sets from it
_DAEMON_PROXY_VARIABLES = {
    "http-proxy": "HTTP_PROXY",
    "https-proxy": "HTTPS_PROXY",
    "no-proxy": "NO_PROXY",
}


@dataclass(eq=False)
class Effective:
    """Every configuration source read, for the runtimes in scope."""

    paths: Paths
    runtimes: tuple[str, ...] = RUNTIMES
    daemon: list[docker_daemon.DaemonConfig] = field(default_factory=list)
    client: docker_config.ClientConfig | None = None
    #: ``~/.dockercfg`` (legacy format), when it exists
    legacy_client: docker_config.ClientConfig | None = None
    containers: registries_conf.RegistriesConf | None = None
    containerd: containerd_hosts.ContainerdConfig | None = None
    kube: kube.KubeManifests | None = None
    kubelet: kubelet.KubeletConfig | None = None
    environment: env.Environment | None = None
    #: runtime -> the environment systemd gives the daemon that pulls for it
    units: dict[str, systemd_units.UnitEnvironment] = field(default_factory=dict)

    # ------------------------------------------------------------------ sources

    @property
    def daemon_config(self) -> docker_daemon.DaemonConfig | None:
        """The daemon.json dockerd uses: the rootful one if present, else rootless."""
        usable = [d for d in self.daemon if d.file.parsed]
        return usable[0] if usable else None

    def files(self) -> list[FileResult]:
        out: list[FileResult] = [d.file for d in self.daemon]
        if self.client is not None:
            out.append(self.client.file)
        if self.legacy_client is not None:
            out.append(self.legacy_client.file)
        if self.containers is not None:
            out.extend(self.containers.files)
            out.extend(a.file for a in self.containers.auth_files)
        if self.containerd is not None:
            if self.containerd.file is not None:
                out.append(self.containerd.file)
            out.extend(hf.file for hf in self.containerd.hosts_files)
        if self.kubelet is not None:
            out.append(self.kubelet.file)
        if self.kube is not None:
            out.extend(self.kube.files)
        for unit in self.units.values():
            out.extend(unit.files)
        return out

    @property
    def empty(self) -> bool:
        return not self.files()

    # ------------------------------------------------------------------ credentials

    def credential_for(
        self, runtime: str, registry: str, repository: str | None = None
    ) -> CredentialRef | None:
        if runtime == "containerd":
            # ctr reads no credential file: only --user (containerd v1.6.20
            # cmd/ctr/commands/resolver.go GetResolver); the CRI's come from the kubelet
            return None
        if runtime == "podman":
            # containers/image v5.23.1 getAuthFilePaths: its auth.json files, then
            # Docker's config.json read by its own rules (namespaced keys, credHelpers,
            # no credsStore); the first file with an entry wins
            files = list(self.containers.auth_files) if self.containers is not None else []
            # then ~/.dockercfg (legacyFormat), always
            for other in (self.client, self.legacy_client):
                if other is not None and other.file.parsed:
                    files.append(other)
            for auth in files:
                ref = auth.lookup_containers(registry, repository)
                if ref is not None:
                    return ref
            return None
        client = self.docker_client
        if client is not None and client.file.parsed:
            return client.lookup(registry, repository)
        return None

    @property
    def docker_client(self) -> docker_config.ClientConfig | None:
        """The file the docker CLI takes its logins from: config.json, or when that does
        not exist ``~/.dockercfg`` (docker/cli v20.10 cli/config Load)."""
        return self.client if self.client is not None else self.legacy_client

    # ------------------------------------------------------------------ proxies

    def daemon_proxy_env(self, runtime: str) -> env.ProxyEnv | None:
        """The proxy variables of the daemon that pulls for ``runtime`` (dockerd for
        docker, containerd's CRI plugin for kubernetes: their systemd drop-ins, and for
        dockerd its daemon.json ``proxies`` over them), or None when the runtime pulls in
        the user's own process (ctr, podman) or what the daemon has is unknown."""
        merged = self._daemon_env(runtime)
        if merged is None:
            return None
        variables, _sources, fixed_in = merged
        return env.ProxyEnv.from_env(variables, source=fixed_in)

    def _daemon_env(self, runtime: str) -> tuple[dict[str, str], dict[str, str], str] | None:
        """(proxy variables, where each was set, where a fix changes them) of the daemon
        that pulls for ``runtime``; None when it pulls in the user's process or when a
        drop-in could not be read and daemon.json does not set all three. A fix changes
        them in the unit's drop-in directory, or, once daemon.json sets one (a drop-in
        no longer changes that one), in daemon.json.

        dockerd (23 and later) sets each non-empty ``proxies`` value of daemon.json over
        the variable of its environment, upper and lower case alike, and leaves the
        others as the unit gave them (moby ``cmd/dockerd`` ``configureProxyEnv``)."""
        unit = self.units.get(runtime)
        if unit is None:
            return None
        overrides: dict[str, tuple[str, str]] = {}
        daemon = self.daemon_config if runtime == "docker" else None
        if daemon is not None:
            for key, (value, where) in daemon.proxies.items():
                if value and key in _DAEMON_PROXY_VARIABLES:
                    overrides[_DAEMON_PROXY_VARIABLES[key]] = (value, where)
        if unit.unreadable and len(overrides) < len(_DAEMON_PROXY_VARIABLES):
            return None  # unknown: judged as the shell's, not as none
        variables: dict[str, str] = {}
        sources: dict[str, str] = {}
        if not unit.unreadable:
            variables.update(unit.env)
            for name in unit.env:
                sources[name] = f"{unit.sources.get(name, unit.directory)} Environment={name}"
        for name, (value, where) in overrides.items():
            for variant in (name, name.lower()):
                variables[variant] = value
                sources[variant] = where
        fixed_in = str(daemon.file.path) if overrides and daemon is not None else unit.directory
        return variables, sources, fixed_in

    def _proxy(self, runtime: str, url: str) -> tuple[str | None, str | None]:
        merged = self._daemon_env(runtime)
        if merged is not None:
            variables, sources, fixed_in = merged
            choice = env.ProxyEnv.from_env(variables).choose(url)
            if choice.reason in ("proxied", "no_proxy") and choice.variable:
                return choice.proxy, sources.get(choice.variable, fixed_in)
            return None, None
        if self.environment is None:
            return None, None
        choice = self.environment.proxy.choose(url)
        if choice.reason == "proxied":
            return choice.proxy, f"environment ${choice.variable}"
        if choice.reason == "no_proxy":
            return None, f"environment ${choice.variable}"
        return None, None

    # ------------------------------------------------------------------ plans

    # ------------------------------------------------------------------ check targets

    def registries(self) -> list[tuple[str, str, str]]:
        """(runtime, registry, source) of every registry the configuration names. A
        source ``mirrors-only`` means only the registry's mirrors are named."""
        out: list[tuple[str, str, str]] = []
        if "docker" in self.runtimes:
            daemon = self.daemon_config
            if daemon is not None and daemon.mirrors:
                out.append(("docker", HUB, "mirrors-only"))
            if daemon is not None:
                for entry in daemon.insecure:
                    if entry.network is None and entry.host and not entry.path and not entry.fatal:
                        out.append(("docker", entry.host, entry.source))
            if self.docker_client is not None:
                out.extend(("docker", r, s) for r, s in self.docker_client.registries())
        if "podman" in self.runtimes and self.containers is not None:
            for table in self.containers.registries.values():
                if "*" not in table.prefix:
                    out.append(("podman", table.prefix.split("/", 1)[0], table.source))
            for auth in self.containers.auth_files:
                out.extend(("podman", r, s) for r, s in auth.registries())
        if ("containerd" in self.runtimes or "kubernetes" in self.runtimes) and self.containerd:
            runtime = "containerd" if "containerd" in self.runtimes else "kubernetes"
            out.extend((runtime, r, s) for r, s in self.containerd.registries())
        if "kubernetes" in self.runtimes and self.kube is not None:
            from regdoctor.discovery import kube

            for workload in self.kube.workloads:
                for image in workload.images:
                    out.append(("kubernetes", kube.normalize_image(image)[0], workload.source))
        return out

    # ------------------------------------------------------------------ observations

    # ------------------------------------------------------------------ delegated

    def plan(self, image: str, runtime: str) -> Plan:
        """The endpoints ``runtime`` tries for ``image`` (a registry or an image)."""
        from regdoctor.discovery.plans import plan

        return plan(self, image, runtime)

    def check_targets(self) -> list[Target]:
        """Every registry and mirror found, as check targets (deduplicated by endpoint)."""
        from regdoctor.discovery.targets import check_targets

        return check_targets(self)

    def apply(self, target: Target) -> Target:
        """A command-line target with the settings the configuration gives it."""
        from regdoctor.discovery.targets import apply

        return apply(self, target)

    def endpoint_observation(self, target: Target) -> Observation | None:
        """``config.endpoint``: the settings a target got from the configuration."""
        from regdoctor.discovery.targets import endpoint_observation

        return endpoint_observation(self, target)

    def observations(self) -> list[tuple[Target, list[Observation]]]:
        """Configuration files (and Kubernetes workloads) as targets of their own, with
        the ``config.*`` observations the rules judge them on."""
        from regdoctor.discovery.observations import observations

        return observations(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.paths.root),
            "runtimes": list(self.runtimes),
            "docker_daemon": [d.to_dict() for d in self.daemon],
            "docker_config": self.client.to_dict() if self.client else None,
            "registries_conf": self.containers.to_dict() if self.containers else None,
            "containerd": self.containerd.to_dict() if self.containerd else None,
            "kubelet": self.kubelet.to_dict() if self.kubelet else None,
            "kubernetes": self.kube.to_dict() if self.kube else None,
            "environment": self.environment.to_dict() if self.environment else None,
        }


def discover(
    paths: Paths | None = None,
    *,
    runtimes: Sequence[str] = RUNTIMES,
    kube_inputs: Sequence[str] = (),
    stdin: Any = None,
) -> Effective:
    """Read every source. Never raises: problems become issues of the files."""
    paths = paths or Paths()
    with reading_below(paths.root):  # links in another machine's tree stay in it
        return _discover(paths, runtimes, kube_inputs, stdin)


def _discover(
    paths: Paths, runtimes: Sequence[str], kube_inputs: Sequence[str], stdin: Any
) -> Effective:
    chosen = tuple(r for r in RUNTIMES if r in runtimes)
    eff = Effective(paths, chosen)
    eff.environment = env.discover(paths.env)
    for runtime in chosen:
        unit = systemd_units.discover(paths, runtime)
        if unit is not None:
            eff.units[runtime] = unit
    if "docker" in chosen or "podman" in chosen or "containerd" in chosen:
        eff.client = docker_config.discover(paths)
        eff.legacy_client = docker_config.discover_legacy(paths)
    if "docker" in chosen:
        eff.daemon = docker_daemon.discover(paths)
    if "podman" in chosen or "kubernetes" in chosen:
        eff.containers = registries_conf.discover(paths)
    if "containerd" in chosen or "kubernetes" in chosen:
        eff.containerd = containerd_hosts.discover(paths)
    if "kubernetes" in chosen:
        eff.kubelet = kubelet.discover(paths)
    if "kubernetes" in chosen and kube_inputs:  # manifests given (--kube): read them
        from regdoctor.discovery import kube

        eff.kube = kube.discover(list(kube_inputs), stdin=stdin)
    return eff


def paths_from(
    root: str | Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Path | None] | None = None,
) -> Paths:
    return Paths(
        root=Path(root) if root else Path("/"),
        env=dict(environ),
        overrides={k: Path(v) for k, v in (overrides or {}).items() if v is not None},
    )
