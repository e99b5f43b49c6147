"""The methods ``@dataclass`` writes, compiled once and kept (a start-up cache).

``@dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``
(and, frozen, ``__setattr__`` and ``__delattr__``) as Python source and compiles it with
``exec``, class by class, every time the class's module is imported. A check imports some
90 dataclasses (regdoctor's model, options and probes; h11's events; dnspython's records)
before its first verdict: about a third of a millisecond of compiling each, some 30 ms of
CPU of a ~220 ms process (benchmarks/README.md, issue 16).

So in regdoctor's own process (:func:`install`, from ``main()``), the ``exec`` that the
``dataclasses`` module calls is this module's: it looks the source text up in a table of
code objects read from ``$XDG_CACHE_HOME/regdoctor/dataclass-code-*.marshal`` (one per
interpreter) and compiles
only a text it has not seen, exactly as ``exec`` would (filename ``<string>``, no
``__future__`` flag inherited from this module). The function that runs is the same; only
its compiling is skipped. :func:`save` writes the table back when the run compiled
something new (a new regdoctor, a new class). The key is the source text itself, so an
edited class only misses; the file starts with the interpreter's version and the
``dataclasses`` module's file (read before any code object is), and is read only if it
is this user's, in a directory of the user's, neither writable by anybody else
(:mod:`regdoctor.cache_files`), as the rule caches are. ``REGDOCTOR_NO_CACHE=1``
leaves ``dataclasses`` alone.
"""

from __future__ import annotations

import builtins
import os
import sys
from typing import Any

from regdoctor.cache_files import cache_dir, caching_off, read_trusted, write_bytes

__all__ = ["install", "save"]

#: One file per interpreter (marshal's code objects are not portable across versions; two
#: Pythons sharing a cache directory would replace each other's file on every run).
_VERSION = ".".join(str(part) for part in sys.version_info[:3])
FILE_NAME = f"dataclass-code-{sys.implementation.name}-{_VERSION}.marshal"
#: More entries than this (many regdoctor versions' classes: ~1 KB each) and the file keeps
#: only the last run's.
MAX_ENTRIES = 1500

_table: dict[str, Any] = {}
_used: set[str] = set()
_compiled = 0
_installed = False


def _key() -> tuple[str, str, int, int]:
    import dataclasses

    path = dataclasses.__file__ or ""
    try:
        st = os.stat(path)
        return (sys.version, path, st.st_mtime_ns, st.st_size)
    except OSError:
        return (sys.version, path, -1, -1)


def _path() -> Any:
    return cache_dir() / FILE_NAME


def _load() -> dict[str, Any]:
    """The kept table: two marshal records, the key (plain data), then the table, read
    only when the key is this interpreter's."""
    import io
    import marshal

    raw = read_trusted(_path())
    if raw is None:
        return {}
    try:
        stream = io.BytesIO(raw)
        if marshal.load(stream) != _key():  # noqa: S302 - our own file, checked as read
            return {}
        table = marshal.load(stream)  # noqa: S302
    except Exception:
        return {}
    if not isinstance(table, dict):
        return {}
    code_type = type(_load.__code__)
    return {k: v for k, v in table.items() if isinstance(k, str) and type(v) is code_type}


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    """``exec`` for the ``dataclasses`` module: a known source text runs its kept code."""
    global _compiled
    if not isinstance(source, str) or globals is None:
        # not what dataclasses sends: exec it as given, in the caller's namespace, without
        # this module's __future__ flags
        frame = sys._getframe(1)
        if globals is None:
            globals, locals = frame.f_globals, frame.f_locals if locals is None else locals
        if isinstance(source, str):
            source = compile(source, "<string>", "exec", dont_inherit=True)
        builtins.exec(source, globals, locals)  # noqa: S102 - what dataclasses asked for
        return
    code = _table.get(source)
    if code is None:
        code = compile(source, "<string>", "exec", dont_inherit=True)
        _table[source] = code
        _compiled += 1
    _used.add(source)
    builtins.exec(code, globals, locals)  # noqa: S102 - dataclasses' own method source


def install() -> None:
    """Use the kept code for the classes defined from now on (once per process)."""
    global _installed
    if _installed or caching_off():
        return
    import dataclasses

    _table.update(_load())
    dataclasses.exec = _exec  # type: ignore[attr-defined]  # shadows the builtin there only
    _installed = True


def save() -> None:
    """Write the table if this run compiled something new (errors only cost speed)."""
    if not _installed or not _compiled:
        return
    import marshal

    try:
        table = dict(_table)  # another thread may define a class meanwhile
        if len(table) > MAX_ENTRIES:
            table = {k: table[k] for k in list(_used) if k in table}
        data = marshal.dumps(_key()) + marshal.dumps(table)
    except Exception:
        return
    write_bytes(_path(), data, prefix=".dataclass-code-")
