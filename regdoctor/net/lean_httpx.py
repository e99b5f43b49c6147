"""httpx without the optional extras it imports merely because they are installed
(``from regdoctor.net.lean_httpx import httpcore, httpx``). regdoctor's own requests go
through httpcore directly (``net/http_client.py``); this module is for code that still
wants httpx's client (tests, an embedding program).

- httpcore is imported as ``net/lean_httpcore.py`` does: without trio and anyio.
- ``httpx/__init__`` imports ``httpx._main``, the ``httpx`` command-line client, which
  pulls in click, rich.progress, rich.syntax and Pygments (about 50 ms) when they are
  installed; it is written as ``try: import X except ImportError: fallback``, and is
  blocked the same way while httpx is first imported (a stub ``httpx.main``). The
  blocks are lifted right after, so anything else in the process can still import trio
  or click. If httpx was already imported, nothing changes.
"""

from __future__ import annotations

from regdoctor.net.lean_httpcore import OPTIONAL_EXTRAS as _HTTPCORE_EXTRAS
from regdoctor.net.lean_httpcore import import_lean

#: Modules the first import of httpx/httpcore must not load: each is optional there.
OPTIONAL_EXTRAS = (*_HTTPCORE_EXTRAS, "httpx._main")

import_lean(extra=("httpx._main",), also=("httpx",))

import httpcore  # noqa: E402
import httpx  # noqa: E402

__all__ = ["OPTIONAL_EXTRAS", "httpcore", "httpx"]
