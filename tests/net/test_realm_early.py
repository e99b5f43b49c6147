"""The token realm the registry named last time, reached beside the registry's own TCP,
TLS and ``GET /v2/`` (probes/realm_early.py, net/realm_hints.py), on the real token
registry of the testbed (an HTTP registry whose realm is the token server: another
port on 127.0.0.1, with its own TCP and TLS).

The second check of a registry takes the realm's DNS, TCP and TLS off the critical path
and concludes exactly what the first did; a hint that no longer fits (another realm, a
registry that asks for no token, a registry whose TLS fails) is never used, and its
connection is closed."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from regdoctor.cache_files import cache_dir
from regdoctor.model import Credentials, Report, Secret, TargetReport
from regdoctor.net import realm_hints
from regdoctor.net.realm_hints import FILE_NAME, origin
from tests.harness import hostile
from tests.harness.servers import serve_each
from tests.harness.tcp_forward import Forwarder
from tests.harness.testbed import PASSWORD, USERNAME, Testbed
from tests.harness.token_server import SERVICE
from tests.helpers.reports import run_report

CREDENTIALS = Credentials(USERNAME, Secret(PASSWORD), "--username")


class Silent:
    """A TCP listener on 127.0.0.1 that accepts, never answers, and records what each
    connection sent and whether the client closed it."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.received: list[bytes] = []
        self.closed: list[threading.Event] = []
        self._lock = threading.Lock()
        threading.Thread(target=serve_each, args=(self._listener, self._read), daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._listener.getsockname()[1]}"

    def _read(self, conn: socket.socket) -> None:
        with self._lock:
            index = len(self.received)
            self.received.append(b"")
            self.closed.append(threading.Event())
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


