"""Docker daemon: ``/etc/docker/daemon.json`` (rootful), ``$XDG_CONFIG_HOME/docker/
daemon.json`` (rootless), or ``--daemon-config PATH``.

What a pull depends on: ``registry-mirrors`` (used for Docker Hub images only),
``insecure-registries`` (``host:port`` or a CIDR; loopback is always insecure),
``proxies``, ``max-concurrent-downloads`` and ``dns``. A file dockerd cannot parse
stops it from starting (``unable to configure the Docker daemon with file ...``), so a
parse error is reported with line and column.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from regdoctor.discovery import locations
from regdoctor.discovery.base import (
    FileResult,
    Paths,
    expect_type,
    read_json_object,
    where,
)

SOURCE = "docker_daemon"
EFFECT = "dockerd refuses to start with this file"


@dataclass(frozen=True, eq=False)
class Mirror:
    """One ``registry-mirrors`` entry of daemon.json, as dockerd would validate it."""

    url: str
    index: int
    source: str
    host: str = ""  # host[:port]
    scheme: str = "https"
    path: str = ""  # a path after the host ("/v2", "/nexus/repository/docker")
    valid: bool = True


@dataclass(frozen=True, eq=False)
class InsecureEntry:
    """One ``insecure-registries`` entry of daemon.json (a host or a CIDR)."""

    entry: str
    index: int
    source: str
    host: str = ""  # what Docker compares with (scheme stripped)
    network: Any = None  # ipaddress network for CIDR entries
    scheme: str | None = None
    path: str = ""
    fatal: bool = False


@dataclass(eq=False)
class DaemonConfig:
    """dockerd's daemon.json as far as pulls go: mirrors, insecure registries, proxies."""

    file: FileResult
    mirrors: list[Mirror] = field(default_factory=list)
    insecure: list[InsecureEntry] = field(default_factory=list)
    proxies: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (value, source)
    max_concurrent_downloads: int | None = None
    dns: list[str] = field(default_factory=list)
    rootless: bool = False

    def is_insecure(self, hostport: str, host: str) -> tuple[bool, str | None]:
        """Whether Docker treats ``hostport`` as insecure, and which entry says so."""
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            ip = None
        for entry in self.insecure:
            if entry.network is not None:
                if ip is not None and ip in entry.network:
                    return True, entry.source
            elif entry.host and entry.host.lower() == hostport.lower() and not entry.path:
                return True, entry.source
        if ip is not None and ip.is_loopback:
            return True, "docker default: 127.0.0.0/8 is insecure"
        return False, None

    def to_dict(self) -> dict[str, Any]:
        from regdoctor.redact.secrets import redact

        return {
            **self.file.to_dict(),
            "rootless": self.rootless,
            "registry_mirrors": [{"url": m.url, "source": m.source} for m in self.mirrors],
            "insecure_registries": [
                {"entry": e.entry, "effective": e.host, "source": e.source} for e in self.insecure
            ],
            "proxies": {k: {"value": redact(v), "source": s} for k, (v, s) in self.proxies.items()},
            "max_concurrent_downloads": self.max_concurrent_downloads,
            "dns": self.dns,
        }


def candidates(paths: Paths) -> list[tuple[Path, bool]]:
    override = paths.override("daemon_config")
    if override is not None:
        return [(override, False)]
    return [
        (paths.at(locations.DOCKER_DAEMON_JSON), False),
        (paths.xdg_config_home() / "docker" / "daemon.json", True),
    ]


def discover(paths: Paths) -> list[DaemonConfig]:
    """Every daemon.json that exists (rootful first)."""
    found = []
    for path, rootless in candidates(paths):
        config = load(path, rootless=rootless)
        if config.file.exists:
            found.append(config)
    return found


def load(path: Path, *, rootless: bool = False) -> DaemonConfig:
    result = FileResult(path, SOURCE, "docker", "json", effect=EFFECT)
    config = DaemonConfig(result, rootless=rootless)
    data = read_json_object(result)
    if data is None:
        return config
    _mirrors(config, data.get("registry-mirrors"))
    _insecure(config, data.get("insecure-registries"))
    _registry_problems(config, data)
    _proxies(config, data.get("proxies"))
    downloads = data.get("max-concurrent-downloads")
    if downloads is not None and expect_type(result, downloads, int, "max-concurrent-downloads"):
        if downloads < 1:
            result.issue("must be at least 1", key="max-concurrent-downloads")
        config.max_concurrent_downloads = downloads
    dns = data.get("dns")
    if dns is not None and expect_type(result, dns, list, "dns"):
        for i, server in enumerate(dns):
            if not isinstance(server, str):
                result.issue("must be a string", key=f"dns[{i}]")
                continue
            try:
                ipaddress.ip_address(server)
            except ValueError:
                result.issue(f"{server!r} is not an IP address", key=f"dns[{i}]")
                continue
            config.dns.append(server)
    return config


