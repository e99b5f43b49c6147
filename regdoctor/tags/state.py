"""The drift state file: what digest each tag pointed at, and since when.

Default location: ``$XDG_STATE_HOME/regdoctor/tags-state.json`` (``~/.local/state``
when unset). Written atomically (a temporary file in the same directory, fsync, then
``os.replace``) under an exclusive ``flock`` on a sibling lock file, so a monitoring job
that runs every few minutes never leaves a half-written file and two runs never lose
each other's updates.

Layout (version 1)::

    {"version": 1, "repositories": {"REGISTRY/REPO": {"TAG": {
        "digest": "sha256:...", "first_seen": ISO, "last_seen": ISO,
        "history": [{"digest": ..., "first_seen": ..., "last_seen": ...}]}}}}
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = 1
MAX_HISTORY = 20


def default_state_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "regdoctor" / "tags-state.json"


@dataclass(frozen=True)
class Drift:
    tag: str
    previous_digest: str
    previous_first_seen: str | None
    previous_last_seen: str | None
    digest: str
    first_seen: str  # when the current digest was first seen for this tag

    def facts(self, repository: str) -> dict[str, Any]:
        return {
            "repository": repository,
            "tag": self.tag,
            "digest": self.digest,
            "first_seen": self.first_seen,
            "previous_digest": self.previous_digest,
            "previous_first_seen": self.previous_first_seen,
            "previous_last_seen": self.previous_last_seen,
        }


class StateError(Exception):
    pass


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"version": VERSION, "repositories": {}}
    except OSError as exc:
        raise StateError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("repositories"), dict):
        raise StateError(f"{path}: not a regdoctor tag state file")
    return data


def save(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def record(path: Path, key: str, digests: dict[str, str], now: str) -> list[Drift]:
    """Record ``tag -> digest`` for repository ``key``; return the tags that moved.

    Tags not resolved in this run are left as they were (a failed HEAD is not a move).
    """
    with locked(path):
        data = load(path)
        repos = data.setdefault("repositories", {})
        entries: dict[str, Any] = repos.setdefault(key, {})
        drifts: list[Drift] = []
        for tag, digest in digests.items():
            entry = entries.get(tag)
            if not isinstance(entry, dict) or not entry.get("digest"):
                entries[tag] = {
                    "digest": digest,
                    "first_seen": now,
                    "last_seen": now,
                    "history": [],
                }
                continue
            if entry["digest"] == digest:
                entry["last_seen"] = now
                continue
            history = [h for h in entry.get("history") or [] if isinstance(h, dict)]
            earlier = next((h for h in reversed(history) if h.get("digest") == digest), None)
            first_seen = str(earlier.get("first_seen")) if earlier else now
            drifts.append(
                Drift(
                    tag=tag,
                    previous_digest=str(entry["digest"]),
                    previous_first_seen=entry.get("first_seen"),
                    previous_last_seen=entry.get("last_seen"),
                    digest=digest,
                    first_seen=first_seen,
                )
            )
            history.append(
                {
                    "digest": entry["digest"],
                    "first_seen": entry.get("first_seen"),
                    "last_seen": entry.get("last_seen"),
                }
            )
            entries[tag] = {
                "digest": digest,
                "first_seen": first_seen,
                "last_seen": now,
                "history": history[-MAX_HISTORY:],
            }
        data["version"] = VERSION
        save(path, data)
    return drifts
