"""A slow link for the WAN benchmark: two network namespaces joined by a veth pair, and a
delaying TCP proxy in the registry's namespace.

Layout (the addresses exist only inside the two namespaces this module creates)::

    client netns                                    registry netns
    regdoctor / skopeo --veth-- 192.0.2.2:PORT  (delay proxy, asyncio)
    dnsmasq 127.0.0.1:53       192.0.2.1/24          -> 127.0.0.1:UPSTREAM (docker-registry,
                                                        token server)

The kernel here has no netem, so the delay is made by the proxy: every chunk is delivered
half a round trip after it arrived, in both directions, in order. The TCP handshake
with the proxy completes in the kernel without delay, so the proxy charges it instead:
the first bytes a client sends on a connection are held one extra round trip (every
client here speaks first: an HTTP request or a TLS ClientHello). A connection therefore
costs what it costs on a real link: one round trip to connect, one per request/response
exchange, TLS's own on top.

Namespaces are entered per thread (``setns`` of the network namespace only), so the
proxy's event loop thread and the sockets made inside :func:`in_netns` live in the
registry namespace while the rest of the benchmark stays where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNET = 0x40000000
CLIENT_ADDRESS = "192.0.2.1"  # RFC 5737 TEST-NET-1, only inside the namespaces
REGISTRY_ADDRESS = "192.0.2.2"
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the block (this thread only) in the network namespace ``name``: sockets made
    inside stay there after the block."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class NetnsPair:
    """The two namespaces and the veth pair; :meth:`close` deletes both (and the pair)."""

    client: str = field(default_factory=lambda: f"rdwan-c-{os.getpid()}")
    registry: str = field(default_factory=lambda: f"rdwan-r-{os.getpid()}")
    created: list[str] = field(default_factory=list)

    def open(self) -> NetnsPair:
        veth_c, veth_r = f"rdc{os.getpid() % 100000}", f"rdr{os.getpid() % 100000}"
        for ns in (self.client, self.registry):
            _ip("netns", "add", ns)
            self.created.append(ns)
        _ip("link", "add", veth_c, "netns", self.client, "type", "veth", "peer", "name", veth_r,
            "netns", self.registry)  # fmt: skip
        for ns, dev, address in (
            (self.client, veth_c, CLIENT_ADDRESS),
            (self.registry, veth_r, REGISTRY_ADDRESS),
        ):
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", dev)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
        return self

    def close(self) -> None:
        for ns in reversed(self.created):
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", ns)
        self.created.clear()

    def exec_argv(self, ns: str, argv: list[str]) -> list[str]:
        """``argv`` run inside ``ns`` (``ip netns exec``)."""
        return ["ip", "netns", "exec", ns, *argv]

    def client_argv(self, argv: list[str], etc: Path) -> list[str]:
        """``argv`` in the client namespace with its own /etc/hosts and /etc/resolv.conf
        (a private mount namespace): names resolve through the dnsmasq of that namespace
        only."""
        script = (
            f'mount --bind "{etc / "hosts"}" /etc/hosts && '
            f'mount --bind "{etc / "resolv.conf"}" /etc/resolv.conf && exec "$@"'
        )
        return [
            "nsenter", f"--net=/run/netns/{self.client}", "--",
            "unshare", "--mount", "--propagation", "private", "--",
            "sh", "-c", script, "sh", *argv,
        ]  # fmt: skip


def write_client_etc(etc: Path) -> Path:
    """The client's /etc/hosts (localhost only) and resolv.conf (its own dnsmasq)."""
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "hosts").write_text("127.0.0.1 localhost\n")
    (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    return etc


def dnsmasq_argv(workdir: Path, records: dict[str, str]) -> list[str]:
    """A dnsmasq on 127.0.0.1:53 of the namespace it runs in: the given A records, every
    other ``.test``/``.invalid`` name NXDOMAIN, no upstream."""
    return [
        "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
        "--no-hosts", "--no-poll", "--bind-interfaces", "--listen-address=127.0.0.1",
        "--port=53", f"--pid-file={workdir / 'dnsmasq.pid'}", "--user=root", "--group=root",
        "--local=/test/", "--local=/invalid/",
        *(f"--host-record={name},{ip}" for name, ip in records.items()),
    ]  # fmt: skip


@dataclass
class DelayProxy:
    """TCP forwarders ``REGISTRY_ADDRESS:port -> 127.0.0.1:upstream`` in the registry
    namespace, each delaying every chunk by half of :attr:`rtt_s` (changeable between
    runs), and the first client bytes of a connection by one round trip more."""

    netns: str
    routes: dict[int, int]
    """listening port -> upstream port (both in the registry namespace)"""
    rtt_s: float = 0.05
    connections: int = 0
    #: monotonic times of the first client byte that arrived and of the last byte handed
    #: to a client since :meth:`mark`: the span a command used the link
    first_in: float | None = None
    last_out: float | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None
    _servers: list[asyncio.Server] = field(default_factory=list)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wan-delay", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("delay proxy did not start")
        if self._error is not None:
            raise RuntimeError(f"delay proxy: {self._error}") from self._error

    def stop(self) -> None:
        """Cancel every connection's tasks and wait for them, then stop and close the
        loop: a loop stopped with tasks pending leaves them to the garbage collector,
        which prints "Task was destroyed but it is pending!" at exit."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            done = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            with contextlib.suppress(Exception):
                done.result(timeout=5)
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        target = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
        try:
            _setns(target)  # this thread only, for good: every socket it makes is there
        finally:
            os.close(target)
        loop = self._loop = asyncio.new_event_loop()
        try:
            for port, upstream in self.routes.items():
                server = loop.run_until_complete(
                    asyncio.start_server(
                        lambda r, w, up=upstream: self._serve(r, w, up), REGISTRY_ADDRESS, port
                    )
                )
                self._servers.append(server)
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: int
    ) -> None:
        # stop() cancels this task: it then ends normally, not cancelled, because
        # asyncio's stream server asks a finished handler for its exception, which
        # raises (and is printed) for a cancelled one
        with contextlib.suppress(asyncio.CancelledError):
            await self._relay(reader, writer, upstream)

    async def _relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: int
    ) -> None:
        self.connections += 1
        accepted = time.monotonic()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            writer.close()
            return
        except asyncio.CancelledError:
            writer.close()
            raise
        # The handshake the kernel completed at once costs one round trip here.
        handshake_done = accepted + self.rtt_s
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, not_before=handshake_done, inbound=True),
                self._pipe(up_reader, writer, not_before=0.0, inbound=False),
                return_exceptions=True,
            )
        finally:
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()

    def mark(self) -> None:
        """Start a new span (:attr:`first_in`, :attr:`last_out`)."""
        self.first_in = self.last_out = None

    def span_ms(self) -> float | None:
        """From the first client byte to the last byte delivered back, since :meth:`mark`:
        a command's time on the link, without its start-up and what it does after."""
        if self.first_in is None or self.last_out is None:
            return None
        return (self.last_out - self.first_in) * 1000

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        not_before: float,
        inbound: bool,
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)  # the link's delay itself, not a readiness wait
                if not data:
                    with contextlib.suppress(OSError):
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
                if not inbound:
                    self.last_out = time.monotonic()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                if inbound and data and self.first_in is None:
                    self.first_in = time.monotonic()
                due = max(time.monotonic(), not_before) + self.rtt_s / 2
                queue.put_nowait((due, data))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
