"""What containerd (ctr and the CRI plugin the kubelet uses) does with registry config.

Default version 1.6.20 (Debian bookworm). Behaviour read from
containerd/containerd remotes/docker/config/hosts.go (core/remotes/... in 2.x),
remotes/docker/resolver.go and pkg/cri/ (internal/cri/ in 2.x).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import _gourl
from .common import (
    DOCKER_HUB,
    DOCKER_HUB_API_HOST,
    Endpoint,
    ErrorKind,
    Problem,
    Severity,
    at_least,
    is_loopback_host,
    split_host_port,
    version_tuple,
)

SRC_HOSTS = "containerd/containerd v1.6.20: remotes/docker/config/hosts.go"
SRC_HOSTS_NEW = "containerd/containerd v1.7.29: remotes/docker/config/hosts.go"
SRC_RESOLVER = "containerd/containerd v1.6.20: remotes/docker/resolver.go Resolve"
SRC_CRI_PULL = "containerd/containerd v1.6.20: pkg/cri/server/image_pull.go registryEndpoints"
SRC_CRI = "containerd/containerd v1.6.20: pkg/cri/config/config.go ValidatePluginConfig"
ALL_CAPS = frozenset({"pull", "resolve", "push"})


@dataclass(frozen=True)
class HostEntry:
    """One parsed hosts.toml host (or the root ``server``); host "" = fill in default."""

    scheme: str = ""
    host: str = ""
    path: str = ""
    capabilities: frozenset[str] = ALL_CAPS
    skip_verify: bool | None = None
    ca: tuple[str, ...] = ()
    client: tuple[tuple[str, str], ...] = ()
    header: tuple[tuple[str, str], ...] = ()
    #: the ``[host."KEY"]`` table's key as the file writes it; None: the file's root
    key: str | None = None


@dataclass(frozen=True)
class HostsFile:
    """Result of loading a host directory: ``hosts`` None means "behave as if no file"."""

    hosts: tuple[HostEntry, ...] | None
    problems: tuple[Problem, ...] = ()


def _has_http_fallback(version: str) -> bool:
    """HTTPFallback / "always try TLS when TLS configured": commit 6b5912220 first in
    v1.6.25 and v1.7.7 (port-80 exception 51df21d09/35c7634e3: v1.6.25, v1.7.8), all 2.x."""
    v = version_tuple(version)
    if v[:1] and v[0] >= 2:
        return True
    if v[:2] == (1, 6):
        return at_least(version, (1, 6, 25))
    if v[:2] == (1, 7):
        return at_least(version, (1, 7, 7))
    return False


def host_dir_candidates(host: str, root: str = "/etc/containerd/certs.d") -> list[str]:
    """Directories tried for ``host``, first existing wins (config_unix.go hostPaths,
    hostDirectory, v1.6.20): "host_port_" (colon before the port replaced, trailing "_")
    when there is a port, then "host:port", then "_default"."""
    out = []
    idx = host.rfind(":")
    if idx > 0:
        out.append(f"{root}/{host[:idx]}_{host[idx + 1 :]}_")
    out += [f"{root}/{host}", f"{root}/_default"]
    return out


def _string_list(v: Any, what: str) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list):
        for x in v:
            if not isinstance(x, str):
                raise ValueError(f"unable to cast {x} to string")
        return tuple(v)
    raise ValueError(f'invalid type {v} for "{what}"')


def _parse_host(server: str, conf: Mapping[str, Any]) -> HostEntry:
    """hosts.go parseHostConfig (v1.6.20)."""
    scheme = host = path = ""
    override = bool(conf.get("override_path", False))
    if server:
        if not server.startswith("http"):
            server = "https://" + server
        u = _gourl.parse(server)
        if u.error is not None:
            raise ValueError(f"unable to parse server {server}: {u.error}")
        scheme, host = u.scheme, u.host
        if u.path:
            path = _gourl.clean_path(u.path)
            if not path.endswith("/v2") and not override:
                path += "/v2"
        elif not override:
            path = "/v2"
    caps_raw = conf.get("capabilities") or []
    caps: set[str] = set()
    for c in caps_raw:
        if str(c).lower() not in ALL_CAPS:
            raise ValueError(f"unknown capability {c}")
        caps.add(str(c).lower())
    ca: tuple[str, ...] = ()
    if "ca" in conf:
        ca = _string_list(conf["ca"], "ca")
    client: list[tuple[str, str]] = []
    if "client" in conf:
        cv = conf["client"]
        if isinstance(cv, str):
            client.append((cv, ""))
        elif isinstance(cv, list):
            for p in cv:
                if isinstance(p, str):
                    client.append((p, ""))
                elif isinstance(p, list):
                    pair = _string_list(p, "client")
                    if len(pair) != 2:
                        raise ValueError(f'invalid pair {p} for "client"')
                    client.append((pair[0], pair[1]))
                else:
                    raise ValueError(f'invalid type {type(p).__name__} for "client"')
        else:
            raise ValueError(f'invalid type {cv} for "client"')
    headers: list[tuple[str, str]] = []
    for k, v in (conf.get("header") or {}).items():
        if isinstance(v, str):
            headers.append((k, v))
        elif isinstance(v, list):
            headers += [(k, x) for x in _string_list(v, "header")]
        else:
            raise ValueError(f"invalid type {v} for header {k!r}")
    sv = conf.get("skip_verify")
    return HostEntry(
        scheme=scheme,
        host=host,
        path=path,
        capabilities=frozenset(caps) if caps else ALL_CAPS,
        skip_verify=bool(sv) if sv is not None else None,
        ca=ca,
        client=tuple(client),
        header=tuple(headers),
    )


def parse_hosts_toml(
    doc: str | Mapping[str, Any], *, version: str = "1.6.20", path: str = "hosts.toml"
) -> HostsFile:
    """Parse a hosts.toml the way containerd does (hosts.go loadHostDir/parseHostsFile).

    Hosts come in file order, then the root ``server`` last. ANY error (TOML syntax,
    unknown capability, bad ``ca`` type, ...) is only logged ("failed to decode
    hosts.toml") and the directory is treated as if it had no hosts.toml: the pull
    goes to the default endpoint, with *.crt/*.cert files of the directory applied.
    1.6/1.7 (go-toml v1, getSortedHosts): a file with no ``[host."..."]`` table fails
    with "invalid `host` tree", so a ``server``-only file is ignored. 2.x (tomlu parser,
    core/remotes/docker/config/hosts.go v2.0.0) accepts it.
    """
    new = at_least(version, (2,))
    where = path if new else "hosts.toml"

    def ignored(err: str) -> HostsFile:
        return HostsFile(
            None,
            (
                Problem(
                    "hosts.toml",
                    f"failed to decode {where}: {err}",
                    Severity.IGNORED,
                    SRC_HOSTS + " loadHostDir",
                    exact=False,
                ),
            ),
        )

    if isinstance(doc, str):
        if not doc:
            return HostsFile(None)
        try:
            data: Mapping[str, Any] = tomllib.loads(doc)
        except tomllib.TOMLDecodeError as exc:
            return ignored(f"failed to parse TOML: {exc}")
    else:
        data = doc
    host_tables = data.get("host")
    if not isinstance(host_tables, dict):
        if not new:
            return ignored("invalid `host` tree")
        host_tables = {}
    try:
        hosts = [replace(_parse_host(name, conf), key=name) for name, conf in host_tables.items()]
        root = {k: v for k, v in data.items() if k not in ("host", "server")}
        hosts.append(_parse_host(str(data.get("server", "")), root))
    except ValueError as exc:
        return ignored(str(exc))
    return HostsFile(tuple(hosts))


def containerd_endpoints(
    image_host: str,
    hosts_toml: str | Mapping[str, Any] | HostsFile | None = None,
    *,
    version: str = "1.6.20",
    default_scheme: str = "",
    ctr: bool = False,
    by_digest: bool = False,
    repository: str = "",
) -> list[Endpoint]:
    """Hosts containerd tries, in order, for an image on ``image_host``.

    ``hosts_toml``: the hosts.toml found for the host (see :func:`host_dir_candidates`),
    None when there is none (or no config_path / --hosts-dir at all).
    ``default_scheme``: "" for CRI; ctr --plain-http sets "http". ``ctr``: ctr always
    passes a DefaultTLS config, which in http-fallback versions makes every http host
    try https first. Tag pulls use only hosts with pull+resolve; digest pulls pull only
    (resolver.go Resolve filterHosts).
    Defaults (hosts.go ConfigureHosts): docker.io -> https://registry-1.docker.io;
    localhost/loopback: 1.6.20..1.6.24, 1.7.0..1.7.6: http with skip_verify (no https
    at all); 1.6.25+/1.7.7+/2.x: https when no port or 443, else http with skip_verify
    which (being "TLS configured") becomes https-first with HTTP fallback; others https.
    """
    hf = (
        hosts_toml
        if isinstance(hosts_toml, HostsFile)
        else (
            parse_hosts_toml(hosts_toml, version=version)
            if hosts_toml is not None
            else HostsFile(None)
        )
    )
    entries = list(hf.hosts) if hf.hosts is not None else [HostEntry(capabilities=ALL_CAPS)]
    fallback_version = _has_http_fallback(version)
    if entries and entries[-1].host == "":
        last = entries[-1]
        scheme, host, skip = "https", image_host, last.skip_verify
        if image_host == DOCKER_HUB:
            host = DOCKER_HUB_API_HOST
        elif is_loopback_host(image_host):
            if default_scheme == "" and fallback_version:
                hp = split_host_port(image_host)
                port = hp[1] if hp else ""
                scheme = "https" if port in ("", "443") else "http"
                if port != "80":
                    skip = True
            elif default_scheme in ("", "http"):
                scheme, skip = "http", True
            else:
                scheme = default_scheme
        elif default_scheme:
            scheme = default_scheme
        entries[-1] = HostEntry(
            scheme=scheme,
            host=host,
            path="/v2",
            capabilities=ALL_CAPS,
            skip_verify=skip,
            ca=last.ca,
            client=last.client,
            header=last.header,
        )
    need = {"pull"} if by_digest else {"pull", "resolve"}
    out: list[Endpoint] = []
    n = len(entries)
    for i, e in enumerate(entries):
        if not need <= e.capabilities:
            continue
        scheme, fallback = e.scheme, False
        explicit_tls = ctr or e.skip_verify is not None or bool(e.ca) or bool(e.client)
        if fallback_version and scheme == "http" and explicit_tls:
            hp = split_host_port(e.host)
            if (hp[1] if hp else "") != "80":
                scheme, fallback = "https", True
        prefix = _gourl.clean_path("/" + e.path)
        notes: list[str] = []
        if e.path and not e.path.endswith("/v2"):
            notes.append("API root does not end in /v2 (override_path = true)")
        if e.host != image_host and image_host != DOCKER_HUB:
            notes.append(f"requests carry ?ns={image_host}")
        out.append(
            Endpoint(
                url=f"{scheme}://{e.host}{prefix.rstrip('/')}/",
                scheme=scheme,
                host=e.host,
                path_prefix=prefix,
                mirror=i < n - 1,
                skip_verify=bool(e.skip_verify),
                source=SRC_HOSTS + " ConfigureHosts" + (", " + SRC_HOSTS_NEW if fallback else ""),
                repository=repository,
                capabilities=e.capabilities,
                http_fallback=fallback,
                headers=e.header,
                notes=tuple(notes),
                ca=e.ca,
                root=i == n - 1,
                hosts_key=e.key,
            )
        )
    return out


def cri_legacy_endpoints(
    image_host: str, mirrors: Mapping[str, Sequence[str]], repository: str = ""
) -> list[Endpoint]:
    """CRI without config_path: ``[plugins."io.containerd.grpc.v1.cri".registry.mirrors]``.

    pkg/cri/server/image_pull.go registryEndpoints (v1.6.20): the host's own entry, else
    "*", in order; a scheme-less endpoint gets http for localhost else https; the
    default endpoint (https, http for localhost; registry-1.docker.io for docker.io) is
    appended unless one endpoint already has the same host. Path defaults to /v2.
    """
    entries = list(mirrors.get(image_host, mirrors.get("*", [])))
    default_host = DOCKER_HUB_API_HOST if image_host == DOCKER_HUB else image_host

    def with_scheme(e: str) -> str:
        if "://" in e:
            return e
        host = _gourl.parse("dummy://" + e).host
        return ("http" if is_loopback_host(host) else "https") + "://" + e

    urls = [with_scheme(e) for e in entries]
    if not any(_gourl.parse(u).host == image_host for u in urls):
        urls.append(("http" if is_loopback_host(default_host) else "https") + "://" + default_host)
    out = []
    for i, url in enumerate(urls):
        u = _gourl.parse(url)
        path = u.path or "/v2"
        out.append(
            Endpoint(
                url=f"{u.scheme}://{u.host}{path.rstrip('/')}/",
                scheme=u.scheme,
                host=u.host,
                path_prefix=path,
                mirror=i < len(urls) - 1,
                skip_verify=is_loopback_host(image_host) and u.scheme == "http",
                source=SRC_CRI_PULL,
                repository=repository,
            )
        )
    return out


def containerd_falls_back(kind: ErrorKind) -> bool:
    """resolver.go Resolve (v1.6.20): any request error, 404, and any status >= 400 move
    on to the next host (the first non-404 error is reported at the end); a 3xx that was
    not followed is a hard error; cancellation stops."""
    return kind not in (ErrorKind.REDIRECT_UNHANDLED, ErrorKind.CANCELLED)


def validate_cri_registry(registry: Mapping[str, Any], version: str = "1.6.20") -> list[Problem]:
    """Problems in the CRI plugin's ``registry`` table (ValidatePluginConfig).

    A FATAL error here does not stop containerd: the CRI plugin fails to load
    ("failed to load plugin io.containerd.grpc.v1.cri" + "invalid plugin config: ..."),
    containerd keeps running and the kubelet cannot talk to it
    (pkg/cri/cri.go initCRIService, services/server/server.go, v1.6.20).
    """
    out: list[Problem] = []
    cfg_path = registry.get("config_path") or ""
    if registry.get("mirrors"):
        if cfg_path:
            out.append(
                Problem(
                    "mirrors",
                    "invalid plugin config: `mirrors` cannot be set when `config_path` is provided",
                    Severity.FATAL,
                    SRC_CRI,
                )
            )
        else:
            out.append(
                Problem(
                    "mirrors",
                    "`mirrors` is deprecated, please use `config_path` instead",
                    Severity.WARNING,
                    SRC_CRI,
                )
            )
    tls = any(
        isinstance(c, Mapping) and c.get("tls") for c in (registry.get("configs") or {}).values()
    )
    if tls and not at_least(version, (2,)):
        if cfg_path:
            out.append(
                Problem(
                    "configs.tls",
                    "invalid plugin config: `configs.tls` cannot be "
                    "set when `config_path` is provided",
                    Severity.FATAL,
                    SRC_CRI,
                )
            )
        else:
            out.append(
                Problem(
                    "configs.tls",
                    "`configs.tls` is deprecated, please use `config_path` instead",
                    Severity.WARNING,
                    SRC_CRI,
                )
            )
    return out


def image_pull_progress_timeout(
    version: str = "1.6.20", configured: str | None = None
) -> float | None:
    """CRI ``image_pull_progress_timeout`` in seconds (None: no such limit).

    Absent in 1.6. 1.7.0-1.7.9 default "1m0s", 1.7.10+ and 2.x "5m0s"
    (pkg/cri/config/config_unix.go DefaultConfig, v1.7.9 vs v1.7.10); "0" disables.
    When hit the CRI logs "cancel pulling image <ref> because of no progress in 1m0s"
    (pkg/cri/server/image_pull.go pullProgressReporter, v1.7.29).
    """
    if not at_least(version, (1, 7)):
        return None
    if configured is not None:
        return _go_duration(configured) or None
    return 60.0 if not at_least(version, (1, 7, 10)) else 300.0


def _go_duration(text: str) -> float:
    import re

    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    total = 0.0
    for num, unit in re.findall(r"([0-9.]+)(ns|us|µs|ms|s|m|h)", text):
        total += float(num) * units[unit]
    return total
