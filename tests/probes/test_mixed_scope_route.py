"""Going on to http:// after 443 failed (review of h-verdict4): the TCP phase dials
what the runtimes dial for ``http://host/v2/`` (Go's ProxyFromEnvironment: HTTP_PROXY
unless NO_PROXY matches it), and in mixed scope the look at port 80 waits as long as
the runtimes wait for an answer. Driven through ``regdoctor check`` (TcpProbe.run in the
pipeline) against loopback servers: the harness DNS resolves NAME to 127.0.0.1, where
nothing listens on 443 or 80; the registry is reachable only through the proxy."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.testbed import Testbed
from tests.probes.test_plain_port_network import NAME, RegistryLikeProxy


class SlowRegistryProxy(RegistryLikeProxy):
    """Answers as a registry after ``delay`` seconds (longer than the hint's wait of a
    few round trips, well within the runtimes' patience)."""

    delay = 0.8

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(self.delay)  # the server's own latency, not a test wait
        await super()._handle(reader, writer)


@pytest.fixture
def registry_proxy() -> Iterator[RegistryLikeProxy]:
    with RegistryLikeProxy() as proxy:
        yield proxy


def _check(
    testbed: Testbed, root: Path, runtimes: str, env_extra: dict[str, str], insecure: bool = True
) -> dict:
    daemon = root / "etc/docker/daemon.json"
    daemon.parent.mkdir(parents=True, exist_ok=True)
    daemon.write_text(json.dumps({"insecure-registries": [NAME] if insecure else []}))
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.run(
        [
            sys.executable, "-m", "regdoctor", "check", "--format", "json",
            "--runtime", runtimes, "--root", str(root),
            "--dns-server", testbed.dns_server, "--timeout", "3",
            f"{NAME}/team/app:1.2",
        ],
        capture_output=True, text=True, timeout=60, env={**env, **env_extra}, check=False,
    )  # fmt: skip
    doc = json.loads(proc.stdout)
    assert isinstance(doc, dict), proc.stderr
    return doc


def _docker_unit_proxy(root: Path, proxy: str, no_proxy: str = "") -> None:
    """dockerd's proxy comes from its unit (a systemd drop-in), not the shell."""
    drop_in = root / "etc/systemd/system/docker.service.d/http-proxy.conf"
    drop_in.parent.mkdir(parents=True, exist_ok=True)
    lines = [f'Environment="HTTP_PROXY={proxy}"']
    if no_proxy:
        lines.append(f'Environment="NO_PROXY={no_proxy}"')
    drop_in.write_text("[Service]\n" + "\n".join(lines) + "\n")


def _statuses(doc: dict) -> dict[str, str]:
    return {k: v["status"] for k, v in doc["targets"][0]["runtimes"].items()}


def _reached(doc: dict, runtime: str) -> bool:
    """The runtime's verdict is past the connection: its http:// endpoint answered as a
    registry (the proxy's stand-in answers ``{}`` to every request, so the manifest is
    judged invalid: an image finding, not a connection one)."""
    verdict = doc["targets"][0]["runtimes"][runtime]
    return verdict["status"] == "ok" or str(verdict.get("category", "")).startswith("image")


def _show(doc: dict) -> list[tuple[object, ...]]:
    return [
        (o["kind"], o["facts"].get("port"), o["facts"].get("outcome"), o.get("error"))
        for o in doc["targets"][0]["observations"]
    ]


def _errors(doc: dict) -> dict[str, list[str]]:
    return {f["rule"]: f.get("runtimes") for f in doc["findings"] if f["severity"] == "error"}


def test_docker_told_insecure_goes_on_through_http_proxy(
    testbed: Testbed, registry_proxy: RegistryLikeProxy, tmp_path: Path
) -> None:
    """``--runtime docker``: 443 refused, dockerd goes on to http://NAME/v2/, which Go
    sends to the HTTP_PROXY of its unit: the check dials the proxy, not port 80 (it said
    tcp-refused)."""
    _docker_unit_proxy(tmp_path, f"http://127.0.0.1:{registry_proxy.port}")
    doc = _check(testbed, tmp_path, "docker", {})
    assert _reached(doc, "docker"), (_statuses(doc), _errors(doc), _show(doc))
    assert "tcp-refused" not in _errors(doc)
    assert f"GET http://{NAME}/v2/ HTTP/1.1" in registry_proxy.requests
    assert any("/v2/team/app/manifests/1.2" in r for r in registry_proxy.requests)
    dials = [
        (o["facts"]["port"], o["facts"]["role"])
        for o in doc["targets"][0]["observations"]
        if o["kind"] == "tcp.connect"
    ]
    assert (80, "registry") not in dials, dials
    assert (registry_proxy.port, "proxy") in dials, dials


def test_no_proxy_sends_the_http_attempt_direct(
    testbed: Testbed, registry_proxy: RegistryLikeProxy, tmp_path: Path
) -> None:
    """NO_PROXY names the registry: dockerd dials port 80 itself (refused here)."""
    _docker_unit_proxy(tmp_path, f"http://127.0.0.1:{registry_proxy.port}", no_proxy=NAME)
    doc = _check(testbed, tmp_path, "docker", {})
    assert _statuses(doc)["docker"] == "error"
    assert registry_proxy.requests == []
    dials = [
        o["facts"]["port"] for o in doc["targets"][0]["observations"] if o["kind"] == "tcp.connect"
    ]
    assert 80 in dials, dials


def test_mixed_scope_goes_on_through_http_proxy(
    testbed: Testbed, registry_proxy: RegistryLikeProxy, tmp_path: Path
) -> None:
    """``--runtime all``: the look finds the registry through HTTP_PROXY, and going on
    takes the same route (it dialled port 80 directly: docker judged tcp-refused)."""
    doc = _check(
        testbed, tmp_path, "all", {"HTTP_PROXY": f"http://127.0.0.1:{registry_proxy.port}"}
    )
    statuses = _statuses(doc)
    assert _reached(doc, "docker"), (statuses, _errors(doc))
    assert statuses["containerd"] == "error", statuses
    assert "docker" not in (_errors(doc).get("tcp-refused") or []), _errors(doc)


def test_mixed_scope_waits_for_a_slow_port_80_as_the_runtimes_do(
    testbed: Testbed, tmp_path: Path
) -> None:
    """The registry behind the proxy answers after 0.8 s (more than the hint's few
    round trips, far less than dockerd's 15 s for its ping): docker pulls."""
    with SlowRegistryProxy() as proxy:
        doc = _check(testbed, tmp_path, "all", {"HTTP_PROXY": f"http://127.0.0.1:{proxy.port}"})
    statuses = _statuses(doc)
    assert _reached(doc, "docker"), (statuses, _errors(doc))
    assert statuses["containerd"] == "error", statuses


def test_every_failing_runtime_is_named_by_an_error_finding(
    testbed: Testbed, tmp_path: Path
) -> None:
    """``--runtime all``, 443 refused, nothing on port 80, the registry in daemon.json's
    insecure-registries: every runtime fails, and each is named by an error finding
    (tcp-refused named docker only: the target came from daemon.json)."""
    doc = _check(testbed, tmp_path, "all", {})
    failing = {k for k, v in _statuses(doc).items() if v == "error"}
    assert failing >= {"docker", "containerd", "podman"}, _statuses(doc)
    named = {r for runtimes in _errors(doc).values() for r in runtimes or []}
    assert failing <= named, (failing, _errors(doc))


def test_mixed_scope_goes_on_after_an_unreachable_443(
    testbed: Testbed,
    registry_proxy: RegistryLikeProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """dockerd goes on to http:// for an insecure registry after any error of the
    https:// attempt (moby v20.10 distribution/registry.go NewV2Repository: a failed
    ping is a fallbackError; distribution/pull.go Pull tries the next endpoint), not
    only a refusal: 443 unreachable (no route: made so for port 443 only, the rest is
    real), the look through HTTP_PROXY finds the registry, docker goes on; containerd
    stops at 443. The look ran only after a refusal (docker was judged by 443)."""
    from regdoctor.cli.main import main
    from regdoctor.probes import tcp

    real = tcp.connect

    async def unreachable_443(ctx, address, port, role, *, keep=None, sent=None):  # type: ignore[no-untyped-def]
        if port != 443:
            return await real(ctx, address, port, role, keep=keep, sent=sent)
        return ctx.observe(
            "tcp.connect",
            ok=False,
            phase="tcp",
            facts={
                "address": address, "port": port, "dialled": f"{address}:{port}",
                "family": "ipv4", "role": role, "outcome": "unreachable",
                "errno": "EHOSTUNREACH", "timeout_s": 3.0,
            },
            error=f"dial tcp {address}:{port}: connect: no route to host",
            duration_ms=1.0,
        )  # fmt: skip

    monkeypatch.setattr(tcp, "connect", unreachable_443)
    for key in [k for k in os.environ if "proxy" in k.lower()]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{registry_proxy.port}")
    daemon = tmp_path / "etc/docker/daemon.json"
    daemon.parent.mkdir(parents=True, exist_ok=True)
    daemon.write_text(json.dumps({"insecure-registries": [NAME]}))
    main(
        [
            "check", "--format", "json", "--runtime", "all", "--root", str(tmp_path),
            "--dns-server", testbed.dns_server, "--timeout", "3", f"{NAME}/team/app:1.2",
        ]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    statuses = _statuses(doc)
    assert _reached(doc, "docker"), (statuses, _errors(doc), _show(doc))
    assert statuses["containerd"] == "error", statuses
    handshake = next(o for o in doc["targets"][0]["observations"] if o["kind"] == "tls.handshake")
    assert handshake["facts"]["outcome"] == "unreachable", handshake


class PageProxy(RegistryLikeProxy):
    """A proxy that answers every request with its own HTML page (no registry there)."""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        self.requests.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
        body = b"<html><body>Access denied</body></html>"
        writer.write(
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        await writer.drain()
        writer.close()


def test_mixed_scope_does_not_go_on_where_the_look_finds_no_registry(
    testbed: Testbed, tmp_path: Path
) -> None:
    """The look through HTTP_PROXY meets the proxy's own page, not a registry: no runtime
    is judged as going on; docker is judged by 443's refusal, with the others."""
    with PageProxy() as proxy:
        doc = _check(testbed, tmp_path, "all", {"HTTP_PROXY": f"http://127.0.0.1:{proxy.port}"})
        assert f"GET http://{NAME}/v2/ HTTP/1.1" in proxy.requests
    statuses = _statuses(doc)
    assert statuses["docker"] == "error", statuses
    looks = [o for o in doc["targets"][0]["observations"] if o["kind"] == "http.plain_port"]
    assert looks and looks[0]["facts"]["is_registry"] is False, looks
    dials = [
        (o["facts"]["port"], o["facts"]["role"])
        for o in doc["targets"][0]["observations"]
        if o["kind"] == "tcp.connect"
    ]
    assert dials == [(443, "registry")], dials
