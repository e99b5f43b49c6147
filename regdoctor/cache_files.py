"""regdoctor's cache files: where they live, which may be read, how they are written.

Every cache (the rule catalog, the explain index, the compiled dataclass methods) lives
under ``$XDG_CACHE_HOME/regdoctor/`` (default ``~/.cache/regdoctor/``). A cache file is
read only if it is this user's and writable by nobody else (unpickling or unmarshalling
a file is running it); it is written to a temporary file in a ``0700`` directory and
renamed into place, ``0600``. A directory that cannot be written is not an error: a
cache only saves time. A directory regdoctor did not make is used only if it is the
user's and writable by nobody else. ``REGDOCTOR_NO_CACHE=1`` turns every cache off.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["cache_dir", "caching_off", "read_trusted", "trusted", "write_bytes"]


def caching_off() -> bool:
    return bool(os.environ.get("REGDOCTOR_NO_CACHE"))


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "regdoctor"


def _ours(st: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else."""
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    return not st.st_mode & 0o022


def trusted(path: Path) -> bool:
    """Only our own file, not writable by group or others, in a directory of ours that
    nobody else may write to either (who can write there can replace the file), is
    loaded."""
    try:
        return _ours(path.parent.stat()) and _ours(path.lstat()) and path.is_file()
    except OSError:
        return False


def read_trusted(path: Path) -> bytes | None:
    """The file's bytes if it is :func:`trusted`: checked on the file that is read (opened
    without following a link, checked with ``fstat``), not on the path. None otherwise."""
    try:
        if not _ours(path.parent.stat()):
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not _ours(st) or not stat.S_ISREG(st.st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes, *, prefix: str = ".cache-") -> None:
    """Write ``data`` to ``path`` at once (a reader sees the old file or the new one);
    any error only costs speed, it is never raised."""
    import tempfile

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=prefix, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except Exception:
        return
