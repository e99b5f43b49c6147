"""containerd: ``/etc/containerd/config.toml`` (or ``--containerd-config``) and the
registry host directories it points at.

The CRI plugin (what Kubernetes pulls through) reads per-registry
``<dir>/<host[:port]>/hosts.toml`` (then ``<dir>/_default/hosts.toml``) only from the
directories listed in ``config_path`` (``:``-separated; config version 2 is section
``plugins."io.containerd.grpc.v1.cri".registry``, version 3 (containerd 2.x)
``plugins."io.containerd.cri.v1.images".registry``). containerd 2.x defaults it to
``/etc/containerd/certs.d:/etc/docker/certs.d``; with a version 2 file and no
``config_path`` the directories are not read at all, and only the legacy
``registry.mirrors`` section counts. Both at once make the CRI plugin fail to load
(```mirrors` cannot be set when `config_path` is provided``).

In ``hosts.toml``, ``[host."URL"]`` tables are tried in file order, then ``server``
(default ``https://<host>``, ``https://registry-1.docker.io`` for docker.io). A host
without the ``pull``/``resolve`` capabilities is never used for pulls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from regdoctor.discovery import locations
from regdoctor.discovery.base import FileResult, Paths, parse_toml, read_text, where
from regdoctor.reference import dockerhub

SOURCE_CONFIG = "containerd_config"
SOURCE_HOSTS = "containerd_hosts"
CONFIG_EFFECT = "containerd (or its CRI plugin) does not start with this file"
HOSTS_EFFECT = "pulls of this registry fail while containerd cannot read its hosts.toml"
DEFAULT_DIRS = (locations.CONTAINERD_CERTS_D, locations.DOCKER_CERTS_D)
CRI_V2 = ("plugins", "io.containerd.grpc.v1.cri", "registry")
CRI_V3 = ("plugins", "io.containerd.cri.v1.images", "registry")
HOST_KEYS = frozenset(
    {"capabilities", "ca", "client", "skip_verify", "override_path", "header", "dial_timeout"}
)
TOP_KEYS = HOST_KEYS | {"server", "host"}
DEFAULT_CAPABILITIES = ("pull", "resolve", "push")


@dataclass(eq=False)
class HostEntry:
    """One ``[host."..."]`` table (or the top-level ``server``) of a hosts.toml."""

    url: str
    source: str
    scheme: str = "https"
    host: str = ""  # host[:port]
    path: str = ""
    capabilities: tuple[str, ...] = DEFAULT_CAPABILITIES
    ca: list[str] = field(default_factory=list)
    client: list[tuple[str, str | None]] = field(default_factory=list)
    skip_verify: bool = False
    override_path: bool = False
    is_server: bool = False

    @property
    def pulls(self) -> bool:
        return "pull" in self.capabilities or "resolve" in self.capabilities

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "source": self.source,
            "role": "upstream" if self.is_server else "mirror",
            "capabilities": list(self.capabilities),
            "ca": self.ca,
            "client": [list(pair) for pair in self.client],
            "skip_verify": self.skip_verify,
            "override_path": self.override_path,
        }


@dataclass(eq=False)
class HostsFile:
    """One hosts.toml: the registry its directory names, its mirrors and upstream."""

    file: FileResult
    registry: str  # the directory name: host[:port] or _default
    root: str  # the certs.d-style directory it sits in
    server: HostEntry | None = None
    hosts: list[HostEntry] = field(default_factory=list)
    read: bool = True  # containerd's CRI plugin reads this file
    unread_reason: str | None = None

    def endpoints(self) -> list[HostEntry]:
        return [*self.hosts, *([self.server] if self.server else [])]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.file.to_dict(),
            "registry": self.registry,
            "directory": self.root,
            "read_by_cri": self.read,
            "unread_reason": self.unread_reason,
            "endpoints": [e.to_dict() for e in self.endpoints()],
        }


@dataclass(eq=False)
class ContainerdConfig:
    """containerd's config.toml as far as pulls go, with the hosts.toml files found."""

    file: FileResult | None
    version: int | None = None
    config_path: list[str] = field(default_factory=list)  # as the machine names them
    config_path_source: str | None = None
    legacy_mirrors: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    legacy_tls: dict[str, dict[str, Any]] = field(default_factory=dict)
    legacy_auth_keys: list[tuple[str, str]] = field(default_factory=list)  # (registry, source)
    hosts_files: list[HostsFile] = field(default_factory=list)

    def hosts_for(self, registry: str) -> HostsFile | None:
        """The hosts.toml the CRI plugin uses for ``registry`` (first dir wins)."""
        for root in self.config_path:
            for name in (registry, "_default"):
                for hf in self.hosts_files:
                    if hf.read and hf.root == root and hf.registry == name:
                        return hf
        return None

    def registries(self) -> list[tuple[str, str]]:
        out = [
            (hf.registry, hf.file.file)
            for hf in self.hosts_files
            if hf.read and hf.registry != "_default"
        ]
        out.extend((name, src[0][1]) for name, src in self.legacy_mirrors.items() if src)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            **(self.file.to_dict() if self.file else {"file": None, "exists": False}),
            "version": self.version,
            "config_path": self.config_path,
            "config_path_source": self.config_path_source,
            "legacy_mirrors": {
                name: [{"endpoint": e, "source": s} for e, s in endpoints]
                for name, endpoints in self.legacy_mirrors.items()
            },
            "hosts_files": [hf.to_dict() for hf in self.hosts_files],
        }


