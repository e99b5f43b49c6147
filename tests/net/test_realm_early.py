"""The token realm the registry named last time, reached beside the registry's own TCP,
TLS and ``GET /v2/`` (probes/realm_early.py, net/realm_hints.py), on the real token
registry of the testbed (an HTTP registry whose realm is the token server: another
port on 127.0.0.1, with its own TCP and TLS).

The second check of a registry takes the realm's DNS, TCP and TLS off the critical path
and concludes exactly what the first did; a hint that no longer fits (another realm, a
registry that asks for no token, a registry whose TLS fails) is never used, and its
connection is closed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from regdoctor.cache_files import cache_dir
from regdoctor.model import Credentials, Report, Secret, TargetReport
from regdoctor.net.realm_hints import FILE_NAME, origin
from tests.harness.tcp_forward import Forwarder
from tests.harness.testbed import PASSWORD, USERNAME, Testbed
from tests.helpers.reports import run_report

CREDENTIALS = Credentials(USERNAME, Secret(PASSWORD), "--username")


class Silent:
    """A TCP listener on 127.0.0.1 that accepts, never answers, and records what each
    connection sent and whether the client closed it."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.received: list[bytes] = []
        self.closed: list[threading.Event] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            index = len(self.received)
            self.received.append(b"")
            self.closed.append(threading.Event())
            threading.Thread(target=self._read, args=(conn, index), daemon=True).start()

    def _read(self, conn: socket.socket, index: int) -> None:
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    self.closed[index].set()
                    return
                self.received[index] += chunk

    def close(self) -> None:
        self._stop = True
        self._listener.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    peer = Silent()
    yield peer
    peer.close()


def _hints() -> dict[str, dict[str, object]]:
    path = cache_dir() / FILE_NAME
    return json.loads(path.read_text()) if path.exists() else {}


def _seed(registry: str, realm: str) -> None:
    from regdoctor.net.realm_hints import RealmHints

    hints = RealmHints()
    hints.note(registry, realm)
    hints.save()
    assert _hints()[registry]["realm"] == origin(realm)


def _only(report: Report) -> TargetReport:
    (target,) = report.targets
    return target


def _realm_view(target: TargetReport) -> list[tuple[str, bool, object]]:
    """The realm's observations as a rule reads them: kind, ok, and the host:port."""
    return [
        (o.kind, o.ok, o.facts.get("port") or o.facts.get("address") or o.facts.get("host"))
        for o in target.observations
        if o.facts.get("role") == "realm"
    ]


def _judged(target: TargetReport) -> list[tuple[str, str]]:
    return sorted((f.category, f.severity.value) for f in target.findings)


def _check(image: str, **options: object) -> TargetReport:
    return _only(run_report([f"http://{image}"], credentials=CREDENTIALS, **options))


def test_a_second_check_reaches_the_realm_beside_the_registry(
    testbed: Testbed, isolate_env: object
) -> None:
    """First check: the realm's TCP connect and TLS handshake come after the 401 (two
    round trips of the path). Second check: both were made while the registry's
    ``GET /v2/`` was on the (delaying) link; the findings and the realm's observations
    are the same."""
    relay = Forwarder(testbed.endpoints["token"].port, delay=0.05)
    try:
        image = testbed.images.app.ref(f"127.0.0.1:{relay.port}")
        registry = f"127.0.0.1:{relay.port}"
        cold = _check(image, ca_file=testbed.ca_file)
        cold_path = [step.what for step in cold.critical_path]
        assert cold_path[:5] == ["tcp connect", "GET /v2/", "tcp connect", "tls handshake", "token"]
        assert _hints()[registry]["realm"] == origin(testbed.endpoints["token"].realm or "")

        warm = _check(image, ca_file=testbed.ca_file)
    finally:
        relay.close()
    warm_path = [step.what for step in warm.critical_path]
    # the registry's own connection is the only plain "tcp connect" left on the path
    assert warm_path.count("tcp connect") == 1, warm.critical_path
    assert "tls handshake" not in warm_path, warm.critical_path
    realm_steps = [s for s in warm.critical_path if "realm" in s.what]
    assert len(realm_steps) == 1, warm.critical_path
    assert warm_path[warm_path.index(realm_steps[0].what) + 1] == "token"
    assert warm.round_trips <= cold.round_trips - 1, (cold.critical_path, warm.critical_path)
    assert _realm_view(warm) == _realm_view(cold)
    assert [o.kind for o in warm.observations] == [o.kind for o in cold.observations]
    assert _judged(warm) == _judged(cold)
    assert next(o for o in warm.observations if o.kind == "auth.result").facts["outcome"] == (
        "authenticated"
    )


