"""httpx and httpcore without the optional extras they import merely because they are
installed: regdoctor's single way to import them (``from regdoctor.net.lean_httpx
import httpcore, httpx``).

- ``httpcore._synchronization`` imports ``trio`` whenever trio is installed (about
  40-70 ms of start-up), for clients running under trio; regdoctor runs on asyncio
  alone, so trio would never be used.
- ``httpx/__init__`` imports ``httpx._main``, the ``httpx`` command-line client, which
  pulls in click, rich.progress, rich.syntax and Pygments (about 50 ms) when they are
  installed.
- ``httpcore._synchronization`` imports ``anyio`` and makes the pool's locks, events and
  shields with it under asyncio; the first of them loads anyio's whole asyncio backend
  (about 15 ms). regdoctor connects through its own asyncio backend
  (``net/asyncio_backend.py``), and httpcore's synchronization module is given the
  asyncio equivalents of those few primitives (``net/asyncio_sync.py``). httpcore's own
  ``AnyIOBackend`` name is then a stub; its default backend still imports anyio when a
  pool without a backend is used, so other code (tests) keeps working.

All three are written as ``try: import X except ImportError: fallback``. While httpx and
httpcore are first imported, ``sys.modules[X] = None`` makes that import raise
``ImportError``, so each library takes its own documented fallback (trio support off;
a stub ``httpx.main``). The blocks are lifted right after, so anything else in the
process can still import trio or click. If httpx was already imported (by a test, or
an embedding program), nothing changes.
"""

from __future__ import annotations

import sys

#: Modules the first import of httpx/httpcore must not load: each is optional there.
OPTIONAL_EXTRAS = ("trio", "httpx._main", "anyio")


def _import_lean() -> None:
    if "httpx" in sys.modules and "httpcore" in sys.modules:
        return
    blocked = [name for name in OPTIONAL_EXTRAS if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import httpcore  # noqa: F401
        import httpx  # noqa: F401
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    from httpcore import _synchronization

    if _synchronization.anyio is None:  # anyio was blocked: asyncio's primitives instead
        from regdoctor.net import asyncio_sync

        _synchronization.anyio = asyncio_sync


_import_lean()

import httpcore  # noqa: E402
import httpx  # noqa: E402

__all__ = ["OPTIONAL_EXTRAS", "httpcore", "httpx"]
