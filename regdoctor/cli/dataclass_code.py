"""The methods ``@dataclass`` writes, compiled once and kept (a start-up cache).

``@dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``
(and, frozen, ``__setattr__`` and ``__delattr__``) as Python source and compiles it with
``exec``, class by class, every time the class's module is imported. A check imports some
90 dataclasses (regdoctor's model, options and probes; h11's events; dnspython's records)
before its first verdict: about a third of a millisecond of compiling each, some 30 ms of
CPU of a ~220 ms process (benchmarks/README.md, issue 16).

So in regdoctor's own process (:func:`install`, from ``main()``), the ``exec`` that the
``dataclasses`` module calls is this module's: it looks the source text up in a table of
code objects read from ``$XDG_CACHE_HOME/regdoctor/dataclass-code.marshal`` and compiles
only a text it has not seen, exactly as ``exec`` would (filename ``<string>``, no
``__future__`` flag inherited from this module). The function that runs is the same; only
its compiling is skipped. :func:`save` writes the table back when the run compiled
something new (a new regdoctor, a new class). The key is the source text itself, so an
edited class only misses; the file is keyed by the interpreter's version and the
``dataclasses`` module's file, and read only if it is this user's and writable by nobody
else (:mod:`regdoctor.cache_files`), as the rule caches are. ``REGDOCTOR_NO_CACHE=1``
leaves ``dataclasses`` alone.
"""

from __future__ import annotations

import builtins
import os
import sys
from typing import Any

from regdoctor.cache_files import cache_dir, caching_off, trusted, write_bytes

__all__ = ["install", "save"]

FILE_NAME = "dataclass-code.marshal"
#: More entries than this (many regdoctor versions' classes) and the file keeps only the
#: last run's.
MAX_ENTRIES = 4000

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
    import marshal

    path = _path()
    if not trusted(path):
        return {}
    try:
        key, table = marshal.loads(path.read_bytes())  # noqa: S302 - our own file, checked
    except Exception:
        return {}
    if key != _key() or not isinstance(table, dict):
        return {}
    code_type = type(_load.__code__)
    return {k: v for k, v in table.items() if isinstance(k, str) and type(v) is code_type}


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    """``exec`` for the ``dataclasses`` module: a known source text runs its kept code."""
    global _compiled
    if not isinstance(source, str) or globals is None:
        # not what dataclasses sends: exec it as given, in the caller's namespace
        frame = sys._getframe(1)
        if globals is None:
            globals, locals = frame.f_globals, frame.f_locals if locals is None else locals
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

    table = _table if len(_table) <= MAX_ENTRIES else {k: _table[k] for k in _used}
    try:
        data = marshal.dumps((_key(), dict(table)))
    except Exception:
        return
    write_bytes(_path(), data, prefix=".dataclass-code-")
