"""The httpcore network backend of a check's HTTP client (:class:`PinnedBackend`): it
takes the connection the TCP (and TLS) phase opened, or a spare, before it dials, and
dials only the addresses the DNS phase resolved. Apart from :mod:`~regdoctor.net.network`
because it subclasses httpcore's backend: the run's :class:`~regdoctor.net.network.Network`
is made (and the DNS and TCP phases run) without httpcore, which a check imports once its
first bytes are on the link (net/idle.py)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from regdoctor.net import roundtrips
from regdoctor.net.asyncio_backend import AsyncioBackend
from regdoctor.net.handover import SPARE_FIRST, Handover, endpoint_key
from regdoctor.net.lean_httpcore import httpcore

if TYPE_CHECKING:
    from regdoctor.net.network import Network


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that dials the addresses regdoctor resolved.

    The TLS server name stays the host name (httpcore passes it to ``start_tls``);
    only the TCP destination is replaced."""

    def __init__(self, network: Network, handover: Handover | None = None) -> None:
        self._network = network
        self._handover = handover
        self._inner = AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._handover is not None and SPARE_FIRST.get():
            # the request sent beside the phases' first one: the connection they kept is
            # that request's, the other spares the optional probes'; this one takes the
            # early spare or fails at once (it is then sent again the usual way)
            spare = await self._handover.take_spare(host, port, early=True)
            if spare is None:
                raise httpcore.ConnectError("no early spare connection")
            return spare
        if self._handover is not None:
            ready = self._handover.take(host, port)
            if ready is not None:  # the connection the TCP (and TLS) phase opened
                return ready
            spare = await self._handover.take_spare(host, port)
            if spare is not None:  # connected beside the TCP phase's (net/handover.py)
                return spare
        addresses = await self._network.addresses_for(host, timeout or 5.0)
        last: Exception | None = None
        endpoint = endpoint_key(host, port)
        for address in addresses:
            start = time.monotonic()
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            # a request that has to dial: visible on the critical path (a regression
            # when the phases' connection should have been reused)
            roundtrips.record(
                "tcp connect (new connection)", (time.monotonic() - start) * 1000, host=endpoint
            )
            return _RecordedStream(stream, endpoint)
        if last is not None:
            raise last
        raise httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - not used
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - not used
        await self._inner.sleep(seconds)


class _RecordedStream(httpcore.AsyncNetworkStream):
    """A dialled stream whose TLS handshake is recorded on the critical path."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, endpoint: str) -> None:
        self._inner = inner
        self._endpoint = endpoint

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        start = time.monotonic()
        stream = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        ssl_object = stream.get_extra_info("ssl_object")
        version = ssl_object.version() if ssl_object is not None else None
        roundtrips.record(
            "tls handshake (new connection)",
            (time.monotonic() - start) * 1000,
            round_trips=1 if version == "TLSv1.3" else 2,
            host=self._endpoint,
        )
        return stream

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
