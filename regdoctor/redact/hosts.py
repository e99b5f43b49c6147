"""``--redact-hosts``: mask internal host names, addresses and user names too.

A :class:`HostRedactor` is a :class:`~regdoctor.redact.secrets.Redactor` (secrets first, as
always) that then replaces each registered host name, IP address or user name by a stable
pseudonym: ``host-1``, ``host-2``... and ``user-1``..., the same name for the same value
everywhere in one report, so a reader can still tell that the token realm and the
registry are the same host.

Well-known public registries (``docker.io``, ``ghcr.io``, ``quay.io``...) and loopback
names are kept: they reveal nothing about the reporter's network and help the reader.

:func:`report_redactor` builds one for a finished report: it registers every host the
report talks about (targets, token realms, proxies, DNS names, resolved addresses, TLS
names) and the local and registry user names.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from regdoctor.model import Report, TargetReport
from regdoctor.redact.secrets import Redactor
from regdoctor.reference import dockerhub

__all__ = ["PUBLIC_HOSTS", "HostRedactor", "learn_hosts", "report_redactor"]

#: Public registries and their auth/CDN hosts: never masked.
PUBLIC_HOSTS: frozenset[str] = frozenset(
    {
        *dockerhub.PUBLIC_NAMES,
        "production.cloudflare.docker.com",
        "ghcr.io",
        "pkg-containers.githubusercontent.com",
        "quay.io",
        "gcr.io",
        "mirror.gcr.io",
        "registry.k8s.io",
        "k8s.gcr.io",
        "mcr.microsoft.com",
        "public.ecr.aws",
        "registry.gitlab.com",
        "nvcr.io",
    }
)
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
# User names this short or this common would mask ordinary words everywhere.
_COMMON_USERS = frozenset({"root", "user", "admin", "nobody", "docker", "test", "ubuntu"})
_MIN_USER_LEN = 3


def _is_public_or_loopback(host: str) -> bool:
    name = host.strip("[]").lower().rstrip(".")
    if name in PUBLIC_HOSTS or name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostRedactor(Redactor):
    """A :class:`Redactor` that also masks host names, addresses and user names."""

    __slots__ = ("_name_pattern", "_names")

    def __init__(self, secrets: Iterable[str | Any] = (), base: Redactor | None = None) -> None:
        super().__init__(secrets)
        if base is not None:
            # Same literal secrets as the base redactor (its registered forms).
            for value in getattr(base, "_secrets", ()):
                self.add(value, variants=False)
        self._names: dict[str, str] = {}
        self._name_pattern: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"HostRedactor({len(self)} secrets, {len(self._names)} names)"

    @property
    def masked_names(self) -> int:
        return len(self._names)

    def add_host(self, host: str | None) -> None:
        """Mask ``host`` (a DNS name or an IP address), unless public or loopback."""
        if not host or not isinstance(host, str):
            return
        name = host.strip().strip("[]").rstrip(".")
        if not name or _is_public_or_loopback(name) or len(name) < 2:
            return
        key = name.lower()
        if key not in self._names:
            count = sum(1 for v in self._names.values() if v.startswith("host-"))
            self._names[key] = f"host-{count + 1}"
            self._compile()

    def add_user(self, user: str | None) -> None:
        """Mask a user name (a login, a registry account)."""
        if not user or not isinstance(user, str):
            return
        name = user.strip()
        if len(name) < _MIN_USER_LEN or name.lower() in _COMMON_USERS:
            return
        key = name.lower()
        if key not in self._names:
            count = sum(1 for v in self._names.values() if v.startswith("user-"))
            self._names[key] = f"user-{count + 1}"
            self._compile()

    def _compile(self) -> None:
        ordered = sorted(self._names, key=len, reverse=True)
        # Not inside a longer name: "reg.corp" must not hit "myreg.corp.example".
        alternatives = "|".join(re.escape(n) for n in ordered)
        self._name_pattern = re.compile(
            rf"(?<![A-Za-z0-9_.-])(?:{alternatives})(?![A-Za-z0-9_-]|\.[A-Za-z0-9])",
            re.IGNORECASE,
        )

    def mask_names(self, text: str) -> str:
        pattern = self._name_pattern
        if pattern is None or not text:
            return text
        return pattern.sub(lambda m: self._names.get(m.group(0).lower(), "****"), text)

    def redact(self, text: str) -> str:
        return self.mask_names(super().redact(text))

    __call__ = redact


def _hosts_in(value: Any) -> Iterable[str]:
    """Host names and addresses in an observation's facts (by their usual names)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("host", "name", "realm_host", "sni", "address") and isinstance(item, str):
                yield item
            elif key in ("addresses", "dns_addresses", "names", "sans") and isinstance(item, list):
                yield from (a for a in item if isinstance(a, str))
            elif key in ("url", "realm", "proxy") and isinstance(item, str) and "://" in item:
                try:
                    host = urlsplit(item).hostname
                except ValueError:
                    host = None
                if host:
                    yield host
            elif isinstance(item, Mapping | list):
                yield from _hosts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _hosts_in(item)


def local_users() -> list[str]:
    """The local login name and the name in the home directory path."""
    users: list[str] = []
    try:
        users.append(getpass.getuser())
    except (KeyError, OSError):
        pass
    home = os.environ.get("HOME")
    if home:
        users.append(Path(home).name)
    return users


def report_redactor(
    report: Report,
    base: Redactor | None = None,
    *,
    usernames: Iterable[str] = (),
    hosts: Iterable[str] = (),
) -> HostRedactor:
    """A :class:`HostRedactor` knowing every host and user name of ``report``."""
    redactor = HostRedactor(base=base)
    learn_hosts(redactor, report.targets)
    for host in hosts:
        redactor.add_host(host)
    for user in [*usernames, *local_users()]:
        redactor.add_user(user)
    return redactor


def learn_hosts(redactor: HostRedactor, reports: Iterable[TargetReport]) -> None:
    """Teach ``redactor`` the host names of ``reports`` (a streamed report learns them
    target by target)."""
    for target_report in reports:
        target = target_report.target
        redactor.add_host(target.host)
        redactor.add_host(target.registry.rsplit(":", 1)[0] if target.registry else None)
        endpoint = target_report.endpoint
        if isinstance(endpoint, Mapping):
            for host in _hosts_in(dict(endpoint)):
                redactor.add_host(host)
        for observation in target_report.observations:
            facts = observation.facts if isinstance(observation.facts, Mapping) else {}
            for host in _hosts_in(dict(facts)):
                redactor.add_host(host)
