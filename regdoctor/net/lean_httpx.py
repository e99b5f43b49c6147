"""httpx and httpcore without the optional extras they import merely because they are
installed: regdoctor's single way to import them (``from regdoctor.net.lean_httpx
import httpcore, httpx``).

- ``httpcore._synchronization`` imports ``trio`` whenever trio is installed (about
  40-70 ms of start-up), for clients running under trio; regdoctor runs on asyncio
  (anyio's asyncio backend), so trio would never be used.
- ``httpx/__init__`` imports ``httpx._main``, the ``httpx`` command-line client, which
  pulls in click, rich.progress, rich.syntax and Pygments (about 50 ms) when they are
  installed.

Both are written as ``try: import X except ImportError: fallback``. While httpx and
httpcore are first imported, ``sys.modules[X] = None`` makes that import raise
``ImportError``, so each library takes its own documented fallback (trio support off;
a stub ``httpx.main``). The blocks are lifted right after, so anything else in the
process can still import trio or click. If httpx was already imported (by a test, or
an embedding program), nothing changes.
"""

from __future__ import annotations

import sys

#: Modules the first import of httpx/httpcore must not load: each is optional there.
OPTIONAL_EXTRAS = ("trio", "httpx._main")


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


_import_lean()

import httpcore  # noqa: E402
import httpx  # noqa: E402

__all__ = ["OPTIONAL_EXTRAS", "httpcore", "httpx"]
