"""A slow link on loopback: a TCP forwarder on 127.0.0.1 that delivers every chunk half
a round trip after it arrived, in order, in both directions, and charges the TCP
handshake (which the kernel completes at once) as one more round trip on the first
bytes the client sends. It counts the connections it accepts.

The same model as the WAN benchmark's proxy (``benchmarks/wan.py``), for tests that
need to see whether a step costs wall time on a real link: a connection costs one
round trip, each request/response exchange one. The delay is the link's, not a wait
for a server: nothing here polls.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time


class SlowLink:
    def __init__(self, target_port: int, rtt_s: float, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.rtt_s = rtt_s
        self.accepted = 0
        self._closed = False
        self._sockets: list[socket.socket] = []
        self._queue: list[tuple[float, int, socket.socket, bytes]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._deliver, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            accepted = time.monotonic()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            for src, dst, not_before in (
                (client, upstream, accepted + self.rtt_s),  # the handshake's round trip
                (upstream, client, 0.0),
            ):
                threading.Thread(
                    target=self._read, args=(src, dst, not_before), daemon=True
                ).start()

    def _read(self, src: socket.socket, dst: socket.socket, not_before: float) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            due = max(time.monotonic(), not_before) + self.rtt_s / 2
            with self._wake:
                heapq.heappush(self._queue, (due, next(self._order), dst, data))
                self._wake.notify()
            if not data:
                return

    def _deliver(self) -> None:
        """One thread delivers every chunk when it is due (in order per direction: a
        later chunk of a direction is never due before an earlier one)."""
        while not self._closed:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                due, _, dst, data = self._queue[0]
                now = time.monotonic()
                if due > now:
                    self._wake.wait(due - now)  # the link's delay itself
                    continue
                heapq.heappop(self._queue)
            try:
                if data:
                    dst.sendall(data)
                else:
                    dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        with self._wake:
            self._wake.notify_all()
        self._listener.close()
        for s in self._sockets:
            try:
                s.close()
            except OSError:
                pass
