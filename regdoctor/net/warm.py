"""A module the check will need next, imported in a thread while the network is awaited.

The TLS phase needs pyOpenSSL (:mod:`regdoctor.net.lean_openssl`, ~15-20 ms to import).
Imported when the phase starts, it sits on the critical path between the TCP connect's
answer and the ClientHello. The DNS and TCP phases know it will be needed (the target
is not ``http://``) and start its import here, in a thread of its own, before they
wait for their answers: on a link with round trips of tens of milliseconds it is done
when the ClientHello is due. When the phase comes sooner (loopback), its own import
waits for the thread's on the module's import lock: the same work, done once.

Unlike :mod:`regdoctor.net.idle` (whose jobs start with the first bytes of the TLS or
HTTP phase, and include reading the rule catalog), this only imports, and only what
the next phase imports anyway. An import that fails in the thread is not reported:
the phase's own import raises it again, where it is due.
"""

from __future__ import annotations

import importlib
import sys
import threading

__all__ = ["warm"]

_LOCK = threading.Lock()
_started: set[str] = set()


def warm(module: str) -> None:
    """Start importing ``module`` in a background thread (once per process)."""
    if module in sys.modules:
        return
    with _LOCK:
        if module in _started:
            return
        _started.add(module)

    def job() -> None:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: S110 - raised again by the import where it is due
            pass

    try:
        threading.Thread(target=job, name="regdoctor-warm", daemon=True).start()
    except RuntimeError:  # no thread can be started: the phase imports it when due
        pass
