"""A DNS server on 127.0.0.1 that answers every query after a fixed delay, each query on
its own thread (so two queries sent together are answered together, two sent one after
the other take twice the delay). ``*.slow.test`` A -> 127.0.0.1, AAAA -> NODATA;
anything else NXDOMAIN. It records when each query arrived."""

from __future__ import annotations

import socket
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class SlowDns:
    def __init__(self, delay_s: float, address: str = "127.0.0.1") -> None:
        self.delay_s = delay_s
        self.address = address
        self.queries: list[tuple[float, str, str]] = []  # (monotonic, name, type)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))  # bound: ready before start() returns
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def server(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def start(self) -> SlowDns:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closed.set()
        self._sock.close()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except OSError:
                return
            threading.Thread(target=self._answer, args=(data, peer), daemon=True).start()

    def _answer(self, data: bytes, peer: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return
        question = query.question[0]
        name = question.name.to_text().lower()
        self.queries.append((time.monotonic(), name, dns.rdatatype.to_text(question.rdtype)))
        self._closed.wait(self.delay_s)  # the delay; ends early when the server stops
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.AA
        if not name.endswith(".slow.test."):
            reply.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.A:
            reply.answer.append(dns.rrset.from_text(name, 60, "IN", "A", self.address))
        try:
            self._sock.sendto(reply.to_wire(), peer)
        except OSError:
            pass
