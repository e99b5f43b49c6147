"""One connection per endpoint: the socket the TCP phase connected (and the TLS phase
secured) is handed to the HTTP client, which sends ``/v2/``, the token request and the
manifest requests over it (keep-alive) instead of dialling again.

- The streams handed over are httpcore network streams over an asyncio connection
  (:mod:`regdoctor.net.streams`); the TLS one speaks through the pyOpenSSL session the
  TLS probe observed (so the chain that was judged is the chain the requests travel
  over). This module does without httpcore: the TCP phase fills it before the check's
  first bytes are on the link, and httpcore is imported after them (net/idle.py).
- :class:`Handover` holds, per target, the streams ready for the client's pool, by
  ``host:port``; the pinned backend takes one instead of connecting.
- Spare connections (:meth:`Handover.add_spare`): sockets the TCP phase connects
  speculatively beside its own, so that a request that finds the target's connection
  busy or gone (an optional probe's while the manifest is fetched; plain HTTP after a
  TLS attempt the server answered in plain HTTP) does not pay a connect of its own. A
  spare the critical path does not take is closed at the end of the run: it is counted
  as a connection, never as a round trip.
- The early spare of an anonymous image check is connected *with* the TCP phase's
  connection (:meth:`Handover.add_spare` with ``early``, before the phase's own connect,
  to the same address) and kept in a slot of its own; for TLS it is secured while the
  phase's ClientHello is in flight, without verification (:meth:`Handover.secure_early`),
  and kept only if it then shows the leaf certificate the phase verified
  (:meth:`Handover.pin`; :class:`~regdoctor.net.streams.SpareStream` refuses to stand for
  any client context it was not pinned to). The manifest request goes over it beside the
  first ``GET /v2/`` (``probes/manifest_request.py``), in a context where
  :data:`SPARE_FIRST` is set: it takes that spare or fails at once, never the phases'
  connection nor another probe's spare.
- :class:`Gate` lets optional probes (Harbor) use the target's connection while the
  critical path does not need it; with a spare at hand they do not wait at all.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from regdoctor.net import roundtrips
from regdoctor.net.closing import close_now

if TYPE_CHECKING:
    from regdoctor.net.streams import PlainStream, SpareStream


#: Set in the context of the request sent beside the phases' first one: it takes the early
#: spare, never the phases' own connection (which that first request is about to take).
SPARE_FIRST: ContextVar[bool] = ContextVar("regdoctor_spare_first", default=False)


def endpoint_key(host: str, port: int, *, early: bool = False) -> str:
    """``host:port``; the early spare's slot (:meth:`Handover.add_spare` with ``early``)
    is kept apart, so that no other request takes it and it takes no other spare."""
    key = f"{host.strip('[]').lower()}:{port}"
    return key + "#early" if early else key


async def connect_spare(address: str, port: int, timeout: float) -> socket.socket | None:
    """A speculative connection to ``address:port``; None when it did not connect (a
    spare never becomes an observation: the TCP phase observed the endpoint)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout):
            await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except (OSError, TimeoutError):
        sock.close()
        return None
    except asyncio.CancelledError:
        sock.close()
        raise
    return sock


def _still_open(stream: PlainStream | _Connected) -> bool:
    """Whether the peer has not closed (or reset) a connection that sat idle (its
    transport reads as soon as anything arrives, an end of file too)."""
    return not stream._reader.at_eof() and stream._reader.exception() is None


@dataclass
class _Connected:
    """A spare that connected, not yet an httpcore stream (:meth:`Handover.take_spare`
    makes it one when a request takes it)."""

    _reader: asyncio.StreamReader
    _writer: asyncio.StreamWriter
    endpoint: str

    def stream(self) -> SpareStream:
        from regdoctor.net.streams import SpareStream

        return SpareStream(self._reader, self._writer, self.endpoint)


_Spare = asyncio.Task["_Connected | SpareStream | None"]

#: What a spare secured early is secured with until :meth:`Handover.pin` judges it.
_UNVERIFIED = object()


