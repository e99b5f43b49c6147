"""The trust material of a run is built once per trust set: the registry's handshake and
its token realm's share one pyOpenSSL context, whose system store is read once (in a
worker thread, while the ClientHello is in flight), and the chain's re-verification for
the runtimes in scope (``trusted_by``) uses the handshake's store for the same CA files
(or one store per set of CA files), not a store per runtime. Real TLS registry and
token realm of the testbed, one check of both."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from regdoctor.check.plan import plan
from regdoctor.check.request import CheckRequest
from regdoctor.model import Secret
from regdoctor.net import handshake, trust
from tests.harness.testbed import PASSWORD, USERNAME, Testbed


def test_registry_and_realm_share_one_context_and_one_store_per_trust_set(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[object] = []
    stores: list[tuple[str, ...]] = []
    real_load, real_store = handshake.load_system_store, trust.trust_store

    def load(context: object) -> None:
        loads.append(context)
        real_load(context)

    def store(ca_files: list[Path]) -> object:
        stores.append(tuple(str(p) for p in ca_files))
        return real_store(ca_files)

    monkeypatch.setattr(handshake, "load_system_store", load)
    monkeypatch.setattr(trust, "trust_store", store)
    tls = testbed.images.app.ref(testbed.endpoints["tls"].hostport)
    # an HTTP registry whose token realm is served over TLS (another host: its own
    # handshake, with the same trust set as the TLS registry's)
    token = "http://" + testbed.images.app.ref(testbed.endpoints["token"].hostport)
    run_plan = plan(
        CheckRequest(
            targets=(tls, token),
            ca_files=(str(testbed.ca_file),),
            username=USERNAME,
            password=Secret(PASSWORD),
            runtime="all",
            no_config=True,
        )
    )
    report = asyncio.run(run_plan.run())
    handshakes = [o for t in report.targets for o in t.observations if o.kind == "tls.handshake"]
    assert {o.facts["role"] for o in handshakes} == {"registry", "realm"}
    assert all(o.ok for o in handshakes), handshakes
    verify = next(
        o
        for t in report.targets
        for o in t.observations
        if o.kind == "tls.verify" and o.facts["role"] == "registry"
    )
    trusted_by = verify.facts.get("trusted_by")
    assert isinstance(trusted_by, dict) and len(trusted_by) > 1 and all(trusted_by.values())
    # one context for both handshakes, its system store read once ...
    assert len(loads) == 1
    # ... and for every runtime whose trust set is the same (--ca-file), the store
    # the handshake verified with: no other read of the system store (unless
    # SSL_CERT_FILE points the handshake elsewhere: then one store for all of them)
    if trust._system_paths_agree():
        assert stores == []
    else:
        assert stores == [(str(testbed.ca_file),)]


def test_the_runtimes_ca_files_are_read_while_the_client_hello_is_in_flight(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the re-verification needs besides the chain (each runtime's CA files and
    folders: hosts.toml and certs.d reads) is read before the server's answer is fed to
    OpenSSL, not between the handshake and ``GET /v2/``."""
    from OpenSSL import SSL

    from regdoctor.check.routes import Routes

    events: list[str] = []
    real_trust, real_dirs, real_write = Routes.trust, Routes.trust_dirs, SSL.Connection.bio_write

    def trust(self: Routes, target: object) -> dict[str, list[str]]:
        events.append("runtime CA files")
        return real_trust(self, target)  # type: ignore[arg-type]

    def trust_dirs(self: Routes, target: object) -> dict[str, list[str]]:
        events.append("runtime CA folders")
        return real_dirs(self, target)  # type: ignore[arg-type]

    def bio_write(self: SSL.Connection, data: bytes) -> int:
        events.append("server data")
        return real_write(self, data)

    monkeypatch.setattr(Routes, "trust", trust)
    monkeypatch.setattr(Routes, "trust_dirs", trust_dirs)
    monkeypatch.setattr(SSL.Connection, "bio_write", bio_write)
    image = testbed.images.app.ref(testbed.endpoints["tls"].hostport)
    run_plan = plan(
        CheckRequest(
            targets=(image,), ca_files=(str(testbed.ca_file),), runtime="all", no_config=True
        )
    )
    report = asyncio.run(run_plan.run())
    verify = next(o for o in report.targets[0].observations if o.kind == "tls.verify")
    assert verify.facts.get("trusted_by"), verify.facts
    first_answer = events.index("server data")
    assert "runtime CA files" in events[:first_answer], events
    assert "runtime CA folders" in events[:first_answer], events
    assert events.count("runtime CA files") == 1  # not read again after the handshake


def test_a_handshake_cancelled_while_waiting_does_not_cancel_the_shared_load() -> None:
    """The system store's load is shared by every handshake on the context: one that is
    cancelled (its budget ran out) while the load still waits for a worker must leave it
    queued, so the next handshake gets the loaded context, not a CancelledError."""
    import threading

    pool = trust.TrustCache()
    release = threading.Event()
    busy = [pool.submit(release.wait) for _ in range(2)]  # both workers taken
    loads: list[object] = []
    shared = trust.SharedContext("context", loads.append, pool)

    async def run() -> None:
        waiter = asyncio.ensure_future(shared.loaded())
        await asyncio.sleep(0)  # the waiter is waiting on the queued load
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        release.set()
        await shared.loaded()

    asyncio.run(run())
    assert all(f.result() for f in busy)
    assert loads == ["context"] and shared.is_loaded()


