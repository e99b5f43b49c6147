"""pyOpenSSL without ``cryptography.x509`` until a certificate is in hand: regdoctor's
single way to import it (``from regdoctor.net.lean_openssl import SSL, crypto``).

``OpenSSL.SSL`` and ``OpenSSL.crypto`` import ``cryptography.x509`` at their top, but use
it only inside functions that take or return a certificate (``to_cryptography``,
``from_cryptography``, ``get_peer_certificate(as_cryptography=True)``...).
``cryptography.x509`` is about a third of pyOpenSSL's import (its names, extensions,
OIDs and compiled patterns: ~12 ms here), and a TLS attempt answered in plain HTTP (a
``host:port`` registry that speaks HTTP, as every runtime tries it) never holds a
certificate. So while pyOpenSSL is first imported, ``sys.modules["cryptography.x509"]``
is a :class:`_DeferredModule`: the first attribute read from it (a certificate
converted) imports the real package, under a lock, and its names are copied onto the
placeholder (which pyOpenSSL keeps as its ``x509``). A submodule
(``cryptography.x509.oid``) imports on its own, from the placeholder's ``__path__``,
without the package. If ``cryptography.x509`` or pyOpenSSL was already imported (a test,
an embedding program), nothing changes.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from typing import Any

DEFERRED = "cryptography.x509"

_LOCK = threading.Lock()


class _DeferredModule(types.ModuleType):
    """Stands for ``cryptography.x509`` in ``sys.modules`` until an attribute is read."""

    def __getattr__(self, name: str) -> Any:  # only for names this placeholder lacks
        real = _real()
        with _LOCK:
            if vars(self).get("__all__") is None:
                vars(self).update(vars(real))  # later reads: no forwarding
        return getattr(real, name)


def load_x509() -> None:
    """Import the real ``cryptography.x509`` now (a no-op once it is): for a thread that
    prepares, while a TLS ClientHello is in flight, what reading the server's chain
    needs (``regdoctor.probes.tls``), so that the import is not between the server's
    answer and the next request."""
    placeholder = sys.modules.get(DEFERRED)
    if isinstance(placeholder, _DeferredModule):
        placeholder.__getattr__("Certificate")


def _real() -> types.ModuleType:
    with _LOCK:
        current = sys.modules.get(DEFERRED)
        if current is not None and not isinstance(current, _DeferredModule):
            return current
        sys.modules.pop(DEFERRED, None)
        return importlib.import_module(DEFERRED)  # also rebinds cryptography.x509


def _import_lean() -> None:
    if "OpenSSL.SSL" in sys.modules or DEFERRED in sys.modules:
        return
    import importlib.util

    import cryptography

    spec = importlib.util.find_spec(DEFERRED)
    if spec is None or spec.submodule_search_locations is None:
        return
    placeholder = _DeferredModule(DEFERRED)
    placeholder.__spec__ = spec
    placeholder.__file__ = spec.origin
    placeholder.__path__ = list(spec.submodule_search_locations)
    sys.modules[DEFERRED] = placeholder
    # what `from cryptography import x509` reads
    cryptography.x509 = placeholder  # type: ignore[attr-defined]
    try:
        import OpenSSL.SSL  # noqa: F401
    except BaseException:
        if sys.modules.get(DEFERRED) is placeholder:
            del sys.modules[DEFERRED]
            del cryptography.x509  # type: ignore[attr-defined]
        raise


_import_lean()

from OpenSSL import SSL, crypto  # noqa: E402

__all__ = ["DEFERRED", "SSL", "crypto", "load_x509"]
