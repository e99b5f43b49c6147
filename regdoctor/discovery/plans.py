"""What each runtime will really do for an image: the ordered endpoints a pull tries
(mirrors first, then the upstream, as that runtime does it) with their TLS, CA, client
certificate, proxy and credential settings, every value with the ``file#key`` it came
from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from regdoctor.discovery import containerd_hosts, docker_config, locations
from regdoctor.reference import dockerhub

if TYPE_CHECKING:
    from regdoctor.discovery.effective import Effective
    from regdoctor.model import CredentialRef

RUNTIMES = ("docker", "podman", "containerd", "kubernetes")
HUB = dockerhub.DOMAIN
HUB_HOSTS = docker_config.HUB_NAMES


@dataclass(eq=False)
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


@dataclass(eq=False)
class Plan:
    """The endpoints one runtime tries for one image, in order, with notes."""

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


def plan(effective: Effective, image: str, runtime: str) -> Plan:
    """The endpoints ``runtime`` tries for ``image`` (a registry or an image)."""
    from regdoctor.reference.targets import parse_target

    target = parse_target(image)
    registry, repository = target.registry, target.repository
    plan = Plan(runtime, image, registry)
    if runtime == "docker":
        _plan_docker(effective, plan, registry, repository)
    elif runtime == "podman":
        names = _podman_names(effective, plan, image, registry, repository)
        for host, path in names:
            _plan_podman(effective, plan, host, path, target.digest is not None)
    elif runtime == "containerd":
        _plan_containerd(effective, plan, registry, repository)
    elif runtime == "kubernetes":
        _plan_kubernetes(effective, plan, registry, repository, target.digest is not None)
    for endpoint in plan.endpoints:
        if endpoint.proxy is None and endpoint.proxy_source is None:
            endpoint.proxy, endpoint.proxy_source = effective._proxy(runtime, endpoint.url)
    return plan


def _certs_d(effective: Effective, directory: str, hostport: str) -> list[tuple[str, str]]:
    base = effective.paths.at(f"{directory}/{hostport}")
    try:  # a linked certificate is the one of the machine below --root, not this host's
        return [(str(p), str(p)) for p in sorted(map(effective.paths.within, base.glob("*.crt")))]
    except OSError:
        return []


def _client_d(
    effective: Effective, directory: str, hostport: str
) -> tuple[str, str | None, str] | None:
    base = effective.paths.at(f"{directory}/{hostport}")
    try:
        for found in sorted(base.glob("*.cert")):
            cert = effective.paths.within(found)
            key = effective.paths.within(found.with_suffix(".key"))
            if key.exists():
                return str(cert), str(key), str(cert)
    except OSError:
        pass
    return None


def _plan_docker(effective: Effective, plan: Plan, registry: str, repository: str | None) -> None:
    daemon = effective.daemon_config
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
        endpoint.ca_files = _certs_d(effective, locations.DOCKER_CERTS_D, endpoint.hostport)
        endpoint.client_cert = _client_d(effective, locations.DOCKER_CERTS_D, endpoint.hostport)
        endpoint.credential = effective.credential_for("docker", registry, repository)


def _podman_names(
    effective, plan: Plan, image: str, registry: str, repository: str | None
) -> list[tuple[str, str | None]]:
    """The (registry, repository) pairs podman pulls ``image`` from: a short name goes
    to its alias, else to each unqualified-search registry in order, never to docker.io
    by itself (containers/image v5.23.1 pkg/shortnames Resolve); it may stop there."""
    from regdoctor.runtime import resolve_short_name, split_reference

    conf = effective.containers
    text = image.strip()
    if conf is None or not repository or "://" in text or split_reference(text).qualified:
        return [(registry, repository)]
    resolved = resolve_short_name(text, conf.short_name_settings())
    if resolved.via == "alias":
        plan.notes.append(
            f"short name: alias {resolved.name!r} = {resolved.candidates[0]!r} "
            f"({conf.aliases[resolved.name][1]})"
        )
    else:
        where = f" ({conf.unqualified_source})" if conf.unqualified_source else ""
        plan.notes.append(
            "short name: unqualified-search-registries "
            f"{', '.join(conf.unqualified_search) or '(none)'}{where}, "
            f"short-name-mode {resolved.mode}"
        )
    if resolved.error:
        plan.notes.append(f"podman refuses before any request: {resolved.error}")
        if resolved.candidates:
            plan.notes.append("(in a terminal podman asks which search registry to use)")
        return []
    out: list[tuple[str, str | None]] = []
    for candidate in resolved.candidates:
        ref = split_reference(candidate)
        out.append((ref.domain, ref.path))
    return out


def _plan_podman(
    effective, plan: Plan, registry: str, repository: str | None, by_digest: bool
) -> None:
    conf = effective.containers
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
        if table.prefix.startswith("*.") and location == table.prefix:
            # a wildcard prefix without a location: the image's own host
            location = registry
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
        endpoint.ca_files = _certs_d(effective, locations.CONTAINERS_CERTS_D, hostport) + _certs_d(
            effective, locations.DOCKER_CERTS_D, hostport
        )
        endpoint.client_cert = _client_d(
            effective, locations.CONTAINERS_CERTS_D, hostport
        ) or _client_d(effective, locations.DOCKER_CERTS_D, hostport)
        endpoint.credential = effective.credential_for("podman", registry, repository)


def _plan_containerd(
    effective: Effective, plan: Plan, registry: str, repository: str | None
) -> None:
    cfg = effective.containerd
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
        endpoint.credential = effective.credential_for("containerd", registry, repository)


def _plan_kubernetes(
    effective, plan: Plan, registry: str, repository: str | None, by_digest: bool
) -> None:
    runtime = effective.kubelet.runtime if effective.kubelet is not None else None
    if runtime == "crio":
        _plan_podman(effective, plan, registry, repository, by_digest)
        plan.notes.append("kubelet runtime: CRI-O (registries.conf applies)")
    else:
        _plan_containerd(effective, plan, registry, repository)
        plan.notes.append(
            "kubelet runtime: containerd"
            + ("" if runtime else " (assumed: no kubelet config found)")
        )
    for endpoint in plan.endpoints:
        endpoint.credential = None  # the kubelet uses pull secrets, not config.json
    if effective.kube is not None:
        secrets = sorted({c.secret for c in effective.kube.checks if c.registry == registry})
        if secrets:
            plan.notes.append(f"imagePullSecrets for {registry}: {', '.join(secrets)}")
    if effective.kubelet is not None:
        plan.notes.append(
            f"pull concurrency per node: {effective.kubelet.pull_concurrency or 'unlimited'}"
        )


def hostport_pair(url: str) -> tuple[str, int]:
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
