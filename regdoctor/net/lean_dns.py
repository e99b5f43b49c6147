"""dnspython without ``importlib.metadata``: regdoctor's single way to import it
(``from regdoctor.net.lean_dns import dns``: ``dns.asyncresolver``, ``dns.resolver`` and
``dns.exception`` are imported).

dnspython (2.5 and later) decides at import time which optional features it has
(``dns._features.have``: IDNA 2008 through the ``idna`` package, DNS over HTTPS through
``httpx``, DNS over QUIC through ``aioquic``) by reading the installed distributions'
versions with ``importlib.metadata``. That import (``email``, ``zipfile``, ``csv``...
~13 ms here) and the lookups (~4 ms) lie on the critical path of every check by name:
the DNS query is the first packet, and nothing can be sent before dnspython is imported.
So the three are answered here, before dnspython's modules ask:

- ``doh``, ``doq``: off. regdoctor asks the system's (or ``--dns-server``'s) resolver over
  UDP and TCP on port 53, never over HTTPS or QUIC; so dnspython does not import
  ``httpx`` or ``aioquic`` either;
- ``idna``: as dnspython would answer it, from the ``idna`` package's own version (a
  realm's, a blob redirect's or a proxy's host name may be non-ASCII, and its IDNA 2008
  form is the one the runtimes and regdoctor's own requests use).

A feature not answered here (``dnssec``, ``trio``...) is asked for real: ``dns._features``
sees a placeholder for ``importlib.metadata`` whose first attribute read imports the real
module. Nothing else sees the placeholder: ``sys.modules`` and the ``importlib`` package
are as they were. With dnspython before 2.5 (no ``dns._features``), or dnspython already
imported (a test, an embedding program), nothing changes.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

METADATA = "importlib.metadata"


class _DeferredMetadata(types.ModuleType):
    """Stands for ``importlib.metadata`` (in ``dns._features`` only) until an attribute is
    read from it."""

    def __getattr__(self, name: str) -> Any:  # only for names this placeholder lacks
        if sys.modules.get(METADATA) is self:  # read while dns._features is imported
            del sys.modules[METADATA]
        return getattr(importlib.import_module(METADATA), name)


class _Importlib(types.SimpleNamespace):
    """What ``dns._features`` calls ``importlib``: only ``.metadata`` is read there."""


def _idna_answer(features: Any) -> bool | None:
    """dnspython's answer for ``idna`` (its requirement against the installed ``idna``'s
    version, read from the package: no metadata lookup), or None when it cannot be told."""
    requirements = getattr(features, "_requirements", {}).get("idna")
    compare = getattr(features, "_tuple_from_text", None)
    if not requirements or compare is None:
        return None
    try:
        from idna.package_data import __version__ as version
    except ImportError:
        return False
    for requirement in requirements:
        name, _, minimum = requirement.partition(">=")
        if name.strip() != "idna" or not minimum:
            return None
        if compare(version) < compare(minimum):
            return False
    return True


def _import_lean() -> None:
    if "dns._features" in sys.modules or "dns.name" in sys.modules:
        return
    import importlib.util

    try:
        if importlib.util.find_spec("dns._features") is None:
            return  # dnspython before 2.5
    except (ImportError, ValueError):
        return
    placeholder = None
    if METADATA not in sys.modules:
        placeholder = _DeferredMetadata(METADATA)
        sys.modules[METADATA] = placeholder  # what dns._features' `import` statement finds
    try:
        import dns._features as features
    finally:
        if placeholder is not None and sys.modules.get(METADATA) is placeholder:
            del sys.modules[METADATA]  # a later import anywhere loads the real module
    if placeholder is not None and vars(features).get("importlib") is importlib:
        # the import statement there bound the importlib package, whose `metadata`
        # attribute is the real module once imported: until then dns._features alone
        # reads the placeholder
        features.importlib = _Importlib(metadata=placeholder)  # type: ignore[assignment]
    cache = getattr(features, "_cache", None)
    if not isinstance(cache, dict):
        return
    answers: dict[str, bool | None] = {"doh": False, "doq": False, "idna": _idna_answer(features)}
    for feature, answer in answers.items():
        if answer is not None:
            cache.setdefault(feature, answer)


_import_lean()

import dns.asyncresolver  # noqa: E402
import dns.exception  # noqa: E402
import dns.resolver  # noqa: E402

__all__ = ["dns"]
