"""A TCP forwarder on 127.0.0.1 that counts the connections it accepts (to count the
TCP connections a client opens) and can be cut (to make an upstream unreachable for a
pull-through mirror while the upstream itself stays up). With ``delay``, every chunk
waits that long before it is passed on, each way: a link with a round trip of about
twice the delay, so that a request the client sent beside another shows as overlapping
it whatever the registry's own time (the critical path's round trips)."""

from __future__ import annotations

import queue
import socket
import threading
import time


class Forwarder:
    def __init__(
        self, target_port: int, target_host: str = "127.0.0.1", *, delay: float = 0.0
    ) -> None:
        self.target = (target_host, target_port)
        self.delay = delay
        self.accepted = 0
        self.enabled = True
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._closed = False
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

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
            if not self.enabled:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):  # no Nagle wait on top of the peer's delayed ACK
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        if self.delay:
            self._delayed_pipe(src, dst)
            return
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._shut(src, dst)

    def _delayed_pipe(self, src: socket.socket, dst: socket.socket) -> None:
        """Each chunk is passed on ``delay`` after it arrived (a link's latency: chunks
        in flight together are not delayed one after the other)."""
        chunks: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def send() -> None:
            try:
                while True:
                    arrived, data = chunks.get()
                    if not data:
                        break
                    due = arrived + self.delay - time.monotonic()
                    if due > 0:
                        time.sleep(due)  # the link's latency, not a wait for a server
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                self._shut(src, dst)

        threading.Thread(target=send, daemon=True).start()
        try:
            while True:
                data = src.recv(65536)
                chunks.put((time.monotonic(), data))
                if not data:
                    break
        except OSError:
            chunks.put((time.monotonic(), b""))

    @staticmethod
    def _shut(src: socket.socket, dst: socket.socket) -> None:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self.enabled = False
        for s in self._sockets:
            try:
                s.close()
            except OSError:
                pass
        self._sockets.clear()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()
