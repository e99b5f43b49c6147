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

Hardening:

- a file of a newer version than this regdoctor knows is refused (:class:`StateError`),
  never rewritten as version 1; a malformed file or entry is refused with a message
  naming the repository, the tag and what is wrong (nothing is rewritten);
- symlinks are *followed*, deliberately: a state path that is a symlink (a state file
  kept on a shared volume, linked from ``~/.local/state``) stays a symlink, and the file
  it points at is replaced atomically in its own directory (and locked there). A
  dangling link is refused;
- the file is read the bounded way (no FIFO, no device, at most :data:`MAX_STATE_BYTES`);
- the lock is waited on for at most ``timeout`` seconds (the run's deadline), then the
  run fails with a message instead of waiting as long as the holder lives.
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
MAX_STATE_BYTES = 64 * 1024 * 1024
#: How long a run waits for another run's lock by default.
DEFAULT_LOCK_TIMEOUT = 30.0


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
def locked(path: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    """An exclusive ``flock`` on ``PATH.lock``, waited on for at most ``timeout`` s."""
    import fcntl
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(lock_path, flags, 0o600)
    except OSError as exc:
        raise StateError(f"{lock_path}: {exc.strerror or exc}") from None
    try:
        ends = time.monotonic() + max(0.0, timeout)
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= ends:
                    raise StateError(
                        f"{lock_path}: still locked by another run after {timeout:g} s "
                        "(is a regdoctor tags --state stuck?)"
                    ) from None
                time.sleep(min(delay, max(0.0, ends - time.monotonic())))
                delay = min(delay * 2, 0.2)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _real_path(path: Path) -> Path:
    """The file a state path stands for: symlinks followed (see the module's notes)."""
    if path.is_symlink():
        real = Path(os.path.realpath(path))
        if not real.parent.is_dir():
            raise StateError(f"{path}: a symbolic link into a missing directory ({real.parent})")
        return real
    return path


def load(path: Path) -> dict[str, Any]:
    from regdoctor.discovery.base import UnreadableFile, read_bounded

    try:
        raw = read_bounded(path, MAX_STATE_BYTES)
    except FileNotFoundError:
        return {"version": VERSION, "repositories": {}}
    except UnreadableFile as exc:
        raise StateError(f"{path}: {exc.strerror}") from None
    except OSError as exc:
        raise StateError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise StateError(f"{path}: not UTF-8 text") from None
    except RecursionError:
        raise StateError(f"{path}: not a regdoctor tag state file (nested too deeply)") from None
    except ValueError as exc:
        raise StateError(f"{path}: not JSON ({exc})") from None
    validate(path, data)
    return data


def validate(path: Path | str, data: Any) -> None:
    """Raise :class:`StateError` naming what is wrong with a state document."""
    if not isinstance(data, dict):
        raise StateError(f"{path}: not a regdoctor tag state file (not a JSON object)")
    version = data.get("version", VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StateError(f"{path}: version {version!r} is not a state file version")
    if version > VERSION:
        raise StateError(
            f"{path}: written by a newer regdoctor (state version {version}, this one "
            f"knows {VERSION}); not changed: upgrade regdoctor or use another --state file"
        )
    repos = data.get("repositories")
    if not isinstance(repos, dict):
        raise StateError(f'{path}: not a regdoctor tag state file (no "repositories" object)')
    for repo, tags in repos.items():
        if not isinstance(tags, dict):
            raise StateError(f"{path}: repository {repo!r}: expected an object of tags")
        for tag, entry in tags.items():
            where = f"{path}: {repo}:{tag}"
            if not isinstance(entry, dict):
                raise StateError(f"{where}: expected an object, not {type(entry).__name__}")
            if not isinstance(entry.get("digest"), str) or not entry.get("digest"):
                raise StateError(f'{where}: "digest" must be a non-empty string')
            for key in ("first_seen", "last_seen"):
                if entry.get(key) is not None and not isinstance(entry[key], str):
                    raise StateError(f'{where}: "{key}" must be a string')
            history = entry.get("history", [])
            if history is None:
                continue
            if not isinstance(history, list):
                raise StateError(f'{where}: "history" must be a list')
            for i, item in enumerate(history):
                if not isinstance(item, dict) or not isinstance(item.get("digest"), str):
                    raise StateError(
                        f'{where}: history[{i}] must be an object with a "digest" string'
                    )


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


def record(
    path: Path,
    key: str,
    digests: dict[str, str],
    now: str,
    *,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> list[Drift]:
    """Record ``tag -> digest`` for repository ``key``; return the tags that moved.

    Tags not resolved in this run are left as they were (a failed HEAD is not a move).
    """
    path = _real_path(path)
    with locked(path, timeout):
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
