"""Parse what a user types as a TARGET into a :class:`~regdoctor.model.Target`.

A TARGET is either a registry (``registry.example.com``, ``host:5000``,
``https://host:5443``, ``[::1]:5000``) or an image reference (``nginx``,
``host:5000/team/app:1.2``, ``ghcr.io/org/app@sha256:...``). Image references
normalise the way Docker does: ``nginx`` is ``docker.io/library/nginx:latest``, and
Docker Hub is dialled at ``registry-1.docker.io``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from regdoctor.model import Target
from regdoctor.reference import dockerhub

DOCKER_HUB = dockerhub.DOMAIN
DOCKER_HUB_HOST = dockerhub.API_HOST
_HUB_ALIASES = dockerhub.ALIASES


# Image references follow the distribution grammar in regdoctor/reference/grammar.py; here only
# what decides between "a registry" and "an image" in a TARGET.
@functools.cache
def _hostname() -> re.Pattern[str]:
    return re.compile(
        r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?\Z"
    )


MAX_REFERENCE = 1024


class InvalidReference(ValueError):
    """The TARGET cannot be parsed; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class HostPort:
    """A host (name or address literal) and its port, if one was given."""

    host: str
    port: int | None


def split_hostport(text: str) -> HostPort:
    """``host``, ``host:5000``, ``[::1]:5000``, ``::1`` → host and optional port."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InvalidReference(f"unbalanced '[' in {text!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise InvalidReference(f"unexpected text after ']' in {text!r}")
        port_text = rest[1:] if rest else None
    elif text.count(":") > 1:  # a bare IPv6 address
        host, port_text = text, None
    elif ":" in text:
        host, port_text = text.split(":", 1)
    else:
        host, port_text = text, None
    if not host:
        raise InvalidReference(f"no host in {text!r}")
    if not _valid_host(host):
        raise InvalidReference(f"invalid registry host {host!r}")
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InvalidReference(f"invalid port {port_text!r} in {text!r}")
        port = int(port_text)
    return HostPort(host, port)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_hostname().match(host)) and len(host) <= 253


def is_ip_literal(host: str) -> bool:
    """An IP address, bracketed or not (``192.0.2.7``, ``[2001:db8::1]``), not a name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """Docker treats 127.0.0.0/8 and ::1 (and ``localhost``) as insecure registries."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
        raise InvalidReference("empty target")
    if len(text) > MAX_REFERENCE:
        raise InvalidReference(f"target longer than {MAX_REFERENCE} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidReference(f"target contains whitespace or control characters: {text!r}")
    scheme: str | None = None
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if match:
        scheme = match.group(1).lower()
        if scheme not in ("http", "https"):
            raise InvalidReference(f"unsupported scheme {scheme!r} (use https:// or http://)")
        text = text[match.end() :].rstrip("/")
        if text.endswith("/v2"):
            text = text[: -len("/v2")]
        if not text:
            raise InvalidReference(f"no host in {raw!r}")
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
    from regdoctor.reference.grammar import ReferenceSyntaxError, parse_normalized

    if scheme is not None and "/" in text:
        # https://host/repo: the first component is the registry even without a dot.
        first, _, rest = text.partition("/")
        if "." not in first and ":" not in first and first != "localhost":
            text = f"{first}:{443 if scheme == 'https' else 80}/{rest}"
    try:
        ref = parse_normalized(text)
    except ReferenceSyntaxError as exc:
        raise InvalidReference(f"{raw!r}: {exc}") from None
    hp = split_hostport(ref.domain)
    base = _registry_target(raw, hp, scheme=scheme, insecure=insecure, source=source)
    tag = ref.tag if ref.tag or ref.digest else "latest"
    return Target(
        raw=raw,
        registry=base.registry,
        host=base.host,
        port=base.port,
        scheme=scheme,
        insecure=insecure,
        repository=ref.path,
        tag=tag,
        digest=ref.digest,
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