def _dig(data: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def discover(paths: Paths) -> ContainerdConfig | None:
    path = paths.override("containerd_config") or paths.at(locations.CONTAINERD_CONFIG)
    config = load_config(path)
    if config.file is not None and not config.file.exists:
        config.file = None
    directories = list(dict.fromkeys([*config.config_path, *DEFAULT_DIRS]))
    for directory in directories:
        _scan(config, paths, directory)
    if config.file is None and not config.hosts_files:
        return None
    return config


def load_config(path: Path) -> ContainerdConfig:
    result = FileResult(path, SOURCE_CONFIG, "containerd", "toml", effect=CONFIG_EFFECT)
    config = ContainerdConfig(result)
    text = read_text(result)
    data = parse_toml(result, text) if text is not None else None
    if data is None:
        # Missing: containerd's built-in defaults (2.x reads both default dirs).
        if not result.exists:
            config.config_path = list(DEFAULT_DIRS)
            config.config_path_source = "containerd 2.x default"
        return config
    result.data = data
    version = data.get("version", 1)
    config.version = version if isinstance(version, int) and not isinstance(version, bool) else None
    if config.version is None:
        result.issue("must be a number (2 or 3)", key="version")
    section_keys = CRI_V3 if config.version == 3 else CRI_V2
    registry = _dig(data, section_keys)
    prefix = ".".join(f'"{k}"' if "." in k else k for k in section_keys)
    if registry is not None and not isinstance(registry, dict):
        result.issue("must be a table", key=prefix)
        registry = None
    registry = registry or {}
    raw_path = registry.get("config_path")
    if raw_path is not None and not isinstance(raw_path, str):
        result.issue("must be a string", key=f"{prefix}.config_path")
        raw_path = None
    if raw_path:
        config.config_path = [p for p in raw_path.split(":") if p]
        config.config_path_source = where(result, *section_keys, "config_path")
    elif raw_path is None and config.version == 3:
        config.config_path = list(DEFAULT_DIRS)
        config.config_path_source = "containerd 2.x default"
    mirrors = registry.get("mirrors")
    if mirrors is not None:
        if not isinstance(mirrors, dict):
            result.issue("must be a table", key=f"{prefix}.mirrors")
        else:
            for name, value in mirrors.items():
                endpoints = value.get("endpoint") if isinstance(value, dict) else None
                if not isinstance(endpoints, list) or not all(
                    isinstance(e, str) for e in endpoints
                ):
                    result.issue(
                        "endpoint must be a list of URLs", key=f'{prefix}.mirrors."{name}"'
                    )
                    continue
                config.legacy_mirrors[name] = [
                    (e, where(result, *section_keys, "mirrors", name, "endpoint", i))
                    for i, e in enumerate(endpoints)
                ]
    if raw_path and mirrors:
        result.issue(
            "`mirrors` cannot be set when `config_path` is provided: the CRI plugin fails to "
            "load (no pod can pull an image); move the mirrors to hosts.toml files",
            key=f"{prefix}.mirrors",
        )
    configs = registry.get("configs")
    if isinstance(configs, dict):
        for name, value in configs.items():
            if not isinstance(value, dict):
                continue
            tls = value.get("tls")
            if isinstance(tls, dict):
                config.legacy_tls[name] = tls
            auth = value.get("auth")
            if isinstance(auth, dict) and (auth.get("password") or auth.get("auth")):
                config.legacy_auth_keys.append(
                    (name, where(result, *section_keys, "configs", name, "auth"))
                )
        if raw_path and config.legacy_tls and config.version != 3:  # fatal in 1.6, 1.7
            result.issue(
                "`configs.tls` cannot be set when `config_path` is provided: the CRI plugin "
                "fails to load (no pod can pull an image); move ca_file, cert_file/key_file "
                "and insecure_skip_verify to hosts.toml ca, client and skip_verify",
                key=f"{prefix}.configs",
            )
        elif raw_path and configs:
            result.issue(
                "`configs` (tls, auth) are ignored for registries that have a hosts.toml "
                "when `config_path` is set; containerd logs a deprecation warning",
                key=f"{prefix}.configs",
                fatal=False,
            )
    return config


def _scan(config: ContainerdConfig, paths: Paths, directory: str) -> None:
    root = paths.at(directory)
    try:
        # a linked entry is followed inside --root, never to this host's directory
        entries = sorted(p for p in root.iterdir() if paths.within(p).is_dir())
    except OSError:
        return
    for entry in entries:
        hosts_path = entry / "hosts.toml"
        if not paths.within(hosts_path).is_file():
            continue
        hf = load_hosts(hosts_path, entry.name, directory, paths)
        if directory not in config.config_path:
            hf.read = False
            if not config.config_path:
                hf.unread_reason = "config_path_unset"
            else:
                hf.unread_reason = "not_in_config_path"
        elif "://" in entry.name or entry.name.startswith(("http:", "https:")):
            hf.read = False
            hf.unread_reason = "bad_directory_name"
        config.hosts_files.append(hf)


def default_server(registry: str) -> str:
    if registry == dockerhub.DOMAIN:
        return f"https://{dockerhub.API_HOST}"
    return f"https://{registry}"


def load_hosts(path: Path, registry: str, root: str, paths: Paths | None = None) -> HostsFile:
    result = FileResult(path, SOURCE_HOSTS, "containerd", "toml", effect=HOSTS_EFFECT)
    hf = HostsFile(result, registry, root)
    text = read_text(result)
    data = parse_toml(result, text) if text is not None else None
    if data is None:
        return hf
    result.data = data
    for key in data:
        if key not in TOP_KEYS:
            result.issue(
                f"unknown key {key!r} is ignored by containerd "
                f"(known: {', '.join(sorted(TOP_KEYS))})",
                key=key,
                fatal=False,
            )
    server = data.get("server")
    if server is not None and not isinstance(server, str):
        result.issue("must be a string", key="server")
        server = None
    if server is None and registry == "_default":
        server = None
    elif server is None:
        server = default_server(registry)
    if server:
        entry = _host_entry(result, server, data, ("server",), path.parent, paths, is_server=True)
        if entry is not None:
            hf.server = entry
    hosts = data.get("host")
    if hosts is not None:
        if not isinstance(hosts, dict):
            result.issue('must be a table of [host."URL"] tables', key="host")
        else:
            for url, table in hosts.items():
                if not isinstance(table, dict):
                    result.issue("must be a table", key=f'host."{url}"')
                    continue
                for key in table:
                    if key not in HOST_KEYS:
                        result.issue(
                            f"unknown key {key!r} is ignored by containerd "
                            f"(known: {', '.join(sorted(HOST_KEYS))})",
                            key=f'host."{url}".{key}',
                            fatal=False,
                        )
                entry = _host_entry(result, url, table, ("host", url), path.parent, paths)
                if entry is not None:
                    hf.hosts.append(entry)
    return hf


def _host_entry(
    result: FileResult,
    url: str,
    table: dict[str, Any],
    key: tuple[str, ...],
    directory: Path,
    paths: Paths | None,
    *,
    is_server: bool = False,
) -> HostEntry | None:
    label = ".".join(f'"{k}"' if ("." in k or ":" in k or "/" in k) else k for k in key)
    if "://" not in url:
        url = f"https://{url}"  # containerd defaults the scheme to https
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        result.issue(f"invalid URL {url!r}: {exc}", key=label)
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        result.issue(f"invalid URL {url!r}: needs http:// or https:// and a host", key=label)
        return None
    entry = HostEntry(
        url=url,
        source=where(result, *key),
        scheme=parts.scheme,
        host=parts.netloc.rsplit("@", 1)[-1].lower(),
        path=parts.path.rstrip("/"),
        is_server=is_server,
    )
    caps = table.get("capabilities")
    if caps is not None:
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            result.issue("must be a list of strings", key=f"{label}.capabilities")
        else:
            unknown = [c for c in caps if c not in DEFAULT_CAPABILITIES]
            if unknown:
                result.issue(
                    f"unknown capabilities {unknown} (known: pull, resolve, push)",
                    key=f"{label}.capabilities",
                    fatal=False,
                )
            entry.capabilities = tuple(caps)
    ca = table.get("ca")
    if ca is not None:
        cas = [ca] if isinstance(ca, str) else ca
        if not isinstance(cas, list) or not all(isinstance(c, str) for c in cas):
            result.issue("must be a path or a list of paths", key=f"{label}.ca")
        else:
            entry.ca = [_resolve_path(directory, c, paths) for c in cas]
    client = table.get("client")
    if client is not None:
        pairs = _client_pairs(client)
        if pairs is None:
            result.issue(
                'must be a path, a list of paths, or a list of ["cert", "key"] pairs',
                key=f"{label}.client",
            )
        else:
            entry.client = [
                (
                    _resolve_path(directory, c, paths),
                    _resolve_path(directory, k, paths) if k else None,
                )
                for c, k in pairs
            ]
    for flag in ("skip_verify", "override_path"):
        value = table.get(flag)
        if value is not None:
            if not isinstance(value, bool):
                result.issue("must be true or false", key=f"{label}.{flag}")
            else:
                setattr(entry, flag, value)
    return entry


def _client_pairs(value: Any) -> list[tuple[str, str | None]] | None:
    if isinstance(value, str):
        return [(value, None)]
    if not isinstance(value, list):
        return None
    pairs: list[tuple[str, str | None]] = []
    for item in value:
        if isinstance(item, str):
            pairs.append((item, None))
        elif (
            isinstance(item, list) and len(item) in (1, 2) and all(isinstance(x, str) for x in item)
        ):
            pairs.append((item[0], item[1] if len(item) == 2 else None))
        else:
            return None
    return pairs


def _resolve_path(directory: Path, value: str, paths: Paths | None) -> str:
    """A relative path in hosts.toml is relative to its directory; an absolute one is a
    path on the machine (below ``--root``)."""
    if value.startswith("/"):
        return str(paths.at(value)) if paths is not None else value
    return str(directory / value)
