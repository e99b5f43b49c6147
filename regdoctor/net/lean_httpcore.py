"""httpcore without the optional extras it imports merely because they are installed:
regdoctor's single way to import it (``from regdoctor.net.lean_httpcore import
httpcore``).

- ``httpcore._synchronization`` imports ``trio`` whenever trio is installed (about
  40-70 ms of start-up), for clients running under trio; regdoctor runs on asyncio
  alone, so trio would never be used.
- ``httpcore._synchronization`` imports ``anyio`` and makes the pool's locks, events and
  shields with it under asyncio; the first of them loads anyio's whole asyncio backend
  (about 15 ms). regdoctor connects through its own asyncio backend
  (``net/asyncio_backend.py``), and httpcore's synchronization module is given the
  asyncio equivalents of those few primitives (``net/asyncio_sync.py``). httpcore's own
  ``AnyIOBackend`` name is then a stub; its default backend still imports anyio when a
  pool without a backend is used, so other code (tests) keeps working.

Both are written as ``try: import X except ImportError: fallback``. While httpcore is
first imported, ``sys.modules[X] = None`` makes that import raise ``ImportError``, so
httpcore takes its own documented fallback (trio support off). The blocks are lifted
right after, so anything else in the process can still import trio or anyio. If
httpcore was already imported (by a test, or an embedding program), it is left as it is,
except that without anyio it is given asyncio's primitives too.

regdoctor's HTTP client (``net/http_client.py``) is built on httpcore directly: httpx
(its client, models, cookie jar, ``urllib.request``, ``email``...) is not imported by a
run (httpx is only a test dependency, for comparing request bytes).
"""

from __future__ import annotations

import sys

#: Modules the first import of httpcore must not load: each is optional there.
OPTIONAL_EXTRAS = ("trio", "anyio")


def import_lean() -> None:
    """Import httpcore with ``OPTIONAL_EXTRAS`` blocked, then give it asyncio's
    primitives if anyio was blocked (or is not installed)."""
    if "httpcore" not in sys.modules:
        blocked = [name for name in OPTIONAL_EXTRAS if name not in sys.modules]
        for name in blocked:
            sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
        try:
            import httpcore  # noqa: F401
        finally:
            for name in blocked:
                if name in sys.modules and sys.modules[name] is None:
                    del sys.modules[name]
    _asyncio_primitives()


def _asyncio_primitives() -> None:
    """httpcore without anyio (blocked here, or not installed): asyncio's primitives."""
    from httpcore import _synchronization

    if _synchronization.anyio is None:
        from regdoctor.net import asyncio_sync

        _synchronization.anyio = asyncio_sync


import_lean()

import httpcore  # noqa: E402

__all__ = ["OPTIONAL_EXTRAS", "httpcore", "import_lean"]
