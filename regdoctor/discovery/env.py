"""The environment: proxies with Go's semantics, and the TLS trust variables.

docker, containerd, podman, skopeo and kubelet are Go programs; they all choose a proxy
with ``golang.org/x/net/http/httpproxy``: ``HTTPS_PROXY`` for https URLs,
``HTTP_PROXY`` for http URLs (upper case wins over lower case), no ``ALL_PROXY``, never a
proxy for ``localhost`` or a loopback address, and ``NO_PROXY`` entries that are
``*``, an IP address, a CIDR, a domain (``example.com`` matches it and its
subdomains, ``.example.com`` only the subdomains, ``*.example.com`` likewise), each
optionally with ``:port``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

PROXY_NAMES = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")
TLS_NAMES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


def getenv_either(env: Mapping[str, str], name: str) -> tuple[str | None, str | None]:
    """Value and the variable it came from: upper case first, as Go does."""
    for variant in (name, name.lower()):
        value = env.get(variant)
        if value:
            return value, variant
    return None, None


@dataclass(frozen=True, eq=False)
class NoProxyEntry:
    """One ``NO_PROXY`` entry, parsed as Go's httpproxy does."""

    text: str
    kind: str  # all, ip, cidr, domain, invalid
    port: str = ""
    value: Any = None
    match_host: bool = True

    def matches(self, host: str, port: str, ip: Any) -> bool:
        if self.kind == "all":
            return True
        if self.kind == "cidr":
            return ip is not None and ip in self.value
        if self.kind == "ip":
            return ip is not None and ip == self.value and (not self.port or self.port == port)
        if self.kind == "domain":
            suffix = str(self.value)
            if host.endswith(suffix) or (self.match_host and host == suffix[1:]):
                return not self.port or self.port == port
        return False


def _split_host_port(text: str) -> tuple[str, str] | None:
    """``net.SplitHostPort`` of Go: (host, port), brackets removed, or None where Go
    returns an error (no port: ``host``, ``[2001:db8::1]``; too many colons:
    ``2001:db8::1``; a stray bracket)."""
    colon = text.rfind(":")
    if colon < 0:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or end + 1 != colon:
            return None
        host, inner_from, outer_from = text[1:end], 1, end + 1
    else:
        host, inner_from, outer_from = text[:colon], 0, 0
        if ":" in host:
            return None
    if "[" in text[inner_from:] or "]" in text[outer_from:]:
        return None
    return host, text[colon + 1 :]


def parse_no_proxy(text: str) -> list[NoProxyEntry]:
    entries: list[NoProxyEntry] = []
    for raw in text.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            entries.append(NoProxyEntry(entry, "all"))
            continue
        try:
            entries.append(NoProxyEntry(entry, "cidr", value=ipaddress.ip_network(entry, False)))
            continue
        except ValueError:
            pass
        split = _split_host_port(entry)
        # as Go's httpproxy: an entry that is no host:port ("[2001:db8::1]" without a
        # port, "2001:db8::1") is matched whole: an IP, else a domain ("[2001:db8::1]"
        # then matches no host, since a URL's host is compared without brackets)
        host, port = split if split is not None else (entry, "")
        if split is not None and not host:
            continue  # Go ignores an entry with a port and no host (":80")
        if port and not port.isdigit():
            entries.append(NoProxyEntry(entry, "invalid"))
            continue
        try:
            entries.append(NoProxyEntry(entry, "ip", port, ipaddress.ip_address(host)))
            continue
        except ValueError:
            pass
        if host.startswith("*."):
            host = host[1:]
        match_host = not host.startswith(".")
        if match_host:
            host = "." + host
        if host == ".":
            entries.append(NoProxyEntry(entry, "invalid"))
            continue
        entries.append(NoProxyEntry(entry, "domain", port, host, match_host))
    return entries


@dataclass(frozen=True)
class ProxyChoice:
    """The proxy the environment gives one URL, the variable that decided, and why."""

    proxy: str | None
    variable: str | None  # the variable that named it, or that bypassed it
    reason: str  # proxied, no_proxy, loopback, none


@dataclass(frozen=True, eq=False)
class ProxyEnv:
    """The proxy variables of one environment (a process's, or a daemon's)."""

    https_proxy: str | None = None
    https_var: str | None = None
    http_proxy: str | None = None
    http_var: str | None = None
    no_proxy: str | None = None
    no_proxy_var: str | None = None
    source: str = "environment"
    entries: list[NoProxyEntry] = field(default_factory=list)

    @classmethod
    def from_env(cls, env: Mapping[str, str], source: str = "environment") -> ProxyEnv:
        https, https_var = getenv_either(env, "HTTPS_PROXY")
        http, http_var = getenv_either(env, "HTTP_PROXY")
        no_proxy, no_var = getenv_either(env, "NO_PROXY")
        return cls(
            https,
            https_var,
            http,
            http_var,
            no_proxy,
            no_var,
            source,
            parse_no_proxy(no_proxy or ""),
        )

    @property
    def configured(self) -> bool:
        return bool(self.https_proxy or self.http_proxy)

    def choose(self, url: str) -> ProxyChoice:
        """The proxy Go would use for ``url``."""
        parts = urlsplit(url)
        scheme = parts.scheme or "https"
        host = (parts.hostname or "").lower()
        try:
            port = str(parts.port or (443 if scheme == "https" else 80))
        except ValueError:
            port = "443"
        proxy, variable = (
            (self.https_proxy, self.https_var)
            if scheme == "https"
            else (self.http_proxy, self.http_var)
        )
        if not proxy:
            return ProxyChoice(None, None, "none")
        ip: Any = None
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if host == "localhost" or (ip is not None and ip.is_loopback):
            return ProxyChoice(None, None, "loopback")
        for entry in self.entries:
            if entry.matches(host, port, ip):
                return ProxyChoice(None, self.no_proxy_var, "no_proxy")
        return ProxyChoice(proxy, variable, "proxied")

    def to_dict(self) -> dict[str, Any]:
        from regdoctor.redact.secrets import redact

        return {
            "source": self.source,
            "https_proxy": redact(self.https_proxy) if self.https_proxy else None,
            "http_proxy": redact(self.http_proxy) if self.http_proxy else None,
            "no_proxy": self.no_proxy,
            "invalid_no_proxy": [e.text for e in self.entries if e.kind == "invalid"],
        }


@dataclass(frozen=True, eq=False)
class Environment:
    """What the environment says about proxies and the TLS trust store."""

    proxy: ProxyEnv
    ssl_cert_file: str | None = None
    ssl_cert_dir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "proxy": self.proxy.to_dict(),
            "SSL_CERT_FILE": self.ssl_cert_file,
            "SSL_CERT_DIR": self.ssl_cert_dir,
        }


def discover(env: Mapping[str, str]) -> Environment:
    return Environment(
        proxy=ProxyEnv.from_env(env),
        ssl_cert_file=env.get("SSL_CERT_FILE") or None,
        ssl_cert_dir=env.get("SSL_CERT_DIR") or None,
    )
