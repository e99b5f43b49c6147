"""Plain data shared by the runtime models, and a few Go-compatible string helpers.

Nothing here performs I/O: callers pass in whatever they observed (file contents,
resolved IPs, environment) and get back plain, frozen data.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

from regdoctor.reference import dockerhub

DOCKER_HUB = dockerhub.DOMAIN
#: Hostname that serves Docker Hub's v2 API.
#: moby/moby v20.10.24 registry/config.go DefaultV2Registry;
#: containerd/containerd v1.6.20 remotes/docker/config/hosts.go ConfigureHosts;
#: containers/image v5.23.1 docker/docker_client.go dockerRegistry.
DOCKER_HUB_API_HOST = dockerhub.API_HOST
#: Legacy alias of docker.io (moby/moby v20.10.24 registry/config.go ValidateIndexName).
DOCKER_HUB_INDEX_HOST = dockerhub.LEGACY_DOMAIN
#: The config.json key docker uses for Hub credentials
#: (moby/moby v20.10.24 registry/config.go IndexServer, GetAuthConfigKey).
DOCKER_HUB_AUTH_KEY = dockerhub.CONFIG_KEY


class Severity(enum.StrEnum):
    """What a runtime does with a configuration problem."""

    FATAL = "fatal"  # the daemon/plugin refuses to start (or the pull cannot start)
    WARNING = "warning"  # logged, the setting still takes effect (possibly altered)
    IGNORED = "ignored"  # silently or with a log line, the setting has no effect


class ErrorKind(enum.StrEnum):
    """Kinds of failure against one endpoint, as far as fallback decisions care."""

    DNS = "dns"
    CONNECT = "connect"  # refused / unreachable / dial timeout
    TIMEOUT = "timeout"  # TLS handshake / response timeout after connecting
    TLS = "tls"  # certificate or handshake failure
    HTTP_ON_HTTPS = "http_on_https"  # "server gave HTTP response to HTTPS client"
    UNAUTHORIZED = "unauthorized"  # 401 / UNAUTHORIZED errcode
    DENIED = "denied"  # 403 / DENIED errcode
    NOT_FOUND = "not_found"  # 404 / MANIFEST_UNKNOWN / NAME_UNKNOWN
    TOO_MANY_REQUESTS = "too_many_requests"  # 429 / TOOMANYREQUESTS errcode
    SERVER_ERROR = "server_error"  # 5xx
    REDIRECT_UNHANDLED = "redirect_unhandled"  # 3xx that the client did not follow
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Endpoint:
    """One place a runtime will send requests to, in the order it tries them.

    ``path_prefix`` is the API root requests are built on ("/v2" normally);
    ``repository`` the repository path as sent to this endpoint when known.
    ``http_fallback`` means the runtime itself retries this endpoint over plain
    HTTP after an HTTPS failure (containers/image insecure, containerd >= 1.6.25
    HTTPFallback); docker instead lists a separate http endpoint.
    """

    url: str
    scheme: str
    host: str
    path_prefix: str
    mirror: bool
    skip_verify: bool
    source: str
    repository: str = ""
    capabilities: frozenset[str] = frozenset({"pull", "resolve", "push"})
    http_fallback: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    #: containerd: the ``ca`` files of this very hosts.toml entry (each host has its own
    #: TLS config: remotes/docker/config/hosts.go ConfigureHosts, v1.6.20)
    ca: tuple[str, ...] = ()
    #: containerd: this endpoint is the hosts.toml root entry (the ``server`` line and
    #: the file's top-level keys; parseHostsFile appends it last), not a ``[host]`` table
    root: bool = False
    #: containerd: the ``[host."KEY"]`` key of this endpoint's table, as the file writes it
    hosts_key: str | None = None


@dataclass(frozen=True)
class Problem:
    """A configuration problem and the runtime's exact reaction to it."""

    key: str
    message: str  # exact upstream text where known (see ``exact``)
    severity: Severity
    source: str  # upstream file@version this was read from
    exact: bool = True  # False when the text is a description, not upstream's wording

    @property
    def fatal(self) -> bool:
        return self.severity is Severity.FATAL


