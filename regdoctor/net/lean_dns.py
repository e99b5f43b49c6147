"""dnspython without ``importlib.metadata``: regdoctor's single way to import it
(``from regdoctor.net.lean_dns import dns``: ``dns.asyncresolver``, ``dns.resolver`` and
``dns.exception`` are imported).

dnspython decides at import time which optional features it has (``dns._features.have``:
IDNA 2008 through the ``idna`` package, DNS over HTTPS through ``httpx``, DNS over QUIC
through ``aioquic``) by reading the installed distributions' versions with
``importlib.metadata``. That import (``email``, ``zipfile``, ``csv``... ~13 ms here) and
the lookups (~4 ms) lie on the critical path of every check by name: the DNS query is
the first packet, and nothing can be sent before dnspython is imported. None of the three
answers changes what regdoctor does:

- ``doh``, ``doq``: regdoctor asks the system's (or ``--dns-server``'s) resolver over
  UDP and TCP on port 53, never over HTTPS or QUIC; with them off dnspython does not
  import ``httpx`` or ``aioquic`` either;
- ``idna``: the package decides between dnspython's IDNA 2003 and 2008 codecs, which
  differ only for non-ASCII labels. A registry's host name is ASCII (the reference
  grammar allows letters, digits, ``-`` and ``.``), and Go's resolver, which docker,
  containerd and podman use, refuses a name that is not.

So they are answered here, before dnspython's modules ask, and ``importlib.metadata`` is
read only if dnspython asks about another feature (``dnssec``, ``trio``...): until then
``importlib.metadata`` is a placeholder attribute of ``importlib`` (never in
``sys.modules``, so an ``import importlib.metadata`` anywhere gets the real module) whose
first attribute read imports the real one. If dnspython was imported already (a test, an
embedding program), nothing changes.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

METADATA = "importlib.metadata"
#: The features dnspython asks about while ``dns.asyncresolver`` is imported and used,
#: and regdoctor's answer (see the module's docstring).
ANSWERS = {"doh": False, "doq": False, "idna": False}


class _DeferredMetadata(types.ModuleType):
    """Stands for ``importlib.metadata`` until an attribute is read from it."""

    def __getattr__(self, name: str) -> Any:  # only for names this placeholder lacks
        return getattr(importlib.import_module(METADATA), name)


def _import_lean() -> None:
    if "dns._features" in sys.modules:
        return
    placeholder = None
    if METADATA not in sys.modules:
        placeholder = _DeferredMetadata(METADATA)
        sys.modules[METADATA] = placeholder  # what dns._features' `import` statement finds
        importlib.metadata = placeholder  # type: ignore[attr-defined]
    try:
        import dns._features
    finally:
        if placeholder is not None and sys.modules.get(METADATA) is placeholder:
            del sys.modules[METADATA]  # a later import loads the real module
    for feature, answer in ANSWERS.items():
        dns._features._cache.setdefault(feature, answer)


_import_lean()

import dns.asyncresolver  # noqa: E402
import dns.exception  # noqa: E402
import dns.resolver  # noqa: E402

__all__ = ["dns"]