def _realm_facts(target: TargetReport) -> list[tuple[str, bool, str | None, dict[str, object]]]:
    return [
        (
            o.kind,
            o.ok,
            o.error,
            {k: v for k, v in o.facts.items() if k not in ("handshake_ms", "now")},
        )
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
    assert _realm_facts(warm) == _realm_facts(cold)  # what rules read, times aside
    # the same observations; their order follows which concurrent probe answered first
    assert sorted(o.kind for o in warm.observations) == sorted(o.kind for o in cold.observations)
    assert _judged(warm) == _judged(cold)
    assert next(o for o in warm.observations if o.kind == "auth.result").facts["outcome"] == (
        "authenticated"
    )


def test_a_first_check_of_a_known_registry_reaches_its_realm_early(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker Hub's and GitLab.com's realm is known before any check
    (``realm_hints.KNOWN``); the testbed's token registry stands in for one. Its first
    check, with the cache off (no file at all), takes the realm's TCP and TLS off the
    critical path as a check made again does, and concludes what a check without the
    entry concludes."""
    monkeypatch.setenv("REGDOCTOR_NO_CACHE", "1")
    relay = Forwarder(testbed.endpoints["token"].port, delay=0.05)
    try:
        image = testbed.images.app.ref(f"127.0.0.1:{relay.port}")
        plain = _check(image, ca_file=testbed.ca_file)
        realm = origin(testbed.endpoints["token"].realm or "")
        assert realm is not None
        monkeypatch.setitem(realm_hints.KNOWN, f"127.0.0.1:{relay.port}", realm)
        known = _check(image, ca_file=testbed.ca_file)
    finally:
        relay.close()
    assert not (cache_dir() / FILE_NAME).exists()
    path = [step.what for step in known.critical_path]
    assert path.count("tcp connect") == 1 and "tls handshake" not in path, known.critical_path
    assert len([s for s in known.critical_path if "realm" in s.what]) == 1, path
    assert known.round_trips <= plain.round_trips - 1, (plain.critical_path, path)
    assert _realm_facts(known) == _realm_facts(plain)
    assert _judged(known) == _judged(plain)
    assert next(o for o in known.observations if o.kind == "auth.result").facts["outcome"] == (
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


def test_no_client_hello_to_the_realm_while_the_registry_connect_hangs(
    testbed: Testbed, isolate_env: object, silent: Silent
) -> None:
    """The registry's SYN goes unanswered (its TCP phase times out): the realm named last
    time is connected to beside it, but gets no ClientHello before the registry's TCP
    connect is up, and it never is."""
    endpoint = testbed.endpoints["blackhole"]
    _seed(endpoint.hostport, silent.url)
    target = _only(run_report([testbed.images.app.ref(endpoint.hostport)], timeout=0.5))

    assert not next(o for o in target.observations if o.kind == "tcp.connect").ok
    assert silent.received, "the realm was not reached early at all"
    for index, closed in enumerate(silent.closed):
        assert closed.wait(5)
        assert silent.received[index] == b"", "a ClientHello went to the realm"


class TlsSink:
    """A TLS server on 127.0.0.1 (the testbed's valid leaf) that answers handshakes and
    nothing else, and records when each client closed its connection. (regdoctor's
    client sends its Finished with its first request, so a session no request used ends
    here as an end of file inside the handshake.)"""

    def __init__(self, testbed: Testbed) -> None:
        leaf = testbed.pki.leaves["valid"]
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(leaf.cert, leaf.key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.closed_at: list[float] = []
        self.accepted = 0
        threading.Thread(target=serve_each, args=(self._listener, self._serve), daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self, conn: socket.socket) -> None:
        self.accepted += 1
        try:
            with self._context.wrap_socket(conn, server_side=True) as tls:
                while tls.recv(4096):
                    pass
        except (OSError, ssl.SSLError):
            pass
        self.closed_at.append(time.monotonic())

    def close(self) -> None:
        self._listener.close()


def test_an_unused_early_session_is_closed_at_its_target_end_not_the_run_end(
    testbed: Testbed, isolate_env: object
) -> None:
    """The hint names a TLS server, the registry (anonymous, behind a slow link) asks for
    no token: the session made early (its handshake done long before the check is) is
    closed when its target is done, while another target of the run (a registry that
    does not answer) still runs."""
    from regdoctor.check.pipeline import run_check
    from regdoctor.options import CheckOptions
    from regdoctor.reference.targets import parse_target

    sink = TlsSink(testbed)
    # a slow link to the registry: the early handshake is done long before the check
    relay = Forwarder(testbed.endpoints["plain"].port, delay=0.1)
    plain = f"127.0.0.1:{relay.port}"
    _seed(plain, sink.url)
    done: dict[str, float] = {}
    targets = [
        parse_target(f"http://{testbed.images.app.ref(plain)}"),
        parse_target(testbed.images.app.ref(testbed.endpoints["blackhole"].hostport)),
    ]
    options = CheckOptions(timeout=1.5, deadline=10.0, ca_files=(testbed.ca_file,))
    try:
        report = asyncio.run(
            run_check(
                targets,
                options,
                on_done=lambda r: done.setdefault(r.target.raw, time.monotonic()),
            )
        )
    finally:
        sink.close()
        relay.close()
    ended = time.monotonic()
    assert sink.accepted == 1, "the early session was not made"
    assert sink.closed_at, "the early session was never closed"
    first_done = done[targets[0].raw]
    assert done[targets[1].raw] - first_done > 0.5  # the other target ran on
    assert sink.closed_at[0] < first_done + 0.3 < ended, (sink.closed_at, first_done, ended)
    assert _realm_view(report.targets[0]) == []


class IdleCloser:
    """A TCP relay to ``port`` that closes a connection whose client sent nothing for
    ``idle`` seconds (as HAProxy's ``timeout http-request`` or nginx's
    ``client_header_timeout`` do to a connection with no request yet)."""

    def __init__(self, port: int, idle: float) -> None:
        self._upstream, self._idle = port, idle
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.idle_closed = 0
        self.closed_one = threading.Event()  # set once it closed an idle connection
        threading.Thread(target=serve_each, args=(self._listener, self._serve), daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def _serve(self, conn: socket.socket) -> None:
        with conn, socket.create_connection(("127.0.0.1", self._upstream)) as upstream:
            back = threading.Thread(target=_pipe, args=(upstream, conn), daemon=True)
            back.start()
            conn.settimeout(self._idle)
            idle = False
            try:
                while chunk := conn.recv(65536):
                    upstream.sendall(chunk)
            except TimeoutError:
                idle = True
            except OSError:
                pass
            for sock in (conn, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if idle:  # told once the client's end sees the close, not before
                self.idle_closed += 1
                self.closed_one.set()
            back.join(5)

    def close(self) -> None:
        self._listener.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def test_a_session_the_realm_closed_while_idle_is_not_used(
    testbed: Testbed, isolate_env: object
) -> None:
    """The realm closes a connection idle for 0.3 s. A first check meets no idle
    connection (the token request follows the handshake). On the check made again the
    registry holds its answers to anonymous requests until the realm has closed the
    early session for idling (a slow ``GET /v2/``): that session must be dropped and the
    realm reached after the 401, with the first check's outcome."""
    token_realm = urlsplit(testbed.endpoints["token"].realm or "")
    closer = IdleCloser(token_realm.port or 443, idle=0.3)
    realm = urlunsplit(token_realm._replace(netloc=f"127.0.0.1:{closer.port}"))
    made_again = threading.Event()

    def registry(conn: hostile.Conn, request: hostile.RawRequest) -> None:
        if request.authorization is None:
            if made_again.is_set():
                closer.closed_one.wait(2.5)  # slow until the realm dropped the early session
            challenge = f'Bearer realm="{realm}",service="{SERVICE}"'
            conn.respond(401, {**hostile.REGISTRY_HEADERS, "WWW-Authenticate": challenge})
        else:
            conn.respond(200, hostile.REGISTRY_HEADERS, "{}")

    try:
        with hostile.HostileServer(registry) as server:
            image = f"{server.hostport}/team/app:1.2"
            first = _check(image, ca_file=testbed.ca_file)
            assert _hints()[server.hostport]["realm"] == origin(realm)
            # the first check's realm connection, if it idled after its token request,
            # was closed with that check: only the early session can set it from here on
            closer.closed_one.clear()
            made_again.set()
            again = _check(image, ca_file=testbed.ca_file)
    finally:
        closer.close()
    assert closer.closed_one.is_set(), "the early session did not sit idle"
    for target in (first, again):
        token = next(o for o in target.observations if o.step == "auth.token")
        assert token.ok, token
        assert next(o for o in target.observations if o.kind == "auth.result").ok
    assert _judged(again) == _judged(first)
    assert _realm_view(again) == _realm_view(first)


def test_an_insecure_https_registry_judges_its_early_realm_as_a_first_check_does(
    testbed: Testbed, isolate_env: object
) -> None:
    """An https registry marked insecure (its TLS phase decides: verification not
    enforced) whose 401 names a realm with an untrusted certificate: the realm's
    ``tls.verify`` is judged once the registry's TLS phase has passed, so a check made
    again (the realm's handshake made beside the registry's, before that verdict) reports
    it not enforced, and goes on to the token request, exactly as the first check."""
    from regdoctor.check.pipeline import check
    from regdoctor.options import CheckOptions
    from regdoctor.reference.targets import parse_target

    leaf = testbed.pki.leaves["valid"]
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(leaf.cert, leaf.key)
    untrusted = testbed.endpoints["tls_untrusted"]
    realm = f"https://{untrusted.hostport}/token"

    def registry(conn: hostile.Conn, request: hostile.RawRequest) -> None:
        challenge = f'Bearer realm="{realm}",service="{SERVICE}"'
        conn.respond(401, {**hostile.REGISTRY_HEADERS, "WWW-Authenticate": challenge})

    options = CheckOptions(
        timeout=3.0, deadline=15.0, ca_files=(testbed.ca_file,), credentials=CREDENTIALS
    )
    with hostile.HostileServer(registry, tls=tls) as server:
        target = parse_target(f"{server.hostport}/team/app:1.2", insecure=True)
        first = _only(check([target], options))
        assert _hints()[server.hostport]["realm"] == origin(realm)
        again = _only(check([target], options))

    def verify(report: TargetReport) -> dict[str, object]:
        found = next(
            o for o in report.observations if o.kind == "tls.verify" and o.facts["role"] == "realm"
        )
        return {
            "ok": found.ok,
            "enforced": found.facts["enforced"],
            "reason": found.facts["reason"],
        }

    assert verify(first) == {"ok": True, "enforced": False, "reason": "unknown_authority"}
    assert verify(again) == verify(first)
    outcome = [
        next(o for o in r.observations if o.kind == "auth.result").facts["outcome"]
        for r in (first, again)
    ]
    assert outcome[0] == outcome[1] != "token_unreachable", outcome
    assert _judged(again) == _judged(first)
    assert "tls handshake" not in [s.what for s in again.critical_path][2:], again.critical_path


def test_the_early_steps_join_the_critical_path_as_far_as_they_were_waited_for() -> None:
    """``_join_path``: a step under way when the auth probe asked counts a round trip if
    more than half of it was left; the steps after it count in full; none waited for,
    one entry of no round trip (a session unused: nothing)."""
    from regdoctor.model import RoundTrip
    from regdoctor.net import roundtrips
    from regdoctor.probes.realm_early import _join_path

    def joined(steps: list[RoundTrip], waited: float, used: bool = True) -> list[RoundTrip]:
        path: list[RoundTrip] = []
        with roundtrips.critical_path(path):
            _join_path(steps, waited, "auth.test:443", used=used)
        return path

    tcp = RoundTrip("tcp connect", 50.0, 1, "auth.test:443")
    hello = RoundTrip("tls handshake", 50.0, 1, "auth.test:443")
    assert [(s.what, s.round_trips) for s in joined([], 0.0)] == [
        ("token realm (dns, tcp connect, tls handshake: reached early)", 0)
    ]
    assert joined([], 0.0, used=False) == []
    # the handshake was under way; 40 of its 50 ms were left: a round trip
    assert [(s.what, s.ms, s.round_trips) for s in joined([hello], 40.0)] == [
        ("tls handshake (realm, begun early)", 40.0, 1)
    ]
    # 10 ms of it left: no round trip of its own
    assert [s.round_trips for s in joined([hello], 10.0)] == [0]
    # the connect was under way (20 ms left), then the whole handshake
    both = joined([tcp, hello], 70.0)
    assert [(s.what, s.ms, s.round_trips) for s in both] == [
        ("tcp connect (realm, begun early)", 20.0, 0),
        ("tls handshake (realm, early)", 50.0, 1),
    ]


def test_a_realm_on_the_registry_own_host_and_port_is_not_remembered(
    testbed: Testbed, isolate_env: object
) -> None:
    """Its connection is the registry's own (nothing to reach beside it): no hint, and a
    hint left from before is forgotten."""

    def registry(conn: hostile.Conn, request: hostile.RawRequest) -> None:
        if request.path.startswith("/token"):
            conn.respond(200, {"Content-Type": "application/json"}, '{"token": "opaque"}')
        elif request.authorization is None:
            challenge = f'Bearer realm="http://{request.server}/token",service="{SERVICE}"'
            conn.respond(401, {**hostile.REGISTRY_HEADERS, "WWW-Authenticate": challenge})
        else:
            conn.respond(200, hostile.REGISTRY_HEADERS, "{}")

    with hostile.HostileServer(registry) as server:
        _seed(server.hostport, "https://127.0.0.1:9/token")  # named once, not any more
        target = _check(f"{server.hostport}/team/app:1.2")
    result = next(o for o in target.observations if o.kind == "auth.result")
    assert result.facts["outcome"] == "authenticated" and result.facts["realm_same_host"]
    assert server.hostport not in _hints()
