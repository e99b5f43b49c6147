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
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from regdoctor.cache_files import cache_dir, caching_off, read_trusted, write_bytes

#: The most registries remembered (the oldest are forgotten first).
MAX_ENTRIES = 256
#: A hint not confirmed for this long is forgotten.
MAX_AGE_S = 30 * 24 * 3600.0
#: A hint confirmed again is written back only when older than this (no write per run).
REFRESH_S = 24 * 3600.0
FILE_NAME = "realm-hints.json"


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
                    isinstance(realm, str)
                    and origin(realm) == realm
                    and isinstance(seen, int | float)
                    and 0 <= now - seen <= MAX_AGE_S
                ):
                    self._entries[registry] = {"realm": realm, "seen": seen}
        return self._entries

    def recall(self, registry: str) -> str | None:
        """The realm origin ``registry`` (``host:port``) named last time, or None."""
        entry = self._load().get(registry)
        realm = entry.get("realm") if entry else None
        return realm if isinstance(realm, str) else None

    def note(self, registry: str, realm: str | None) -> None:
        """What ``registry`` named this time: a realm URL, or None (no token realm: an
        anonymous registry, a Basic challenge, a realm on its own host)."""
        if caching_off():
            return
        entries = self._load()
        found = origin(realm) if realm else None
        old = entries.get(registry)
        if found is None:
            if old is not None:
                del entries[registry]
                self._changed = True
            return
        now = time.time()
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
