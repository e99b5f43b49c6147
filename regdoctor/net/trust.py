"""The trust material of a run, built once per trust set and shared by every handshake
and re-verification that uses the same set (the registry, its token realm, Harbor,
other targets of the same registry).

A trust set is the system CA store plus CA files (``--ca-file``, certs.d, the
configuration's). Two things are built from it, each once per run:

- the pyOpenSSL client context of :func:`regdoctor.net.handshake.handshake`: made when
  the first handshake with that set is due, its system store loaded in a worker thread
  while the ClientHello is in flight, and awaited only when a server's TLS answer has to
  be verified (a plain-HTTP answer never waits for it);
- the ``X509Store`` that :func:`regdoctor.net.handshake.chain_trusted` verifies with
  (how a runtime with that set would judge a chain): the handshake context's own store
  when it holds the same certificates, else one built (in the worker) on first use,
  which the TLS probe awaits (the event loop serves the other targets meanwhile).

OpenSSL parses the PEM bundle with the GIL released, so the worker thread's loading
costs the event loop nothing. A run's cache lives on its ``Network``; nothing is kept
between runs (a ``serve`` or TUI re-run reads the files again).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

#: pyOpenSSL context key: CA files, client certificate and key, ALPN protocols
ContextKey = tuple[tuple[str, ...], tuple[str, str] | None, tuple[bytes, ...]]


def trust_store(ca_files: list[Path]) -> Any:
    """An ``X509Store`` of the system store (OpenSSL's compiled-in locations) plus
    ``ca_files``: what :func:`regdoctor.net.handshake.chain_trusted` verifies with. A
    CA file OpenSSL cannot read adds nothing."""
    import os
    import ssl

    from regdoctor.net.lean_openssl import crypto

    store = crypto.X509Store()
    defaults = ssl.get_default_verify_paths()
    cafile = defaults.openssl_cafile if os.path.isfile(defaults.openssl_cafile) else None
    capath = defaults.openssl_capath if os.path.isdir(defaults.openssl_capath) else None
    if cafile or capath:
        store.load_locations(cafile, capath)  # type: ignore[arg-type]  # either may be None
    for ca in ca_files:
        try:
            store.load_locations(str(ca))
        except crypto.Error:
            continue
    return store


def _system_paths_agree() -> bool:
    """Whether the system store a handshake's context reads (``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` honoured: :func:`regdoctor.net.handshake.load_system_store`) is
    the one :func:`trust_store` reads (OpenSSL's compiled-in locations)."""
    import os
    import ssl

    defaults = ssl.get_default_verify_paths()
    cafile = defaults.openssl_cafile if os.path.isfile(defaults.openssl_cafile) else None
    capath = defaults.openssl_capath if os.path.isdir(defaults.openssl_capath) else None
    return (defaults.cafile, defaults.capath) == (cafile, capath)


class SharedContext:
    """One pyOpenSSL client context and the loading of its system store."""

    def __init__(self, context: Any, load: Callable[[Any], None], pool: TrustCache) -> None:
        self.context = context
        self._load = load
        self._pool = pool
        self._loaded: concurrent.futures.Future[None] | None = None

    def start_loading(self) -> None:
        """Load the system store in the background (once; a no-op after that)."""
        if self._loaded is None:
            self._pool.counts["system store loads"] += 1
            self._loaded = self._pool.submit(self._load, self.context)

    def is_loaded(self) -> bool:
        """Whether the system store is in the context (loaded without an error)."""
        loaded = self._loaded
        return loaded is not None and loaded.done() and loaded.exception() is None

    async def loaded(self) -> None:
        """Wait until the system store is in the context (loading it if nobody has)."""
        self.start_loading()
        assert self._loaded is not None
        if self._loaded.done():  # loaded by an earlier handshake: no wait at all
            self._loaded.result()
        else:  # shielded: a handshake cancelled while waiting must not cancel the
            # shared load (every later handshake on this context would then fail)
            await asyncio.shield(asyncio.wrap_future(self._loaded))


class TrustCache:
    """A run's pyOpenSSL contexts and X509 stores, one per trust set (see the module)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._contexts: dict[ContextKey, SharedContext] = {}
        self._stores: dict[tuple[str, ...], concurrent.futures.Future[Any]] = {}
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        #: what was built: ``contexts``, ``system store loads``, ``stores`` (tests)
        self.counts: Counter[str] = Counter()

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=2, thread_name_prefix="regdoctor-trust"
                )
            return self._executor.submit(fn, *args)

    def client_context(
        self, key: ContextKey, make: Callable[[], Any], load: Callable[[Any], None]
    ) -> SharedContext:
        """The context for ``key``, made by ``make`` the first time (an error it raises
        is raised again for the next handshake: nothing is cached then)."""
        shared = self._contexts.get(key)
        if shared is None:
            shared = SharedContext(make(), load, self)
            self.counts["contexts"] += 1
            self._contexts[key] = shared
        return shared

    def store(self, ca_files: Iterable[Path | str]) -> Any:
        """The ``X509Store`` of a trust set (waiting for one being built). A handshake's
        context with the same CA files lends its own store when its system store is
        the one :func:`trust_store` reads (no ``SSL_CERT_FILE``/``SSL_CERT_DIR``
        pointing elsewhere): the same certificates, read once."""
        return self._store_future(tuple(str(p) for p in ca_files)).result()

    async def stores_ready(self, trust_sets: Iterable[Iterable[Path | str]]) -> None:
        """Wait, without blocking the event loop, until the ``X509Store`` of each trust
        set is built (in the worker; lent at once where a loaded handshake context has the
        same CA files), so that :meth:`store` then returns without waiting. A failure is
        left for :meth:`store` to raise; a cancelled wait leaves the builds to go on."""
        futures = [self._store_future(tuple(str(p) for p in files)) for files in trust_sets]
        pending = [asyncio.shield(asyncio.wrap_future(f)) for f in futures if not f.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _store_future(self, key: tuple[str, ...]) -> concurrent.futures.Future[Any]:
        with self._lock:
            future = self._stores.get(key)
            if future is None:
                lent = self._context_store(key)
                if lent is not None:
                    future = concurrent.futures.Future()
                    future.set_result(lent)
                else:
                    self.counts["stores"] += 1
                    future = self.submit(trust_store, [Path(p) for p in key])
                self._stores[key] = future
            return future

    def _context_store(self, key: tuple[str, ...]) -> Any:
        """The store of a context whose CA files are ``key`` and whose system store is
        loaded, if that system store is the re-verification's too."""
        if not _system_paths_agree():
            return None
        for (ca_files, _client, _alpn), shared in self._contexts.items():
            if ca_files == key and shared.is_loaded():
                return shared.context.get_cert_store()
        return None

    def close(self) -> None:
        """Let the worker threads end once their work is done (never waits for them)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)