def _registry_problems(config: DaemonConfig, data: dict[str, Any]) -> None:
    """What dockerd itself says of the registry settings (the runtime model, read from
    moby's source): a problem that stops the daemon is fatal, with dockerd's own words."""
    from regdoctor.runtime import parse_insecure_registries, validate_mirror

    result = config.file
    # the model's words replace the parsers' own for the entries it judges
    result.issues[:] = [
        issue
        for issue in result.issues
        if issue.message == "must be a string"
        or not (issue.key or "").startswith(("registry-mirrors[", "insecure-registries["))
    ]
    said = {issue.key for issue in result.issues}
    for i, item in enumerate(_listed(data.get("registry-mirrors"))):
        key = f"registry-mirrors[{i}]"
        if isinstance(item, str) and key not in said:
            _normalized, error = validate_mirror(item)
            if error is not None:
                result.issue(f"dockerd will not start: {error}", key=key)
    for i, item in enumerate(_listed(data.get("insecure-registries"))):
        key = f"insecure-registries[{i}]"
        if not isinstance(item, str) or key in said:
            continue
        for problem in parse_insecure_registries([item])[2]:
            prefix = "dockerd will not start: " if problem.fatal else ""
            result.issue(prefix + problem.message, key=key, fatal=problem.fatal)
            break


def _listed(value: Any) -> list[Any]:
    """The entries of a list setting; another type (``true``, a string) was reported by
    :func:`expect_type` already and has none."""
    return value if isinstance(value, list) else []


def _mirrors(config: DaemonConfig, raw: Any) -> None:
    result = config.file
    if raw is None or not expect_type(result, raw, list, "registry-mirrors"):
        return
    for i, item in enumerate(raw):
        key = f"registry-mirrors[{i}]"
        if not isinstance(item, str):
            result.issue("must be a string", key=key)
            continue
        source = where(result, "registry-mirrors", i)
        # moby registry.ValidateMirror
        try:
            parts = urlsplit(item)
            host = parts.netloc.rsplit("@", 1)[-1]
            _ = parts.port
        except ValueError as exc:
            result.issue(f"invalid mirror: {item!r} is not a valid URI ({exc})", key=key)
            continue
        if parts.scheme not in ("http", "https"):
            result.issue(
                f"invalid mirror: unsupported scheme {parts.scheme!r} in {item!r}", key=key
            )
            continue
        if parts.query or parts.fragment:
            result.issue(f"invalid mirror: query or fragment at end of the URI {item!r}", key=key)
            continue
        if parts.username is not None:
            result.issue("invalid mirror: username/password not allowed in the URI", key=key)
            continue
        if not host:
            result.issue(f"invalid mirror: no host in {item!r}", key=key)
            continue
        path = parts.path.rstrip("/")
        config.mirrors.append(Mirror(item, i, source, host.lower(), parts.scheme, path))


def _insecure(config: DaemonConfig, raw: Any) -> None:
    result = config.file
    if raw is None or not expect_type(result, raw, list, "insecure-registries"):
        return
    for i, item in enumerate(raw):
        key = f"insecure-registries[{i}]"
        if not isinstance(item, str):
            result.issue("must be a string", key=key)
            continue
        source = where(result, "insecure-registries", i)
        text = item.strip()
        scheme = None
        lowered = text.lower()
        # moby registry.LoadInsecureRegistries: http:// and https:// are stripped with a
        # warning; any other scheme stops the daemon.
        if lowered.startswith(("http://", "https://")):
            scheme, text = lowered.split("://", 1)[0], text.split("://", 1)[1]
        elif "://" in text:
            config.insecure.append(
                InsecureEntry(item, i, source, scheme=text.split("://", 1)[0], fatal=True)
            )
            continue
        try:
            network = ipaddress.ip_network(text, strict=False) if "/" in text else None
        except ValueError:
            network = None
        if network is not None:
            config.insecure.append(InsecureEntry(item, i, source, text, network, scheme))
            continue
        host, _, path = text.partition("/")
        config.insecure.append(
            InsecureEntry(item, i, source, host.lower(), None, scheme, f"/{path}" if path else "")
        )


_PROXY_KEYS = ("http-proxy", "https-proxy", "no-proxy")


def _proxies(config: DaemonConfig, raw: Any) -> None:
    result = config.file
    if raw is None or not expect_type(result, raw, dict, "proxies"):
        return
    for name, value in raw.items():
        if name not in _PROXY_KEYS:
            result.issue(
                f"unknown proxy setting (known: {', '.join(_PROXY_KEYS)})", key=f"proxies.{name}"
            )
            continue
        if expect_type(result, value, str, "proxies", name):
            config.proxies[name] = (value, where(result, "proxies", name))