@dataclass(frozen=True)
class Timeout:
    """One timeout a runtime applies, in seconds (None = no limit)."""

    seconds: float | None
    source: str
    note: str = ""


@dataclass(frozen=True)
class AuthLookup:
    """Where a runtime looks for credentials for one registry, and what happens."""

    key: str  # the key looked up (config.json key / helper argument)
    store: str  # "file", "helper:<name>", "none", ...
    on_helper_failure: str  # what happens if the helper is missing / fails
    candidates: tuple[str, ...] = ()  # files consulted in order, when relevant
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- versions


def version_tuple(version: str) -> tuple[int, ...]:
    """ "20.10.24" -> (20, 10, 24); "v1.7" -> (1, 7); tolerant of suffixes like "+dfsg"."""
    out: list[int] = []
    for part in version.lstrip("vV").split("."):
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def at_least(version: str, minimum: tuple[int, ...]) -> bool:
    v = version_tuple(version)
    return v + (0,) * (len(minimum) - len(v)) >= minimum


# --------------------------------------------------------------------------- Go helpers


def go_quote(s: str) -> str:
    """Go's ``%q`` / strconv.Quote for the printable-ASCII-and-Unicode common case."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def split_host_port(hostport: str) -> tuple[str, str] | None:
    """Go net.SplitHostPort: None where Go returns an error (e.g. no port)."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return None
        rest = hostport[end + 1 :]
        if not rest.startswith(":"):
            return None
        host, port = hostport[1:end], rest[1:]
        if ":" in port:
            return None
        return host, port
    idx = hostport.rfind(":")
    if idx < 0:
        return None
    host, port = hostport[:idx], hostport[idx + 1 :]
    if ":" in host:  # "too many colons"
        return None
    return host, port


def host_without_port(hostport: str) -> str:
    hp = split_host_port(hostport)
    return hp[0] if hp is not None else hostport


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_loopback_host(hostport: str) -> bool:
    """containerd remotes/docker/resolver.go IsLocalhost (v1.6.20): "localhost" or a loopback IP.

    The port is stripped first; "localhost" is matched literally (no resolution).
    """
    host = host_without_port(hostport)
    if host == "localhost":
        return True
    ip = parse_ip(host)
    return ip is not None and ip.is_loopback


def cidr_contains(cidr: str, ip_text: str) -> bool:
    net = ipaddress.ip_network(cidr, strict=False)
    ip = parse_ip(ip_text)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None and net.version == 4:
        ip = ip.ipv4_mapped  # Go's IPNet.Contains treats ::ffff:a.b.c.d as IPv4
    return ip.version == net.version and ip in net


# --------------------------------------------------------------------------- references


@dataclass(frozen=True)
class ImageRef:
    """An image reference split as the runtimes split it."""

    domain: str
    path: str
    tag: str
    digest: str
    qualified: bool  # False when the user gave no registry (short name)

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s


def split_reference(ref: str, default_domain: str = DOCKER_HUB) -> ImageRef:
    """Split an image reference the way docker/distribution's ParseNormalizedNamed does.

    The first component is a registry when it contains "." or ":" or is "localhost"
    (distribution/reference normalize.go splitDockerDomain, vendored in moby v20.10.24).
    Docker Hub single-component names get the "library/" namespace. No validation.
    """
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = ""
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref, tag = ref[:colon], ref[colon + 1 :]
    first, sep, rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        domain, path, qualified = first, rest, True
    else:
        domain, path, qualified = default_domain, ref, False
    if domain == DOCKER_HUB_INDEX_HOST:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    if not tag and not digest:
        tag = "latest"
    return ImageRef(domain=domain, path=path, tag=tag, digest=digest, qualified=qualified)


def normalize_hub(host: str) -> str:
    """index.docker.io -> docker.io (moby v20.10.24 registry/config.go ValidateIndexName)."""
    return DOCKER_HUB if host == DOCKER_HUB_INDEX_HOST else host