class Handover:
    """The streams one target's HTTP client takes before it dials, by ``host:port``,
    and the spare connections it takes when it would dial."""

    def __init__(self) -> None:
        self._streams: dict[str, PlainStream] = {}
        self._spares: dict[str, list[_Spare]] = {}
        #: the SSL context each warmed spare is (being) secured with
        self._secured_with: dict[_Spare, Any] = {}

    def put(self, host: str, port: int, stream: PlainStream) -> None:
        key = endpoint_key(host, port)
        old = self._streams.pop(key, None)
        if old is not None:
            close_now(old._writer)
        self._streams[key] = stream

    def take(self, host: str, port: int) -> PlainStream | None:
        return self._streams.pop(endpoint_key(host, port), None)

    def still_open(self, host: str, port: int) -> bool | None:
        """Whether the stream kept for ``host:port`` is still open (None: none kept): a
        session made early that sat idle may have been closed by its server."""
        stream = self._streams.get(endpoint_key(host, port))
        return None if stream is None else _still_open(stream)

    def discard(self, host: str, port: int) -> None:
        """Close the stream kept for ``host:port``, if any: no request will take it."""
        stream = self._streams.pop(endpoint_key(host, port), None)
        if stream is not None:
            close_now(stream._writer)

    def add_spare(
        self, host: str, port: int, address: str, timeout: float, *, early: bool = False
    ) -> None:
        """Connect a spare to ``address:port`` now, in the background (off the critical
        path: nothing it waits for is recorded). ``early``: the spare the TCP phase
        connects with its own connection, for the manifest request sent beside the first
        ``GET /v2/`` only (it takes it with :data:`SPARE_FIRST` set)."""
        key = endpoint_key(host, port)
        slot = endpoint_key(host, port, early=early)

        async def connect() -> _Connected | None:
            roundtrips.off_path()
            sock = await connect_spare(address, port, timeout)
            if sock is None:
                return None
            reader, writer = await asyncio.open_connection(sock=sock)
            return _Connected(reader, writer, key)

        self._spares.setdefault(slot, []).append(asyncio.create_task(connect()))

    def has_spare(self, host: str, port: int, *, early: bool = False) -> bool:
        return bool(self._spares.get(endpoint_key(host, port, early=early)))

    def warm(
        self, host: str, port: int, ssl_context: Any, server_hostname: str, timeout: float
    ) -> None:
        """Secure the first spare for ``host:port`` not yet secured now, beside the
        critical path, so that the request that takes it does not wait for a handshake.
        A spare secured (or being secured) with another context is closed first (the
        TLS phase chose other trust than it was secured with)."""
        spares = self._spares.get(endpoint_key(host, port))
        if not spares:
            return
        for task in list(spares):
            secured_with = self._secured_with.get(task)
            if secured_with not in (None, ssl_context):  # (only early spares are unverified)
                spares.remove(task)
                _drop(task)
        plain = next((i for i, t in enumerate(spares) if t not in self._secured_with), None)
        if plain is not None:
            self._secure(spares, plain, ssl_context, server_hostname, timeout)

    def secure_early(
        self, host: str, port: int, ssl_context: Any, server_hostname: str, timeout: float
    ) -> None:
        """Secure the first spare for ``host:port`` now, while the TLS phase's own
        handshake is in flight, with ``ssl_context`` that does not verify (the phase
        has not judged the chain yet, and a plain-HTTP server must cost no trust store):
        :meth:`pin` then keeps it only if it presents the leaf certificate the phase
        verified."""
        spares = self._spares.get(endpoint_key(host, port, early=True))
        if spares and spares[0] not in self._secured_with:
            self._secure(spares, 0, ssl_context, server_hostname, timeout, _UNVERIFIED)

    def pin(self, host: str, port: int, leaf: bytes | None, ssl_context: Any) -> None:
        """The TLS phase verified (or, for an insecure registry, accepted) the chain whose
        leaf certificate is ``leaf`` (DER), and the HTTP client uses ``ssl_context``: a
        spare secured early (:meth:`secure_early`) that presented the same leaf (the
        server proved it holds its key) counts as secured with ``ssl_context``; one that
        presented another, or none, is closed."""
        spares = self._spares.get(endpoint_key(host, port, early=True)) or []
        for index, task in enumerate(spares):
            if self._secured_with.get(task) is not _UNVERIFIED:
                continue

            async def check(early: _Spare = task) -> SpareStream | None:
                roundtrips.off_path()
                try:
                    stream = await early
                except asyncio.CancelledError:
                    _drop(early)
                    raise
                if stream is None or isinstance(stream, _Connected):
                    return None
                ssl_object = stream._writer.get_extra_info("ssl_object")
                presented = ssl_object.getpeercert(binary_form=True) if ssl_object else None
                if leaf is None or presented != leaf:
                    close_now(stream._writer)
                    return None
                stream.pinned(ssl_context)
                return stream

            pinned = asyncio.create_task(check())
            _closes_on_cancel(pinned, task)
            self._secured_with[pinned] = ssl_context
            spares[index] = pinned

    def _secure(
        self,
        spares: list[_Spare],
        index: int,
        ssl_context: Any,
        server_hostname: str,
        timeout: float,
        marker: Any = None,
    ) -> None:
        plain = spares[index]

        async def secure() -> SpareStream | None:
            from regdoctor.net.lean_httpcore import httpcore

            roundtrips.off_path()
            try:
                connected = await plain
            except asyncio.CancelledError:
                _drop(plain)
                raise
            if connected is None:
                return None
            stream = connected.stream() if isinstance(connected, _Connected) else connected
            try:
                await stream.secure(ssl_context, server_hostname, timeout)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                close_now(stream._writer)
                return None
            except asyncio.CancelledError:
                close_now(stream._writer)
                raise
            return stream

        task = asyncio.create_task(secure())
        _closes_on_cancel(task, plain)
        self._secured_with[task] = marker if marker is not None else ssl_context
        spares[index] = task

    def drop_secured(self, host: str, port: int) -> None:
        """Close the spares for ``host:port`` that are secured or being secured (the
        check goes on over ``http://``: they are no use, and one still in its handshake
        would hold up the request that took it)."""
        for early in (True, False):
            spares = self._spares.get(endpoint_key(host, port, early=early), [])
            for task in [t for t in spares if t in self._secured_with]:
                spares.remove(task)
                _drop(task)

    def discard_spares(self, host: str, port: int) -> None:
        """Close the spares for ``host:port`` (they went to an address that did not
        answer the TCP phase)."""
        for early in (True, False):
            for task in self._spares.pop(endpoint_key(host, port, early=early), []):
                _drop(task)

    async def take_spare(self, host: str, port: int, *, early: bool = False) -> SpareStream | None:
        """A spare for ``host:port`` that is still open, or None (``early``: the early
        spare only). The wait for one still connecting is on the critical path of
        whoever takes it."""
        key = endpoint_key(host, port)
        spares = self._spares.get(endpoint_key(host, port, early=early))
        while spares:
            task = spares.pop(0)
            start = time.monotonic()
            waited = not task.done()
            try:
                stream = await task
            except OSError:  # a spare that failed is no spare; dial instead
                continue
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if task.cancelled() and not (current and current.cancelling()):
                    continue
                _drop(task)  # the taker was cancelled: close what the spare made
                raise
            if waited:
                roundtrips.record(
                    "tcp connect (spare, still connecting)",
                    (time.monotonic() - start) * 1000,
                    host=key,
                )
            if stream is None:
                continue
            if _still_open(stream):
                return stream.stream() if isinstance(stream, _Connected) else stream
            close_now(stream._writer)
        return None

    def close(self) -> None:
        for stream in self._streams.values():
            close_now(stream._writer)
        self._streams.clear()
        for spares in self._spares.values():
            for task in spares:
                if not task.done():
                    task.cancel()
                else:
                    _close_spare(task)

    async def aclose(self) -> None:
        """:meth:`close`, and wait for the spares still connecting to be cancelled (no
        task is left pending when the loop closes)."""
        pending = [t for spares in self._spares.values() for t in spares if not t.done()]
        self.close()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            for task in pending:
                _close_spare(task)
        self._spares.clear()


