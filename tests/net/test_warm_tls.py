"""pyOpenSSL imported while the TCP phase's SYN travels (net/warm.py,
probes/tcp.connect(sent=...)): the callback comes after the SYN is on the link, the
import runs once in a thread of its own, and a real check of a TLS registry has the
TLS phase find it imported by that thread."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from regdoctor.probes.tcp import connect
from tests.harness import Testbed

REPO = Path(__file__).resolve().parents[2]


def _ctx(budget: float = 5.0) -> object:
    def observe(kind: str, **fields: object) -> SimpleNamespace:
        return SimpleNamespace(kind=kind, **fields)

    return SimpleNamespace(budget=lambda: budget, observe=observe)


def test_sent_is_called_while_the_syn_still_waits_for_its_answer() -> None:
    """A listener whose accept queue is full drops the SYN: the connect waits its whole
    budget, and ``sent`` has been called long before (not once the answer is in)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    try:
        while True:  # fill the queue: a connect that gets no answer in 0.2 s means full
            filler = socket.socket()
            filler.settimeout(0.2)
            held.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        start = time.monotonic()
        calls: list[float] = []
        observation = asyncio.run(
            connect(
                _ctx(1.0),  # type: ignore[arg-type]
                "127.0.0.1",
                port,
                "registry",
                sent=lambda: calls.append(time.monotonic() - start),
            )
        )
    finally:
        listener.close()
        for sock in held:
            sock.close()
    assert observation.facts["outcome"] == "timeout"  # type: ignore[attr-defined]
    assert len(calls) == 1 and calls[0] < 0.3, calls


def test_sent_is_called_once_the_syn_is_out_and_before_the_answer_is_read() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: list[bool] = []

    def sent() -> None:
        # loopback: the kernel has completed the handshake once the SYN went out, so the
        # listener already holds the connection to accept
        seen.append(bool(select.select([listener], [], [], 0)[0]))

    kept: list[socket.socket] = []
    try:
        observation = asyncio.run(
            connect(_ctx(), "127.0.0.1", port, "registry", keep=kept, sent=sent)  # type: ignore[arg-type]
        )
    finally:
        listener.close()
        for sock in kept:
            sock.close()
    assert seen == [True]
    assert observation.ok and observation.facts["outcome"] == "connected"  # type: ignore[attr-defined]


def test_a_refused_connect_still_calls_sent_and_is_observed() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    calls: list[int] = []
    observation = asyncio.run(
        connect(_ctx(), "127.0.0.1", port, "registry", sent=lambda: calls.append(1))  # type: ignore[arg-type]
    )
    assert calls == [1]
    assert observation.facts["outcome"] == "refused"  # type: ignore[attr-defined]


WARM_TWICE = """
import sys, threading
from regdoctor.net.warm import warm
warm("regdoctor.net.lean_openssl")
warm("regdoctor.net.lean_openssl")
names = [t.name for t in threading.enumerate()]
for t in threading.enumerate():
    if t.name == "regdoctor-warm":
        t.join(30)
import regdoctor.net.lean_openssl
print(names.count("regdoctor-warm") <= 1, "OpenSSL.SSL" in sys.modules)
"""


def test_warm_imports_once_in_a_thread() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WARM_TWICE],
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.split() == ["True", "True"]


# which thread imported pyOpenSSL, in a real check's own process
WHO_IMPORTED = """
import json, sys, threading
who = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "OpenSSL.SSL":
            who.append(threading.current_thread().name)
        return None
sys.meta_path.insert(0, Spy())
from regdoctor.cli.main import main
code = main({argv!r})
print(json.dumps([code, who]), file=sys.stderr)
"""


def test_a_check_of_a_tls_registry_imports_pyopenssl_during_the_connect(
    testbed: Testbed, isolate_env
) -> None:  # type: ignore[no-untyped-def]
    tls = testbed.endpoints["tls"]
    image = testbed.images.app.ref(tls.hostport)
    argv = [
        "check",
        "--format",
        "json",
        "--runtime",
        "podman",
        "--ca-file",
        str(tls.ca_file),
        image,
    ]
    proc = subprocess.run(
        [sys.executable, "-c", WHO_IMPORTED.format(argv=argv)],
        capture_output=True, text=True, timeout=60, check=False, env=dict(os.environ),
    )  # fmt: skip
    code, who = json.loads(proc.stderr.strip().splitlines()[-1])
    assert json.loads(proc.stdout)["targets"][0]["status"] == "ok", proc.stdout
    assert code == 0
    assert who == ["regdoctor-warm"]