def test_a_runtimes_own_store_is_built_without_stopping_the_event_loop(
    testbed: Testbed, isolate_env: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker's trust set here is ``--ca-file`` plus its certs.d ``ca.crt``: another set
    than the handshake's, so its ``X509Store`` is built (in the worker) for the
    re-verification. The event loop goes on serving other work meanwhile: a task of the
    same loop is what lets the build finish. A wait that blocked the loop would leave
    the build to give up after 10 s."""
    import threading
    import time

    hostport = testbed.endpoints["tls"].hostport
    certs = tmp_path / "etc/docker/certs.d" / hostport
    certs.mkdir(parents=True)
    (certs / "ca.crt").write_bytes(testbed.ca_file.read_bytes())
    building, released = threading.Event(), threading.Event()
    real_store = trust.trust_store

    def store(ca_files: list[Path]) -> object:
        building.set()
        released.wait(10)
        return real_store(ca_files)

    monkeypatch.setattr(trust, "trust_store", store)
    run_plan = plan(
        CheckRequest(
            targets=(testbed.images.app.ref(hostport),),
            ca_files=(str(testbed.ca_file),),
            runtime="docker",
            root=str(tmp_path),
        )
    )

    async def other_work() -> None:
        while not building.is_set():
            await asyncio.sleep(0.001)
        released.set()  # only runs if the loop is not blocked on the build

    async def run() -> tuple[object, float]:
        started = time.monotonic()
        helper = asyncio.ensure_future(other_work())
        report = await run_plan.run()
        helper.cancel()
        return report, time.monotonic() - started

    report, took = asyncio.run(run())
    assert released.is_set() and took < 9, took
    verify = next(o for o in report.targets[0].observations if o.kind == "tls.verify")  # type: ignore[attr-defined]
    assert verify.facts.get("trusted_by") == {"docker": True}, verify.facts


def test_for_the_token_realm_too_the_runtimes_ca_files_are_read_while_its_hello_is_in_flight(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The realm's chain is judged per runtime with the registry's CA files
    (``peer_host.judged_per_runtime``): they are read while the realm's ClientHello is in
    flight, once, not between its handshake and the token request."""
    from OpenSSL import SSL

    from regdoctor.check.routes import Routes

    events: list[str] = []
    real_trust, real_write = Routes.trust, SSL.Connection.bio_write

    def trust(self: Routes, target: object) -> dict[str, list[str]]:
        events.append("runtime CA files")
        return real_trust(self, target)  # type: ignore[arg-type]

    def bio_write(self: SSL.Connection, data: bytes) -> int:
        events.append("server data")
        return real_write(self, data)

    monkeypatch.setattr(Routes, "trust", trust)
    monkeypatch.setattr(SSL.Connection, "bio_write", bio_write)
    # an HTTP registry (no TLS phase of its own) whose token realm is served over TLS
    image = "http://" + testbed.images.app.ref(testbed.endpoints["token"].hostport)
    run_plan = plan(
        CheckRequest(
            targets=(image,),
            ca_files=(str(testbed.ca_file),),
            username=USERNAME,
            password=Secret(PASSWORD),
            runtime="all",
            no_config=True,
        )
    )
    report = asyncio.run(run_plan.run())
    verify = next(o for o in report.targets[0].observations if o.kind == "tls.verify")
    assert verify.facts["role"] == "realm" and verify.facts.get("trusted_by"), verify.facts
    first_answer = events.index("server data")
    assert events[:first_answer].count("runtime CA files") == 1, events
    assert "runtime CA files" not in events[first_answer:], events


@pytest.mark.parametrize("credentials", [False, True], ids=["anonymous", "credentials"])
def test_the_http_clients_ssl_context_is_made_while_the_client_hello_is_in_flight(
    testbed: Testbed, isolate_env: object, monkeypatch: pytest.MonkeyPatch, credentials: bool
) -> None:
    """The ``ssl.SSLContext`` the kept session is handed over with (a process's first
    costs ~1.4 ms) is made before the server's answer is fed to OpenSSL, not between
    the handshake and ``GET /v2/``; with or without an early spare (which makes one of
    its own while the ClientHello is in flight)."""
    from OpenSSL import SSL

    from regdoctor.net import network

    events: list[str] = []
    real_write = SSL.Connection.bio_write

    class Recorded(network.DeferredTrustContext):
        def __new__(cls, protocol: int = ssl.PROTOCOL_TLS_CLIENT) -> Recorded:
            events.append("context made")
            return super().__new__(cls, protocol)  # type: ignore[return-value]

    def bio_write(self: SSL.Connection, data: bytes) -> int:
        events.append("server data")
        return real_write(self, data)

    monkeypatch.setattr(network, "DeferredTrustContext", Recorded)
    monkeypatch.setattr(SSL.Connection, "bio_write", bio_write)
    image = testbed.images.app.ref(testbed.endpoints["tls"].hostport)
    run_plan = plan(
        CheckRequest(
            targets=(image,),
            ca_files=(str(testbed.ca_file),),
            username=USERNAME if credentials else None,
            password=Secret(PASSWORD) if credentials else None,
            runtime="all",
            no_config=True,
        )
    )
    report = asyncio.run(run_plan.run())
    phases = {p.name: str(p.status) for p in report.targets[0].phases}
    assert phases["tls"] == phases["image"] == "ok", phases
    first_answer = events.index("server data")
    assert "context made" in events[:first_answer], events
    assert "context made" not in events[first_answer:], events
