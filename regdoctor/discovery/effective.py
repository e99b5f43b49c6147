"""The effective configuration: every source read together, and what each runtime will
really do for a registry.

:func:`discover` reads the sources (each its own module). :meth:`Effective.plan` gives,
per runtime, the ordered endpoints a pull of an image tries (mirrors first, then the
upstream, as that runtime does it) with their TLS, CA, client certificate, proxy and
credential settings, every value with the ``file#key`` it came from.
:meth:`Effective.check_targets` turns the registries and mirrors found into
:class:`~regdoctor.model.Target` records for ``regdoctor check``;
:meth:`Effective.observations` turns what was read into ``config.*`` observations for the
rules (a parse error, an unused mirror, a missing credential helper).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from regdoctor.discovery import (
    containerd_hosts,
    credentials,
    docker_config,
    docker_daemon,
    env,
    kube,
    kubelet,
    registries_conf,
)
from regdoctor.discovery.base import FileResult, Paths
from regdoctor.model import CredentialRef, Observation, Target
from regdoctor.reference import dockerhub

RUNTIMES = ("docker", "podman", "containerd", "kubernetes")
HUB = dockerhub.DOMAIN
HUB_HOSTS = docker_config.HUB_NAMES


@dataclass
class PlanEndpoint:
    """One endpoint a runtime tries for an image, with where every setting came from."""

    url: str
    role: str  # mirror, upstream
    source: str
    insecure: bool = False
    insecure_source: str | None = None
    skip_verify: bool = False
    ca_files: list[tuple[str, str]] = field(default_factory=list)  # (path, source)
    client_cert: tuple[str, str | None, str] | None = None  # (cert, key, source)
    proxy: str | None = None
    proxy_source: str | None = None
    credential: CredentialRef | None = None
    used: bool = True
    note: str | None = None

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme or "https"

    @property
    def hostport(self) -> str:
        parts = urlsplit(self.url)
        return parts.netloc.rsplit("@", 1)[-1].lower()

    @property
    def tls_verify(self) -> bool | None:
        if self.scheme == "http":
            return None
        return not (self.insecure or self.skip_verify)

    def to_dict(self) -> dict[str, Any]:
        from regdoctor.redact.secrets import redact

        return {
            "url": self.url,
            "role": self.role,
            "source": self.source,
            "scheme": self.scheme,
            "tls_verify": self.tls_verify,
            "insecure": self.insecure,
            "insecure_source": self.insecure_source,
            "ca_files": [{"path": p, "source": s} for p, s in self.ca_files],
            "client_cert": (
                {
                    "cert": self.client_cert[0],
                    "key": self.client_cert[1],
                    "source": self.client_cert[2],
                }
                if self.client_cert
                else None
            ),
            "proxy": redact(self.proxy) if self.proxy else None,
            "proxy_source": self.proxy_source,
            "credential": self.credential.to_dict() if self.credential else None,
            "used": self.used,
            "note": self.note,
        }


@dataclass
class Plan:
    runtime: str
    image: str
    registry: str
    endpoints: list[PlanEndpoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "image": self.image,
            "registry": self.registry,
            "endpoints": [e.to_dict() for e in self.endpoints],
            "notes": self.notes,
        }


@dataclass
class Effective:
    paths: Paths
    runtimes: tuple[str, ...] = RUNTIMES
    daemon: list[docker_daemon.DaemonConfig] = field(default_factory=list)
    client: docker_config.ClientConfig | None = None
    containers: registries_conf.RegistriesConf | None = None
    containerd: containerd_hosts.ContainerdConfig | None = None
    kube: kube.KubeManifests | None = None
    kubelet: kubelet.KubeletConfig | None = None
    environment: env.Environment | None = None

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
        return out

    @property
    def empty(self) -> bool:
        return not self.files()

    # ------------------------------------------------------------------ credentials

    def credential_for(
        self, runtime: str, registry: str, repository: str | None = None
    ) -> CredentialRef | None:
        if runtime in ("podman",) and self.containers is not None:
            for auth in self.containers.auth_files:
                ref = auth.lookup(registry, repository)
                if ref is not None:
                    return ref
        if self.client is not None and self.client.file.parsed:
            return self.client.lookup(registry, repository)
        return None

    # ------------------------------------------------------------------ proxies

    def _proxy(self, runtime: str, url: str) -> tuple[str | None, str | None]:
        daemon = self.daemon_config
        if runtime == "docker" and daemon is not None and daemon.proxies:
            envmap = {
                "HTTPS_PROXY": daemon.proxies.get("https-proxy", ("", ""))[0],
                "HTTP_PROXY": daemon.proxies.get("http-proxy", ("", ""))[0],
                "NO_PROXY": daemon.proxies.get("no-proxy", ("", ""))[0],
            }
            choice = env.ProxyEnv.from_env(envmap).choose(url)
            key = {"HTTPS_PROXY": "https-proxy", "HTTP_PROXY": "http-proxy"}.get(
                choice.variable or "", "no-proxy"
            )
            source = daemon.proxies.get(key, (None, None))[1]
            return choice.proxy, source if choice.reason in ("proxied", "no_proxy") else None
        if self.environment is None:
            return None, None
        choice = self.environment.proxy.choose(url)
        if choice.reason == "proxied":
            return choice.proxy, f"environment ${choice.variable}"
        if choice.reason == "no_proxy":
            return None, f"environment ${choice.variable}"
        return None, None

    # ------------------------------------------------------------------ plans

    def plan(self, image: str, runtime: str) -> Plan:
        """The endpoints ``runtime`` tries for ``image`` (a registry or an image)."""
        from regdoctor.reference.targets import parse_target

        target = parse_target(image)
        registry, repository = target.registry, target.repository
        plan = Plan(runtime, image, registry)
        if runtime == "docker":
            self._plan_docker(plan, registry, repository)
        elif runtime == "podman":
            self._plan_podman(plan, registry, repository, target.digest is not None)
        elif runtime == "containerd":
            self._plan_containerd(plan, registry, repository)
        elif runtime == "kubernetes":
            self._plan_kubernetes(plan, registry, repository, target.digest is not None)
        for endpoint in plan.endpoints:
            if endpoint.proxy is None and endpoint.proxy_source is None:
                endpoint.proxy, endpoint.proxy_source = self._proxy(runtime, endpoint.url)
        return plan

    def _certs_d(self, directory: str, hostport: str) -> list[tuple[str, str]]:
        base = self.paths.at(directory) / hostport
        try:
            return [(str(p), str(p)) for p in sorted(base.glob("*.crt"))]
        except OSError:
            return []

    def _client_d(self, directory: str, hostport: str) -> tuple[str, str | None, str] | None:
        base = self.paths.at(directory) / hostport
        try:
            for cert in sorted(base.glob("*.cert")):
                key = cert.with_suffix(".key")
                if key.exists():
                    return str(cert), str(key), str(cert)
        except OSError:
            pass
        return None

    def _plan_docker(self, plan: Plan, registry: str, repository: str | None) -> None:
        daemon = self.daemon_config
        mirrors = daemon.mirrors if daemon is not None else []
        if registry == HUB:
            for mirror in mirrors:
                endpoint = PlanEndpoint(
                    f"{mirror.scheme}://{mirror.host}{mirror.path}", "mirror", mirror.source
                )
                if mirror.path:
                    endpoint.note = "a mirror with a path: Docker sends requests to <path>/v2/"
                plan.endpoints.append(endpoint)
            upstream = PlanEndpoint(f"https://{dockerhub.API_HOST}", "upstream", "docker default")
        else:
            if mirrors:
                plan.notes.append(
                    "registry-mirrors apply to Docker Hub images only; "
                    f"{registry} is always pulled from itself"
                )
            upstream = PlanEndpoint(f"https://{registry}", "upstream", "the image name")
        plan.endpoints.append(upstream)
        for endpoint in plan.endpoints:
            host = urlsplit(endpoint.url).hostname or ""
            if daemon is not None:
                insecure, source = daemon.is_insecure(endpoint.hostport, host)
                if insecure and source and not source.startswith("docker default"):
                    endpoint.insecure, endpoint.insecure_source = True, source
                elif insecure:
                    endpoint.note = "loopback: Docker allows plain HTTP and skips verification"
            endpoint.ca_files = self._certs_d("/etc/docker/certs.d", endpoint.hostport)
            endpoint.client_cert = self._client_d("/etc/docker/certs.d", endpoint.hostport)
            endpoint.credential = self.credential_for("docker", registry, repository)

    def _plan_podman(
        self, plan: Plan, registry: str, repository: str | None, by_digest: bool
    ) -> None:
        conf = self.containers
        name = f"{registry}/{repository}" if repository else registry
        table = conf.table_for(name) if conf is not None else None
        location = registry
        if table is not None:
            plan.notes.append(f"[[registry]] prefix {table.prefix!r} ({table.source})")
            if table.blocked:
                plan.notes.append(f"blocked = true: podman refuses to pull {name}")
            for mirror in table.mirrors:
                endpoint = PlanEndpoint(
                    f"https://{mirror.location}", "mirror", mirror.source, insecure=mirror.insecure
                )
                if mirror.insecure:
                    endpoint.insecure_source = mirror.source
                if mirror.pull_from_mirror == "digest-only" and not by_digest:
                    endpoint.used, endpoint.note = False, "digest-only mirror: not used for tags"
                if mirror.pull_from_mirror == "tag-only" and by_digest:
                    endpoint.used, endpoint.note = False, "tag-only mirror: not used for digests"
                plan.endpoints.append(endpoint)
            location = table.location.rstrip("/")
            if location == HUB or location.startswith(HUB + "/"):
                # containers/image dials Docker Hub at registry-1.docker.io
                location = dockerhub.API_HOST + location[len(HUB) :]
            upstream = PlanEndpoint(
                f"https://{location}", "upstream", table.source, insecure=table.insecure
            )
            if table.insecure:
                upstream.insecure_source = table.source
            upstream.used = not table.blocked
        else:
            host = dockerhub.API_HOST if registry == HUB else registry
            upstream = PlanEndpoint(f"https://{host}", "upstream", "the image name")
        plan.endpoints.append(upstream)
        for endpoint in plan.endpoints:
            hostport = endpoint.hostport.split("/", 1)[0]
            endpoint.ca_files = self._certs_d("/etc/containers/certs.d", hostport) + self._certs_d(
                "/etc/docker/certs.d", hostport
            )
            endpoint.client_cert = self._client_d(
                "/etc/containers/certs.d", hostport
            ) or self._client_d("/etc/docker/certs.d", hostport)
            endpoint.credential = self.credential_for("podman", registry, repository)

    def _plan_containerd(self, plan: Plan, registry: str, repository: str | None) -> None:
        cfg = self.containerd
        hosts = cfg.hosts_for(registry) if cfg is not None else None
        if hosts is not None:
            plan.notes.append(f"hosts file: {hosts.file.file}")
            for entry in hosts.endpoints():
                endpoint = PlanEndpoint(
                    entry.url,
                    "upstream" if entry.is_server else "mirror",
                    entry.source,
                    skip_verify=entry.skip_verify,
                    used=entry.pulls,
                )
                if entry.skip_verify:
                    endpoint.insecure_source = f"{entry.source}.skip_verify"
                if not entry.pulls:
                    endpoint.note = f"capabilities {list(entry.capabilities)} lack pull/resolve"
                endpoint.ca_files = [(ca, f"{entry.source}.ca") for ca in entry.ca]
                if entry.client:
                    cert, key = entry.client[0]
                    endpoint.client_cert = (cert, key, f"{entry.source}.client")
                plan.endpoints.append(endpoint)
            if hosts.server is None:
                plan.endpoints.append(
                    PlanEndpoint(
                        containerd_hosts.default_server(registry), "upstream", "containerd default"
                    )
                )
        else:
            legacy = cfg.legacy_mirrors.get(registry, []) if cfg is not None else []
            for url, source in legacy:
                role = "upstream" if _same_host(url, registry) else "mirror"
                plan.endpoints.append(PlanEndpoint(url, role, source))
            if not any(e.role == "upstream" for e in plan.endpoints):
                plan.endpoints.append(
                    PlanEndpoint(
                        containerd_hosts.default_server(registry), "upstream", "containerd default"
                    )
                )
            if cfg is not None and cfg.config_path:
                plan.notes.append(
                    f"no hosts.toml for {registry} in config_path {':'.join(cfg.config_path)}"
                )
        for endpoint in plan.endpoints:
            endpoint.credential = self.credential_for("containerd", registry, repository)

    def _plan_kubernetes(
        self, plan: Plan, registry: str, repository: str | None, by_digest: bool
    ) -> None:
        runtime = self.kubelet.runtime if self.kubelet is not None else None
        if runtime == "crio":
            self._plan_podman(plan, registry, repository, by_digest)
            plan.notes.append("kubelet runtime: CRI-O (registries.conf applies)")
        else:
            self._plan_containerd(plan, registry, repository)
            plan.notes.append(
                "kubelet runtime: containerd"
                + ("" if runtime else " (assumed: no kubelet config found)")
            )
        for endpoint in plan.endpoints:
            endpoint.credential = None  # the kubelet uses pull secrets, not config.json
        if self.kube is not None:
            secrets = sorted({c.secret for c in self.kube.checks if c.registry == registry})
            if secrets:
                plan.notes.append(f"imagePullSecrets for {registry}: {', '.join(secrets)}")
        if self.kubelet is not None:
            plan.notes.append(
                f"pull concurrency per node: {self.kubelet.pull_concurrency or 'unlimited'}"
            )

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
            if self.client is not None:
                out.extend(("docker", r, s) for r, s in self.client.registries())
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
            for workload in self.kube.workloads:
                for image in workload.images:
                    out.append(("kubernetes", kube.normalize_image(image)[0], workload.source))
        return out

    def check_targets(self) -> list[Target]:
        """Every registry and mirror found, as check targets (deduplicated by endpoint)."""
        targets: dict[str, Target] = {}
        for runtime, registry, source in self.registries():
            try:
                plan = self.plan(registry, "containerd" if runtime == "kubernetes" else runtime)
            except ValueError:
                continue
            for endpoint in plan.endpoints:
                if not endpoint.used and endpoint.role == "mirror":
                    continue
                if source == "mirrors-only" and endpoint.role == "upstream":
                    continue  # Docker Hub only when named explicitly
                target = self._endpoint_target(endpoint, runtime, registry)
                if target is None:
                    continue
                if runtime == "kubernetes" and endpoint.role == "upstream":
                    target = self._with_pull_secret(target, registry)
                key = f"{target.host}:{target.port}"
                if key not in targets or (target.credential and not targets[key].credential):
                    targets[key] = target
        return list(targets.values())

    def _with_pull_secret(self, target: Target, registry: str) -> Target:
        """The kubelet authenticates with the workloads' pull secrets: the first entry
        that matches an image of ``registry`` (what a pull of that image would send)."""
        if self.kube is None:
            return target
        for check in self.kube.checks:
            if check.registry != registry:
                continue
            ref = kube.credential_ref(check, self.kube.secrets)
            if ref is not None:
                provenance = (*target.provenance, ("credential", ref.source))
                return replace(target, credential=ref, provenance=provenance)
        return target

    def _endpoint_target(
        self, endpoint: PlanEndpoint, runtime: str, registry: str
    ) -> Target | None:
        from regdoctor.reference.targets import InvalidReference, parse_target

        parts = urlsplit(endpoint.url)
        explicit_scheme = runtime in ("containerd", "kubernetes") or (
            endpoint.role == "mirror" and runtime == "docker"
        )
        raw = f"{parts.scheme}://{endpoint.hostport}" if explicit_scheme else endpoint.hostport
        try:
            target = parse_target(raw, insecure=endpoint.insecure or endpoint.skip_verify)
        except (InvalidReference, ValueError):
            return None
        provenance = [("endpoint", endpoint.source)]
        if endpoint.insecure_source:
            provenance.append(("insecure", endpoint.insecure_source))
        provenance.extend(("ca_file", s) for _p, s in endpoint.ca_files)
        if endpoint.client_cert:
            provenance.append(("client_cert", endpoint.client_cert[2]))
        if endpoint.credential:
            provenance.append(("credential", endpoint.credential.source))
        ca_files = tuple(
            p
            for p, s in endpoint.ca_files
            if not s.startswith(str(self.paths.at("/etc/docker/certs.d")))
        )
        return replace(
            target,
            source=endpoint.source,
            runtime=runtime,
            mirror_of=registry if endpoint.role == "mirror" else None,
            ca_files=ca_files,
            client_cert=endpoint.client_cert[0] if endpoint.client_cert else None,
            client_key=endpoint.client_cert[1] if endpoint.client_cert else None,
            credential=endpoint.credential,
            provenance=tuple(provenance),
        )

    def apply(self, target: Target) -> Target:
        """A command-line target with the settings the configuration gives it (the
        first runtime that knows the endpoint; flags given on the command line win)."""
        if target.kind != "registry":
            return target
        wanted = (target.host.lower(), target.port)
        for runtime in self.runtimes:
            name = "containerd" if runtime == "kubernetes" else runtime
            try:
                plan = self.plan(target.registry, name)
            except ValueError:
                continue
            for endpoint in plan.endpoints:
                if _hostport_pair(endpoint.url) != wanted:
                    continue
                settings = self._endpoint_target(endpoint, runtime, target.registry)
                if settings is None:
                    continue
                credential = self.credential_for(name, target.registry, target.repository)
                if not (
                    settings.insecure
                    or settings.ca_files
                    or settings.client_cert
                    or credential is not None
                ):
                    continue  # nothing configured for it: the defaults, as before
                return replace(
                    target,
                    insecure=target.insecure or settings.insecure,
                    runtime=runtime,
                    ca_files=settings.ca_files,
                    client_cert=settings.client_cert,
                    client_key=settings.client_key,
                    credential=credential,
                    provenance=settings.provenance,
                )
        return target

    # ------------------------------------------------------------------ observations

    def observations(self) -> list[tuple[Target, list[Observation]]]:
        """Configuration files (and Kubernetes workloads) as targets of their own, each
        with the ``config.*`` observations the rules judge."""
        out: list[tuple[Target, list[Observation]]] = []
        for result in self.files():
            if not result.exists:
                continue
            target = config_target(result.file, result.runtime)
            obs = [_file_observation(target, result)]
            obs.extend(self._file_details(target, result))
            out.append((target, obs))
        if self.kube is not None:
            by_workload: dict[str, list[kube.PullCheck]] = {}
            for check in self.kube.checks:
                by_workload.setdefault(check.workload, []).append(check)
            for workload, checks in by_workload.items():
                target = config_target(workload, "kubernetes", source=checks[0].source)
                out.append(
                    (
                        target,
                        [
                            _observe(
                                target,
                                "kube.pull_secret",
                                check.problem is None,
                                check.facts(),
                                source=check.source,
                            )
                            for check in checks
                        ],
                    )
                )
        return out

    def _file_details(self, target: Target, result: FileResult) -> list[Observation]:
        obs: list[Observation] = []
        daemon = next((d for d in self.daemon if d.file is result), None)
        if daemon is not None:
            obs.extend(_daemon_observations(target, daemon))
        client = None
        if self.client is not None and self.client.file is result:
            client = self.client
        elif self.containers is not None:
            client = next((a for a in self.containers.auth_files if a.file is result), None)
        if client is not None:
            obs.extend(_client_observations(target, client, self.paths))
        if self.containerd is not None:
            if self.containerd.file is result:
                obs.extend(_containerd_observations(target, self.containerd))
            hosts = next((h for h in self.containerd.hosts_files if h.file is result), None)
            if hosts is not None:
                obs.extend(_hosts_observations(target, hosts))
        if self.kubelet is not None and self.kubelet.file is result and result.parsed:
            facts = self.kubelet.to_dict()
            obs.append(
                _observe(
                    target,
                    "config.kubelet",
                    True,
                    {
                        "file": result.file,
                        "serialize_image_pulls": facts["serializeImagePulls"],
                        "max_parallel_image_pulls": facts["maxParallelImagePulls"],
                        "pull_concurrency": facts["pull_concurrency"],
                        "runtime": facts["runtime"],
                        "image_service_endpoint": facts["imageServiceEndpoint"]
                        or facts["containerRuntimeEndpoint"],
                        "credential_provider_config": facts["credential_provider_config"],
                    },
                )
            )
        return obs

    def endpoint_observation(self, target: Target) -> Observation | None:
        """``config.endpoint``: the settings a target got from the configuration."""
        if target.runtime is None and target.credential is None and not target.provenance:
            return None
        return _observe(
            target,
            "config.endpoint",
            True,
            {
                "runtime": target.runtime,
                "registry": target.registry,
                "role": "mirror" if target.mirror_of else "registry",
                "mirror_of": target.mirror_of,
                "insecure": target.insecure,
                "ca_files": list(target.ca_files),
                "client_cert": target.client_cert,
                "credential_source": target.credential.source if target.credential else None,
                "sources": [f"{k}: {v}" for k, v in target.provenance],
            },
            source=target.source,
        )

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


def _hostport_pair(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "").lower(), port or (80 if parts.scheme == "http" else 443)


def _same_host(url: str, registry: str) -> bool:
    host = urlsplit(url if "://" in url else f"https://{url}").netloc.lower()
    if registry == HUB:
        return host in HUB_HOSTS
    return host == registry.lower()


def config_target(name: str, runtime: str | None, *, source: str | None = None) -> Target:
    """A configuration file (or a Kubernetes workload) as a target judged alone."""
    return Target(
        raw=name,
        registry=name,
        host="",
        port=0,
        kind="config",
        runtime=runtime,
        source=source or name,
    )


def _observe(
    target: Target,
    kind: str,
    ok: bool,
    facts: Mapping[str, Any],
    *,
    error: str | None = None,
    source: str | None = None,
) -> Observation:
    from regdoctor.redact.secrets import redact

    return Observation(
        kind=kind,
        target=target.id,
        ok=ok,
        phase="config",
        facts=dict(facts),
        error=redact(error) if error else None,
        source=source,
    )


def _file_observation(target: Target, result: FileResult) -> Observation:
    errors = [i for i in result.issues if i.fatal]
    warnings = [i for i in result.issues if not i.fatal]
    first = (errors or warnings)[0] if (errors or warnings) else None
    return _observe(
        target,
        "config.file",
        not errors,
        {
            "file": result.file,
            "source": result.source,
            "runtime": result.runtime,
            "format": result.format,
            "parsed": result.parsed,
            "errors": len(errors),
            "warnings": len(warnings),
            "issues": [i.located() for i in (*errors, *warnings)][:20],
            "line": first.line if first else None,
            "column": first.column if first else None,
            "effect": result.effect,
        },
        error=first.located() if first else None,
        source=result.file,
    )


def _daemon_observations(target: Target, daemon: docker_daemon.DaemonConfig) -> list[Observation]:
    obs = []
    for mirror in daemon.mirrors:
        obs.append(
            _observe(
                target,
                "config.mirror",
                not mirror.path,
                {
                    "runtime": "docker",
                    "mirror": mirror.url,
                    "mirror_of": HUB,
                    "file": daemon.file.file,
                    "key": f"registry-mirrors[{mirror.index}]",
                    "used": not mirror.path,
                    "unused_reason": "path" if mirror.path else None,
                    "path": mirror.path or None,
                },
                source=mirror.source,
            )
        )
    for entry in daemon.insecure:
        if not (entry.scheme or entry.path or entry.fatal):
            continue
        obs.append(
            _observe(
                target,
                "config.insecure_registry",
                False,
                {
                    "runtime": "docker",
                    "entry": entry.entry,
                    "file": daemon.file.file,
                    "key": f"insecure-registries[{entry.index}]",
                    "scheme": entry.scheme,
                    "path": entry.path or None,
                    "effective": entry.host or None,
                    "fatal": entry.fatal,
                },
                source=entry.source,
            )
        )
    return obs


def _client_observations(
    target: Target, client: docker_config.ClientConfig, paths: Paths
) -> list[Observation]:
    obs = []
    helpers: list[tuple[str, str, str]] = []
    if client.creds_store:
        helpers.append((client.creds_store, "credsStore", "store"))
    for key, name in client.cred_helpers.items():
        helpers.append((name, f'credHelpers["{key}"]', "helper"))
    seen: set[tuple[str, str]] = set()
    for name, key, role in helpers:
        if (name, role) in seen:
            continue
        seen.add((name, role))
        found = credentials.find_helper(name, paths.env)
        obs.append(
            _observe(
                target,
                "config.credential_helper",
                found is not None,
                {
                    "helper": name,
                    "binary": credentials.helper_binary(name),
                    "found": found is not None,
                    "path": found,
                    "role": role,
                    "file": client.file.file,
                    "key": key,
                    "desktop": name in credentials.DESKTOP_HELPERS,
                },
                error=None if found else _not_found(credentials.helper_binary(name)),
                source=f"{client.file.file}#{key}",
            )
        )
    plaintext = [k for k, e in client.auths.items() if e.plaintext]
    obs.append(
        _observe(
            target,
            "config.auths",
            not plaintext,
            {
                "file": client.file.file,
                "kind": client.kind,
                "entries": len(client.auths),
                "plaintext_keys": plaintext,
                "plaintext_count": len(plaintext),
                "store": client.creds_store,
            },
            source=client.file.file,
        )
    )
    return obs


def _not_found(binary: str) -> str:
    return f'exec: "{binary}": executable file not found in $PATH'


def _containerd_observations(
    target: Target, cfg: containerd_hosts.ContainerdConfig
) -> list[Observation]:
    obs = []
    assert cfg.file is not None
    for registry, endpoints in cfg.legacy_mirrors.items():
        for url, source in endpoints:
            shadowed = bool(cfg.config_path) and cfg.config_path_source != "containerd 2.x default"
            obs.append(
                _observe(
                    target,
                    "config.mirror",
                    not shadowed,
                    {
                        "runtime": "containerd",
                        "mirror": url,
                        "mirror_of": registry,
                        "file": cfg.file.file,
                        "key": source.split("#", 1)[-1],
                        "used": not shadowed,
                        "unused_reason": "config_path_set" if shadowed else None,
                        "path": None,
                    },
                    source=source,
                )
            )
    if cfg.legacy_auth_keys:
        obs.append(
            _observe(
                target,
                "config.auths",
                False,
                {
                    "file": cfg.file.file,
                    "kind": "containerd",
                    "entries": len(cfg.legacy_auth_keys),
                    "plaintext_keys": [r for r, _s in cfg.legacy_auth_keys],
                    "plaintext_count": len(cfg.legacy_auth_keys),
                    "store": None,
                },
                source=cfg.file.file,
            )
        )
    return obs


def _hosts_observations(target: Target, hosts: containerd_hosts.HostsFile) -> list[Observation]:
    obs = []
    for entry in hosts.hosts:
        reason = None if hosts.read else hosts.unread_reason
        if reason is None and not entry.pulls:
            reason = "capabilities"
        obs.append(
            _observe(
                target,
                "config.mirror",
                reason is None,
                {
                    "runtime": "containerd",
                    "mirror": entry.url,
                    "mirror_of": hosts.registry,
                    "file": hosts.file.file,
                    "key": entry.source.split("#", 1)[-1],
                    "used": reason is None,
                    "unused_reason": reason,
                    "path": entry.path or None,
                    "directory": hosts.root,
                    "capabilities": list(entry.capabilities),
                },
                source=entry.source,
            )
        )
    return obs


def discover(
    paths: Paths | None = None,
    *,
    runtimes: Sequence[str] = RUNTIMES,
    kube_inputs: Sequence[str] = (),
    stdin: Any = None,
) -> Effective:
    """Read every source. Never raises: problems become issues of the files."""
    paths = paths or Paths()
    chosen = tuple(r for r in RUNTIMES if r in runtimes)
    eff = Effective(paths, chosen)
    eff.environment = env.discover(paths.env)
    if "docker" in chosen or "podman" in chosen or "containerd" in chosen:
        eff.client = docker_config.discover(paths)
    if "docker" in chosen:
        eff.daemon = docker_daemon.discover(paths)
    if "podman" in chosen or "kubernetes" in chosen:
        eff.containers = registries_conf.discover(paths)
    if "containerd" in chosen or "kubernetes" in chosen:
        eff.containerd = containerd_hosts.discover(paths)
    if "kubernetes" in chosen:
        eff.kubelet = kubelet.discover(paths)
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