def _drop(task: _Spare) -> None:
    """Close a spare now, or once its task ends (cancelled, it closes what it made)."""
    if task.done():
        _close_spare(task)
    else:
        task.cancel()
        task.add_done_callback(_close_spare)


def _closes_on_cancel(outer: _Spare, inner: _Spare) -> None:
    """``outer`` awaits ``inner`` and takes what it made: cancelled before it ran (a
    ``close`` at the run's end, a spare replaced), it never did, so ``inner``'s connection
    is closed here (closing one ``outer`` already closed is harmless)."""

    def done(task: _Spare) -> None:
        if task.cancelled():
            _drop(inner)

    outer.add_done_callback(done)


def _close_spare(task: _Spare) -> None:
    """Close the connection a finished spare task made, if it made one."""
    if task.cancelled() or task.exception() is not None:
        return
    spare = task.result()
    if spare is not None:
        close_now(spare._writer)


class Gate:
    """Per target and endpoint: how many requests of the critical path are in flight.
    An optional probe's request waits until there are none, then goes (on the same
    keep-alive connection, which is idle then); a critical request never waits."""

    def __init__(self) -> None:
        self._busy: dict[str, int] = {}
        self._own: set[str] = set()
        self._optional: dict[str, int] = {}
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def critical(self, key: str) -> AsyncIterator[None]:
        self._busy[key] = self._busy.get(key, 0) + 1
        try:
            yield
        finally:
            self._busy[key] -= 1
            async with self._changed:
                self._changed.notify_all()

    @asynccontextmanager
    async def optional(self, key: str, *, spare: bool = False) -> AsyncIterator[None]:
        """With ``spare`` (a spare connection is at hand) the request goes at once: on
        the idle connection when there is one, else on the spare; so do the optional
        requests after it (the connection the spare became is theirs then)."""
        if spare:
            self._own.add(key)
        if key not in self._own:
            async with self._changed:
                await self._changed.wait_for(lambda: self._busy.get(key, 0) == 0)
        self._optional[key] = self._optional.get(key, 0) + 1
        try:
            yield
        finally:
            self._optional[key] -= 1

    def optional_in_flight(self, key: str) -> bool:
        """Whether an optional request holds a connection to ``key`` now."""
        return self._optional.get(key, 0) > 0
