"""What a check does between a TLS server's answer (its ServerHello and certificates)
and the next bytes it sends on that connection (its Finished and ``GET /v2/``): that
burst is on the critical path of every TLS check, so nothing is imported there. The
certificate reader (``cryptography.x509``, ~15 ms to import) is imported by the idle
worker while the ClientHello is in flight (``probes/tls.examine``), and the leaf's DER
for the early spare's pin comes from pyOpenSSL (cryptography's ``public_bytes`` imported
its ``serialization``, ~7 ms). Over a slow link (``tests/harness/slow_link``), so that
the worker is done before the answer arrives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.harness import Testbed
from tests.harness.slow_link import SlowLink

RTT_S = 0.3

# each send and recv of a connection to the link's port, with the modules loaded then
PROGRAM = """
import json, socket, sys
PORT = {port}
events = []
recv, send = socket.socket.recv, socket.socket.send
def _port(sock):
    try:
        return sock.getpeername()[1]
    except (OSError, IndexError, TypeError):
        return None
def traced_recv(self, *args):
    data = recv(self, *args)
    if data and _port(self) == PORT:
        events.append(("recv", self.fileno(), sorted(sys.modules)))
    return data
def traced_send(self, data, *args):
    sent = send(self, data, *args)
    if _port(self) == PORT:
        events.append(("send", self.fileno(), sorted(sys.modules)))
    return sent
socket.socket.recv, socket.socket.send = traced_recv, traced_send
from regdoctor.cli.main import main
code = main({argv!r})
print(json.dumps([code, events]), file=sys.stderr)
"""


@pytest.fixture
def tls_link(testbed: Testbed) -> Iterator[SlowLink]:
    slow = SlowLink(testbed.endpoints["tls"].port, RTT_S)
    yield slow
    slow.close()


def _imported_after_the_answer(argv: list[str], port: int) -> list[str]:
    """The modules imported between the first answer on the first connection to
    ``port`` and the next bytes sent on it."""
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(port=port, argv=argv)],
        capture_output=True, text=True, timeout=60, check=False, env=dict(os.environ),
    )  # fmt: skip
    code, events = json.loads(proc.stderr.strip().splitlines()[-1])
    report = json.loads(proc.stdout)
    assert code == 0 and report["targets"][0]["status"] == "ok", proc.stdout[-2000:]
    first_fd = events[0][1]  # the TLS phase's ClientHello
    on_it = [(kind, modules) for kind, fd, modules in events if fd == first_fd]
    answer = next(i for i, (kind, _) in enumerate(on_it) if kind == "recv")
    after = next(modules for kind, modules in on_it[answer:] if kind == "send")
    return sorted(set(after) - set(on_it[answer][1]))


def test_nothing_is_imported_between_the_tls_answer_and_the_next_request(
    testbed: Testbed, isolate_env: object, tls_link: SlowLink
) -> None:
    image = testbed.images.app.ref(f"127.0.0.1:{tls_link.port}")
    argv = ["check", "--format", "json", "--runtime", "podman", "--ca-file"]
    argv += [str(testbed.ca_file), image]
    _imported_after_the_answer(argv, tls_link.port)  # fills the rule cache
    imported = _imported_after_the_answer(argv, tls_link.port)
    assert imported == [], imported
