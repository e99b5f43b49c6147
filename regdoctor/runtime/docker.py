"""What dockerd (and the docker CLI) do with registry configuration.

Default version is 20.10 (Debian's docker.io 20.10.24); later moby behaviour is
selected with ``version=`` where it was read from source. Citations name the
upstream file and tag each behaviour was read from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import _gourl
from .common import (
    DOCKER_HUB,
    DOCKER_HUB_API_HOST,
    DOCKER_HUB_AUTH_KEY,
    DOCKER_HUB_INDEX_HOST,
    AuthLookup,
    Endpoint,
    ErrorKind,
    Problem,
    Severity,
    at_least,
    cidr_contains,
    go_quote,
    parse_ip,
    split_host_port,
)

SRC_CONFIG = "moby/moby v20.10.24: registry/config.go"
SRC_SERVICE_V2 = "moby/moby v20.10.24: registry/service_v2.go lookupV2Endpoints"
SRC_PULL = "moby/moby v20.10.24: distribution/pull.go Pull, distribution/errors.go continueOnError"
SRC_DAEMON_CONFIG = "moby/moby v20.10.24: daemon/config/config.go"
SRC_CLI = "docker/cli v20.10.24: cli/command/registry.go ResolveAuthConfig"
DEFAULT_DAEMON_JSON = "/etc/docker/daemon.json"
CERTS_DIR = "/etc/docker/certs.d"

#: reference.DomainRegexp as vendored in moby v20.10.24
#: (vendor/github.com/docker/distribution/reference/regexp.go), anchored.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST_PORT_RE = re.compile(rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?")


class DaemonWouldNotStart(ValueError):
    """Raised by :func:`docker_endpoints` when dockerd would refuse this configuration."""


# --------------------------------------------------------------------------- validators


def validate_mirror(value: str, version: str = "20.10") -> tuple[str | None, str | None]:
    """``(normalized, None)`` or ``(None, exact error)`` like moby's ValidateMirror.

    20.10 (registry/config.go ValidateMirror): scheme must be http/https (a value
    without scheme is read by Go's url.Parse as scheme "host" or as a path, hence
    ``unsupported scheme "mirror.example.com"``), no path other than "/", no query,
    fragment or userinfo; the result always ends in "/".
    moby v25.0.0: paths allowed ("query or fragment" message). v23.0.0+: the URL
    parse error is appended. v28.3.0: "no scheme specified" fast path and a hint.
    """
    new_hint = at_least(version, (28, 3))
    if new_hint:
        scheme, sep, _ = value.partition("://")
        if not sep or not scheme:
            return None, (
                f"invalid mirror: no scheme specified for {go_quote(value)}: "
                "must use either 'https://' or 'http://'"
            )
    uri = _gourl.parse(value)
    if uri.error is not None:
        msg = f"invalid mirror: {go_quote(value)} is not a valid URI"
        if at_least(version, (23,)):
            msg += ": " + uri.error
        return None, msg
    if uri.scheme not in ("http", "https"):
        msg = (
            f"invalid mirror: unsupported scheme {go_quote(uri.scheme)} in {go_quote(uri.string())}"
        )
        if new_hint:
            msg += ": must use either 'https://' or 'http://'"
        return None, msg
    if at_least(version, (25,)):
        if uri.raw_query or uri.fragment:
            return (
                None,
                f"invalid mirror: query or fragment at end of the URI {go_quote(uri.string())}",
            )
    elif uri.path not in ("", "/") or uri.raw_query or uri.fragment:
        return None, (
            f"invalid mirror: path, query, or fragment at end of the URI {go_quote(uri.string())}"
        )
    if uri.user is not None:
        return None, (
            "invalid mirror: username/password not allowed in URI "
            + go_quote(uri.string(mask_password=True))
        )
    return (value[:-1] if value.endswith("/") else value) + "/", None


def _validate_host_port(s: str) -> str | None:
    """registry/config.go validateHostPort (v20.10.24): error text or None."""
    hp = split_host_port(s)
    host, port = hp if hp is not None else (s, "")
    if not _HOST_PORT_RE.fullmatch(s) and parse_ip(host) is None:
        return f"invalid host {go_quote(host)}"
    if port:
        if not re.fullmatch(r"[+-]?[0-9]+", port):
            return f"strconv.Atoi: parsing {go_quote(port)}: invalid syntax"
        if not 0 <= int(port) <= 65535:
            return f"invalid port {go_quote(port)}"
    return None


def _parse_cidr(s: str) -> str | None:
    """Go net.ParseCIDR needs "addr/bits"; returns the canonical network or None."""
    import ipaddress

    if "/" not in s:
        return None
    addr, _, bits = s.partition("/")
    if not bits.isdigit() or parse_ip(addr) is None:
        return None
    try:
        return str(ipaddress.ip_network(s, strict=False))
    except ValueError:
        return None


def parse_insecure_registries(
    entries: Sequence[str], version: str = "20.10"
) -> tuple[list[str], list[str], list[Problem]]:
    """Split insecure-registries into (cidrs, host[:port] names, problems).

    Read from registry/config.go LoadInsecureRegistries (v20.10.24): "127.0.0.0/8" is
    always appended (moby v28.0.0 also appends "::1/128"); an "http://" or "https://"
    prefix is stripped with a warning; any other "://" is fatal; a CIDR is matched
    against the registry's resolved IPs; anything else must be a valid host[:port]
    (so a trailing slash is fatal). Names are matched *exactly* against the image's
    registry (host:port), so "myreg" does not cover "myreg:5000".
    """
    defaults = ["::1/128", "127.0.0.0/8"] if at_least(version, (28,)) else ["127.0.0.0/8"]
    cidrs: list[str] = []
    names: list[str] = []
    problems: list[Problem] = []
    for raw in [*entries, *defaults]:
        r = raw
        if r.startswith("-") or r.endswith("-"):
            problems.append(
                _start_failure(
                    "insecure-registries",
                    f"invalid index name ({r}). Cannot begin or end with a hyphen",
                    version,
                )
            )
            break
        low = r.lower()
        if low.startswith("http://") or low.startswith("https://"):
            scheme = "http://" if low.startswith("http://") else "https://"
            problems.append(
                Problem(
                    key="insecure-registries",
                    message=(
                        f"insecure registry {r} should not contain '{scheme}' and "
                        f"'{scheme}' has been removed from the insecure registry config"
                    ),
                    severity=Severity.WARNING,
                    source=SRC_CONFIG + " LoadInsecureRegistries",
                )
            )
            r = r[len(scheme) :]
        elif "://" in r:
            problems.append(
                _start_failure(
                    "insecure-registries",
                    f"insecure registry {r} should not contain '://'",
                    version,
                )
            )
            break
        cidr = _parse_cidr(r)
        if cidr is not None:
            if cidr not in cidrs:
                cidrs.append(cidr)
            continue
        err = _validate_host_port(r)
        if err is not None:
            problems.append(
                _start_failure(
                    "insecure-registries", f"insecure registry {r} is not valid: {err}", version
                )
            )
            break
        names.append(r)
    return cidrs, names, problems


def _start_failure(key: str, message: str, version: str) -> Problem:
    """Registry-service errors surface from daemon.NewDaemon as "failed to start daemon: ..."

    (moby/moby v20.10.24 cmd/dockerd/daemon.go start -> daemon/daemon.go NewDaemon ->
    registry.NewService).
    """
    return Problem(
        key=key,
        message="failed to start daemon: " + message,
        severity=Severity.FATAL,
        source="moby/moby v20.10.24: cmd/dockerd/daemon.go, registry/config.go newServiceConfig",
    )


# --------------------------------------------------------------------------- endpoints


def _ips_for(host: str, resolved: Mapping[str, Sequence[str]]) -> list[str]:
    hp = split_host_port(host)
    name = hp[0] if hp is not None else host
    if name in resolved:
        return list(resolved[name])
    if parse_ip(name) is not None:
        return [name]
    if name == "localhost":
        return ["127.0.0.1", "::1"]  # what the Go resolver gets from /etc/hosts normally
    return []


def is_secure_index(
    index_name: str,
    *,
    insecure_registries: Sequence[str] = (),
    resolved_ips: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    version: str = "20.10",
) -> bool:
    """registry/config.go isSecureIndex (v20.10.24).

    docker.io is always secure; an exact host[:port] entry is insecure; otherwise the
    registry's host (port stripped) is resolved and any IP inside an insecure CIDR makes
    it insecure. A name that does not resolve is only matched by exact entries.
    """
    if index_name in (DOCKER_HUB, DOCKER_HUB_INDEX_HOST):
        return True
    cidrs, names, _ = parse_insecure_registries(insecure_registries, version)
    if index_name in names:
        return False
    resolved = _resolved_map(index_name, resolved_ips)
    ips = _ips_for(index_name, resolved)
    return not any(cidr_contains(c, ip) for ip in ips for c in cidrs)


def _resolved_map(
    host: str, resolved_ips: Sequence[str] | Mapping[str, Sequence[str]] | None
) -> Mapping[str, Sequence[str]]:
    if resolved_ips is None:
        return {}
    if isinstance(resolved_ips, Mapping):
        return resolved_ips
    hp = split_host_port(host)
    return {hp[0] if hp is not None else host: list(resolved_ips)}


def docker_endpoints(
    image_host: str,
    *,
    mirrors: Sequence[str] = (),
    insecure_registries: Sequence[str] = (),
    resolved_ips: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    version: str = "20.10",
    repository: str = "",
) -> list[Endpoint]:
    """Endpoints dockerd tries, in order, for an image on ``image_host``.

    ``resolved_ips``: IPs of ``image_host`` (a list) or a mapping host -> IPs (also used
    for mirror hosts). Raises :class:`DaemonWouldNotStart` if the registry options
    would stop dockerd. Read from registry/service_v2.go lookupV2Endpoints (v20.10.24):

    * docker.io / index.docker.io: each registry-mirror (in order, de-duplicated,
      scheme as configured, TLS verification skipped only if the mirror host is itself
      insecure, never an extra http attempt), then https://registry-1.docker.io.
      "registry-1.docker.io" written explicitly in the image name is NOT Hub here:
      no mirrors are used.
    * any other registry: https://host, and only when the registry is insecure
      (isSecureIndex) https uses InsecureSkipVerify and http://host is added after it.
      certs.d (/etc/docker/certs.d/<host:port>) is read only for secure registries.
    """
    problems: list[Problem] = []
    normalized: list[str] = []
    for m in mirrors:
        norm, err = validate_mirror(m, version)
        if err is not None:
            raise DaemonWouldNotStart("failed to start daemon: " + err)
        assert norm is not None
        if norm not in normalized:
            normalized.append(norm)
    _, _, problems = parse_insecure_registries(insecure_registries, version)
    fatal = [p for p in problems if p.fatal]
    if fatal:
        raise DaemonWouldNotStart(fatal[0].message)

    def secure(host: str) -> bool:
        return is_secure_index(
            host,
            insecure_registries=insecure_registries,
            resolved_ips=resolved_ips,
            version=version,
        )

    endpoints: list[Endpoint] = []
    if image_host in (DOCKER_HUB, DOCKER_HUB_INDEX_HOST):
        for m in normalized:
            url = m if m.startswith(("http://", "https://")) else "https://" + m
            u = _gourl.parse(url)
            base = _gourl.clean_path("/" + u.path).rstrip("/") if u.path.strip("/") else ""
            endpoints.append(
                Endpoint(
                    url=f"{u.scheme}://{u.host}{base}/v2/",
                    scheme=u.scheme,
                    host=u.host,
                    path_prefix=f"{base}/v2",
                    mirror=True,
                    skip_verify=not secure(u.host),
                    source=SRC_SERVICE_V2,
                    repository=repository,
                    notes=(
                        "docker sends the Docker Hub credentials (config.json key "
                        f"{DOCKER_HUB_AUTH_KEY}) to mirrors too: the same AuthConfig is used "
                        "for every pull endpoint (distribution/registry.go NewV2Repository)",
                    ),
                )
            )
        endpoints.append(
            Endpoint(
                url=f"https://{DOCKER_HUB_API_HOST}/v2/",
                scheme="https",
                host=DOCKER_HUB_API_HOST,
                path_prefix="/v2",
                mirror=False,
                skip_verify=False,
                source=SRC_SERVICE_V2,
                repository=repository,
            )
        )
        return endpoints
    is_secure = secure(image_host)
    endpoints.append(
        Endpoint(
            url=f"https://{image_host}/v2/",
            scheme="https",
            host=image_host,
            path_prefix="/v2",
            mirror=False,
            skip_verify=not is_secure,
            source=SRC_SERVICE_V2,
            repository=repository,
            notes=()
            if not is_secure
            else (f"client certificates and CAs from {CERTS_DIR}/{image_host}",),
        )
    )
    if not is_secure:
        endpoints.append(
            Endpoint(
                url=f"http://{image_host}/v2/",
                scheme="http",
                host=image_host,
                path_prefix="/v2",
                mirror=False,
                skip_verify=True,
                source=SRC_SERVICE_V2,
                repository=repository,
                notes=(
                    "skipped when the https endpoint answered over TLS "
                    "(distribution/pull.go confirmedTLSRegistries)",
                ),
            )
        )
    return endpoints


def certs_dir(index_name: str) -> str:
    """registry/registry.go newTLSConfig: /etc/docker/certs.d/<host:port> (colon kept).

    Only read for *secure* registries; an insecure registry's CA / client cert files are
    ignored (v20.10.24 registry/registry.go newTLSConfig).
    """
    return f"{CERTS_DIR}/{index_name}"


def docker_falls_back(kind: ErrorKind, *, mirror: bool = False) -> bool:
    """Does dockerd 20.10 try the next endpoint after this failure?

    distribution/pull.go Pull + pull_v2.go + errors.go (v20.10.24): every failure of the
    /v2/ ping (DNS, connect, TLS, timeout) is a fallbackError; any HTTP status on the
    ping is accepted. Later errors: UNAUTHORIZED / MANIFEST_UNKNOWN / NAME_UNKNOWN
    always fall back (allowV1Fallback); other registry error codes (DENIED,
    TOOMANYREQUESTS) only from a mirror; unexpected statuses and generic errors fall
    back; unsupported media type and cancellation do not.
    """
    if kind in (ErrorKind.CANCELLED, ErrorKind.UNSUPPORTED_MEDIA_TYPE):
        return False
    if kind in (ErrorKind.DENIED, ErrorKind.TOO_MANY_REQUESTS):
        return mirror
    return True


def docker_tries_plain_http_after(kind: ErrorKind) -> bool:
    """After the https endpoint failed this way, is the http endpoint still tried?

    No once the https endpoint answered over TLS (pull.go confirmedTLSRegistries:
    the ping transport worked), i.e. for HTTP-level errors.
    """
    return kind in (
        ErrorKind.DNS,
        ErrorKind.CONNECT,
        ErrorKind.TIMEOUT,
        ErrorKind.TLS,
        ErrorKind.HTTP_ON_HTTPS,
    )


# --------------------------------------------------------------------------- docker CLI auth


def _convert_to_hostname(url: str) -> str:
    """docker/cli v20.10.24 cli/config/credentials/file_store.go ConvertToHostname."""
    stripped = url
    if url.startswith("http://"):
        stripped = url[len("http://") :]
    elif url.startswith("https://"):
        stripped = url[len("https://") :]
    return stripped.split("/", 1)[0]


def docker_cli_auth(config_json: Mapping[str, Any], image_host: str) -> AuthLookup:
    """How `docker pull` (CLI 20.10) finds credentials for ``image_host``.

    docker/cli v20.10.24 cli/command/registry.go ResolveAuthConfig: the key is
    "https://index.docker.io/v1/" for Docker Hub, else the registry as written
    (host[:port]). cli/config/configfile/file.go getConfiguredCredentialStore:
    ``credHelpers[key]`` wins over ``credsStore``. The helper's error (e.g. the
    docker-credential-<name> binary is missing) is discarded by ResolveAuthConfig
    (``a, _ := ...GetAuthConfig``): the pull goes on with whatever the file store had
    for that key (credentials/native_store.go Get), usually nothing, i.e. anonymously.
    File lookup (file_store.go Get): exact key, then any key whose hostname part
    (ConvertToHostname) equals the lookup key - never true for the Hub key.
    """
    hub = image_host in (DOCKER_HUB, DOCKER_HUB_INDEX_HOST)
    key = DOCKER_HUB_AUTH_KEY if hub else image_host
    helpers = config_json.get("credHelpers") or {}
    helper = helpers.get(key) if isinstance(helpers, dict) else None
    if not helper:
        helper = config_json.get("credsStore") or None
    auths = config_json.get("auths") or {}
    entry = ""
    if isinstance(auths, dict):
        if key in auths:
            entry = key
        else:
            entry = next((k for k in auths if _convert_to_hostname(k) == key), "")
    notes = (f"auths entry used: {entry}",) if entry else ("no auths entry for this key",)
    if helper:
        return AuthLookup(
            key=key,
            store=f"helper:{helper}",
            on_helper_failure=(
                "ignored: the pull continues with the auths entry from "
                "config.json if any, else anonymously"
            ),
            candidates=(f"docker-credential-{helper}",),
            source=SRC_CLI,
            notes=notes,
        )
    return AuthLookup(key=key, store="file", on_helper_failure="n/a", source=SRC_CLI, notes=notes)
