"""The token realm each registry named the last time it was checked, kept between runs,
so that the next check can reach that realm *while* it asks the registry (a preconnect,
as a browser's predictor does for the hosts a page used before).

A registry whose realm is on another host (``auth.docker.io``, a GitLab, a Keycloak) makes
every check wait for the realm's DNS, TCP and TLS after the registry's 401 names it: two
or three round trips on the critical path. Checked again (a monitor runs every minute,
an engineer runs ``check`` again after a fix), the registry almost always names the same
realm, and ``probes/realm_early.py`` does those steps beside the registry's own. The
hint is only to decide *when* the realm's host is reached, not what is concluded: the
registry's 401 is still read, and a hint that differs from it (or a session the realm
closed meanwhile) is dropped unused.

The file is ``realm-hints.json`` among regdoctor's caches (``regdoctor/cache_files.py``:
the user's own directory, ``REGDOCTOR_NO_CACHE=1`` turns it off). It holds, per registry
``host:port``, the realm's origin (``https://host:port``, no path, query or credentials)
and when it was last seen; at most :data:`MAX_ENTRIES`, none older than :data:`MAX_AGE_S`.

A few public registries name a realm on another host that is known before any check
(:data:`KNOWN`: Docker Hub's ``auth.docker.io``, GitLab.com's ``gitlab.com``), so their
*first* check reaches it early too, with or without the file. What the registry names
wins: a realm learned from its 401 replaces the known one, and a known registry that
named no realm is remembered as naming none (``"realm": null``), so it is not reached
again for nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from regdoctor.cache_files import cache_dir, caching_off, read_trusted, write_bytes
from regdoctor.reference import dockerhub

#: The most registries remembered (the oldest are forgotten first).
MAX_ENTRIES = 256
#: A hint not confirmed for this long is forgotten.
MAX_AGE_S = 30 * 24 * 3600.0
#: A hint confirmed again is written back only when older than this (no write per run).
REFRESH_S = 24 * 3600.0
FILE_NAME = "realm-hints.json"

#: Registries (``host:port``) whose token realm (origin) is another host, as their own 401
#: names it:
#: - Docker Hub: ``Bearer realm="https://auth.docker.io/token",service="registry.docker.io"``
#:   (:mod:`regdoctor.reference.dockerhub`; the pastes under ``rules/auth/`` show it);
#: - GitLab.com: ``Bearer realm="https://gitlab.com/jwt/auth",service="container_registry"``
#:   (quoted in deitch/docker_registry2#14).
#: Registries whose realm is on their own origin (ghcr.io, quay.io, gcr.io, a Harbor) need
#: no entry: the token request goes on the registry's own connection.
KNOWN: dict[str, str] = {
    f"{dockerhub.API_HOST}:443": f"https://{dockerhub.AUTH_HOST}:443",
    "registry.gitlab.com:443": "https://gitlab.com:443",
}


def origin(url: str) -> str | None:
    """``https://auth.example:443`` of a realm URL (the scheme's port when it names none);
    None for anything but an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}:{port or (443 if parts.scheme == 'https' else 80)}"


@dataclass
class RealmHints:
    """The hints of one run: read once, on first use; written at the run's end if changed."""

    _entries: dict[str, dict[str, object]] | None = None
    _changed: bool = False

    def _load(self) -> dict[str, dict[str, object]]:
        if self._entries is not None:
            return self._entries
        self._entries = {}
        if caching_off():
            return self._entries
        raw = read_trusted(cache_dir() / FILE_NAME)
        try:
            data = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError, RecursionError):
            data = {}
        now = time.time()
        if isinstance(data, dict):
            for registry, entry in list(data.items())[-MAX_ENTRIES:]:
                if not isinstance(registry, str) or not isinstance(entry, dict):
                    continue
                realm, seen = entry.get("realm"), entry.get("seen")
                if (
                    (
                        (isinstance(realm, str) and origin(realm) == realm)
                        or _none_known(registry, realm)
                    )
                    and isinstance(seen, int | float)
                    and 0 <= now - seen <= MAX_AGE_S
                ):
                    self._entries[registry] = {"realm": realm, "seen": seen}
        return self._entries

    def recall(self, registry: str) -> str | None:
        """The realm origin ``registry`` (``host:port``) named last time (else the one it
        is :data:`KNOWN` to name), or None."""
        entry = self._load().get(registry)
        if entry is None:
            return KNOWN.get(registry)
        realm = entry.get("realm")
        return realm if isinstance(realm, str) else None

    def learned(self, registry: str) -> bool:
        """Whether what :meth:`recall` says comes from the registry's own earlier answer
        (else from :data:`KNOWN`, or nothing)."""
        return registry in self._load()

    def note(self, registry: str, realm: str | None) -> None:
        """What ``registry`` named this time: a realm URL, or None (no token realm: an
        anonymous registry, a Basic challenge, a realm on its own host)."""
        if caching_off():
            return
        entries = self._load()
        found = origin(realm) if realm else None
        old = entries.get(registry)
        now = time.time()
        if (found is None and registry not in KNOWN) or (found and found == KNOWN.get(registry)):
            if old is not None:  # nothing to keep: no realm, or the one it is known to name
                del entries[registry]
                self._changed = True
            return
        seen = old.get("seen") if old else None
        if (
            old is not None
            and old.get("realm") == found
            and isinstance(seen, int | float)
            and now - seen < REFRESH_S
        ):
            return
        entries.pop(registry, None)  # re-inserted last: the newest survive the cap
        entries[registry] = {"realm": found, "seen": int(now)}
        self._changed = True

    def save(self) -> None:
        """Write the hints back if this run changed them (an error only costs speed)."""
        if not self._changed or self._entries is None or caching_off():
            return
        self._changed = False
        kept = dict(list(self._entries.items())[-MAX_ENTRIES:])
        data = json.dumps(kept, sort_keys=False, separators=(",", ":")).encode()
        write_bytes(cache_dir() / FILE_NAME, data, prefix=".realm-hints-")


def _none_known(registry: str, realm: object) -> bool:
    """A :data:`KNOWN` registry's entry saying it named no realm (``"realm": null``)."""
    return realm is None and registry in KNOWN