def test_a_realm_other_than_the_hint_is_reached_after_the_401(
    testbed: Testbed, isolate_env: object, silent: Silent
) -> None:
    """The hint names a host that is not the realm any more: the early connection to it
    is closed unused, nothing from it is in the report, the realm the registry names now
    is checked as on a first check, and the hint is replaced."""
    endpoint = testbed.endpoints["token"]
    _seed(endpoint.hostport, silent.url)
    target = _check(testbed.images.app.ref(endpoint.hostport), ca_file=testbed.ca_file)

    assert next(o for o in target.observations if o.kind == "auth.result").ok
    silent_port = int(silent.url.rsplit(":", 1)[1])
    assert all(port != silent_port for _, _, port in _realm_view(target)), _realm_view(target)
    assert ("tcp.connect", True, int((endpoint.realm or "").split(":")[2].split("/")[0])) in (
        _realm_view(target)
    )
    assert len(silent.received) == 1  # reached early...
    assert silent.closed[0].wait(5)  # ...and closed when the 401 named another realm
    assert _hints()[endpoint.hostport]["realm"] == origin(endpoint.realm or "")


def test_a_registry_that_asks_for_no_token_any_more_drops_the_hint(
    testbed: Testbed, isolate_env: object, silent: Silent
) -> None:
    endpoint = testbed.endpoints["plain"]
    _seed(endpoint.hostport, silent.url)
    target = _only(run_report([f"http://{testbed.images.app.ref(endpoint.hostport)}"]))

    assert next(o for o in target.observations if o.kind == "auth.result").facts["outcome"] == (
        "anonymous"
    )
    assert _realm_view(target) == []
    assert silent.closed and silent.closed[0].wait(5)
    assert endpoint.hostport not in _hints()


def test_no_client_hello_to_the_realm_when_the_registry_refuses_connections(
    testbed: Testbed, isolate_env: object, silent: Silent
) -> None:
    """The registry's port is closed: its TCP phase fails, so the realm named last time
    gets a TCP connect at most (made beside the registry's), never a ClientHello."""
    endpoint = testbed.endpoints["closed"]
    _seed(endpoint.hostport, silent.url)
    target = _only(run_report([testbed.images.app.ref(endpoint.hostport)]))

    assert not next(o for o in target.observations if o.kind == "tcp.connect").ok
    assert _realm_view(target) == []
    for index, closed in enumerate(silent.closed):
        assert closed.wait(5)
        assert silent.received[index] == b""  # no ClientHello
    assert _hints()[endpoint.hostport]["realm"] == origin(silent.url)  # not seen: kept


def test_a_realm_reached_early_is_dropped_when_the_registry_tls_fails(
    testbed: Testbed, isolate_env: object, silent: Silent
) -> None:
    """The registry's certificate is not trusted (no CA given): no token is asked for,
    and the realm's early session is closed with nothing of it in the report."""
    endpoint = testbed.endpoints["tls"]
    _seed(endpoint.hostport, silent.url)
    target = _only(run_report([testbed.images.app.ref(endpoint.hostport)]))

    assert next(o for o in target.observations if o.kind == "tls.verify").ok is False
    assert _realm_view(target) == []
    assert silent.closed and all(closed.wait(5) for closed in silent.closed)


def test_no_cache_no_hint(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGDOCTOR_NO_CACHE", "1")
    endpoint = testbed.endpoints["token"]
    image = testbed.images.app.ref(endpoint.hostport)
    first = _check(image, ca_file=testbed.ca_file)
    second = _check(image, ca_file=testbed.ca_file)
    assert not (cache_dir() / FILE_NAME).exists()
    for target in (first, second):
        path = [step.what for step in target.critical_path]
        assert path[:4] == ["tcp connect", "GET /v2/", "tcp connect", "tls handshake"], path
