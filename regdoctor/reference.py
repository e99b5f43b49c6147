"""Parse what a user types as a TARGET into a :class:`~regdoctor.model.Target`.

A TARGET is either a registry (``registry.example.com``, ``host:5000``,
``https://host:5443``, ``[::1]:5000``) or an image reference (``nginx``,
``host:5000/team/app:1.2``, ``ghcr.io/org/app@sha256:...``). Image references
normalise the way Docker does: ``nginx`` is ``docker.io/library/nginx:latest``, and
Docker Hub is dialled at ``registry-1.docker.io``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from regdoctor.model import Target

DOCKER_HUB = "docker.io"
DOCKER_HUB_HOST = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

# The distribution reference grammar (distribution/reference/regexp.go), simplified to
# what a user types.
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_TAG = re.compile(r"[\w][\w.-]{0,127}\Z")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}\Z")
_SHA256 = re.compile(r"sha256:[a-f0-9]{64}\Z")
_HOSTNAME = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?\Z"
)
MAX_REFERENCE = 1024


class ReferenceError(ValueError):
    """The TARGET cannot be parsed; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int | None


def split_hostport(text: str) -> HostPort:
    """``host``, ``host:5000``, ``[::1]:5000``, ``::1`` → host and optional port."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ReferenceError(f"unbalanced '[' in {text!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ReferenceError(f"unexpected text after ']' in {text!r}")
        port_text = rest[1:] if rest else None
    elif text.count(":") > 1:  # a bare IPv6 address
        host, port_text = text, None
    elif ":" in text:
        host, port_text = text.split(":", 1)
    else:
        host, port_text = text, None
    if not host:
        raise ReferenceError(f"no host in {text!r}")
    if not _valid_host(host):
        raise ReferenceError(f"invalid registry host {host!r}")
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ReferenceError(f"invalid port {port_text!r} in {text!r}")
        port = int(port_text)
    return HostPort(host, port)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host)) and len(host) <= 253


def is_loopback(host: str) -> bool:
    """Docker treats 127.0.0.0/8 and ::1 (and ``localhost``) as insecure registries."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _looks_like_registry(component: str) -> bool:
    """Docker's rule for the first path component: a registry if it has a dot, a port
    or is ``localhost``."""
    return (
        "." in component
        or ":" in component
        or component == "localhost"
        or component.startswith("[")
    )


def _is_registry_only(text: str) -> bool:
    """A TARGET without ``/`` is a registry when it has a dot, a numeric port, is an IP
    address or ``localhost``; otherwise it is a Docker Hub image (``nginx:1.25``)."""
    if text.startswith("[") or text == "localhost":
        return True
    if text.count(":") > 1:
        return True
    name, _, after = text.partition(":")
    if after and not after.isdigit():
        return False  # nginx:1.25 is an image with a tag
    if after:  # host:5000
        return True
    return "." in name


def parse_target(raw: str, *, insecure: bool = False, source: str = "command line") -> Target:
    text = raw.strip()
    if not text:
        raise ReferenceError("empty target")
    if len(text) > MAX_REFERENCE:
        raise ReferenceError(f"target longer than {MAX_REFERENCE} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ReferenceError(f"target contains whitespace or control characters: {text!r}")
    scheme: str | None = None
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if match:
        scheme = match.group(1).lower()
        if scheme not in ("http", "https"):
            raise ReferenceError(f"unsupported scheme {scheme!r} (use https:// or http://)")
        text = text[match.end() :].rstrip("/")
        if text.endswith("/v2"):
            text = text[: -len("/v2")]
        if not text:
            raise ReferenceError(f"no host in {raw!r}")
    if "/" not in text and (scheme is not None or _is_registry_only(text)):
        hp = split_hostport(text)
        return _registry_target(raw, hp, scheme=scheme, insecure=insecure, source=source)
    return _image_target(raw, text, scheme=scheme, insecure=insecure, source=source)


def _registry_target(
    raw: str, hp: HostPort, *, scheme: str | None, insecure: bool, source: str
) -> Target:
    host = hp.host.lower()
    registry_name = _format_hostport(host, hp.port)
    dial_host = host
    if host in _HUB_ALIASES and hp.port is None:
        registry_name, dial_host = DOCKER_HUB, DOCKER_HUB_HOST
    port = hp.port if hp.port is not None else (80 if scheme == "http" else 443)
    return Target(
        raw=raw,
        registry=registry_name,
        host=dial_host,
        port=port,
        scheme=scheme,
        insecure=insecure,
        source=source,
    )


def _format_hostport(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port is not None else shown


def _image_target(
    raw: str, text: str, *, scheme: str | None, insecure: bool, source: str
) -> Target:
    digest: str | None = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise ReferenceError(f"invalid digest {digest!r}")
        if digest.startswith("sha256:") and not _SHA256.match(digest):
            raise ReferenceError(f"invalid sha256 digest {digest!r}: needs 64 lowercase hex digits")
    first, sep, rest = text.partition("/")
    if sep and (_looks_like_registry(first) or scheme is not None):
        hp = split_hostport(first)
        remainder = rest
    else:
        hp = HostPort(DOCKER_HUB, None)
        remainder = text
    tag: str | None = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG.match(tag):
            raise ReferenceError(f"invalid tag {tag!r}")
    if not remainder:
        raise ReferenceError(f"no repository in {raw!r}")
    components = remainder.split("/")
    for component in components:
        if not _COMPONENT.match(component):
            raise ReferenceError(
                f"invalid repository name component {component!r} "
                "(lowercase letters, digits and . _ - separators only)"
            )
    base = _registry_target(raw, hp, scheme=scheme, insecure=insecure, source=source)
    repository = remainder
    if base.registry == DOCKER_HUB and len(components) == 1:
        repository = f"library/{remainder}"
    if tag is None and digest is None:
        tag = "latest"
    if len(base.registry) + 1 + len(repository) > 255:
        raise ReferenceError("repository name longer than 255 characters")
    return Target(
        raw=raw,
        registry=base.registry,
        host=base.host,
        port=base.port,
        scheme=scheme,
        insecure=insecure,
        repository=repository,
        tag=tag,
        digest=digest,
        source=source,
    )


def image_name(target: Target) -> str:
    """The fully qualified image name: ``docker.io/library/nginx:latest``."""
    if target.repository is None:
        return target.registry
    ref = f"@{target.digest}" if target.digest else f":{target.tag}"
    if target.digest and target.tag:
        ref = f":{target.tag}@{target.digest}"
    return f"{target.registry}/{target.repository}{ref}"
