"""Proxied pulls: HTTPS_PROXY is honoured, probed and reported, as Go clients do it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.proxy import ConnectProxy
from tests.harness.skopeo import run_skopeo_inspect
from tests.harness.testbed import Testbed
from tests.scenarios.test_check_scenarios import Result
from tests.scenarios.test_check_scenarios import regdoctor as _check


def regdoctor(*args: str, fmt: str = "json") -> Result:
    """``regdoctor check`` judged as podman does: podman (like ctr, skopeo and curl) takes
    the proxy from its own environment. dockerd takes its own from its systemd unit
    (tests/scenarios/runtimes, ``proxy-*``), never from the shell's HTTPS_PROXY."""
    if "--runtime" not in args:
        args = ("--runtime", "podman", *args)
    return _check(*args, fmt=fmt)


@pytest.fixture
def proxy(request: pytest.FixtureRequest) -> Iterator[ConnectProxy]:
    mode = getattr(request, "param", "ok")
    server = ConnectProxy({"registry.test": "127.0.0.1"}, mode=mode).start()
    yield server
    server.stop()


def _target(testbed: Testbed) -> str:
    return f"registry.test:{testbed.endpoints['tls'].port}/team/app:1.2"


def _skopeo(testbed: Testbed, tmp_path: Path, proxy: ConnectProxy) -> int:
    """Real skopeo through the same proxy: it never resolves registry.test itself."""
    cert_dir = testbed.make_cert_dir(tmp_path / "certs")
    code, _ = run_skopeo_inspect(
        _target(testbed),
        tls_verify=True,
        cert_dir=cert_dir,
        timeout_s=3,
        env_extra={"HTTPS_PROXY": proxy.url},
    )
    return code


def test_check_goes_through_the_proxy(testbed, proxy, monkeypatch, check_schema, tmp_path):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    result = regdoctor("--ca-file", str(testbed.ca_file), _target(testbed))
    check_schema(result.document)
    assert result.code == 0, result.findings
    observations = result.document["targets"][0]["observations"]
    kinds = {(o["kind"], o["facts"].get("role")) for o in observations}
    assert ("proxy.configured", None) in kinds
    assert ("dns.answer", "proxy") in kinds and ("tcp.connect", "proxy") in kinds
    handshake = next(o for o in observations if o["kind"] == "tls.handshake")
    assert handshake["facts"]["proxy"] == proxy.url
    ping = next(o for o in observations if o.get("step") == "v2")
    assert ping["facts"]["proxy"] == proxy.url
    assert any(r.startswith("CONNECT registry.test:") for r in proxy.requests)
    assert _skopeo(testbed, tmp_path, proxy) == 0


@pytest.mark.parametrize("proxy", ["deny", "auth"], indirect=True)
def test_proxy_refusing_the_tunnel_is_a_proxy_error(testbed, proxy, monkeypatch, tmp_path):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    result = regdoctor("--ca-file", str(testbed.ca_file), _target(testbed))
    assert result.code == 2
    assert result.leading["category"] == "proxy.error", result.categories
    assert result.leading["title"].startswith(f"The proxy {proxy.url} refuses"), result.leading
    assert result.leading["phase"] == "tcp"
    assert _skopeo(testbed, tmp_path, proxy) != 0


def test_dead_proxy_is_a_proxy_error_not_a_registry_refusal(testbed, monkeypatch):
    dead = testbed.endpoints["closed"]
    monkeypatch.setenv("HTTPS_PROXY", f"http://{dead.hostport}")
    result = regdoctor("--ca-file", str(testbed.ca_file), _target(testbed))
    assert result.code == 2
    lead = result.leading
    assert lead["category"] == "proxy.error", result.categories
    # named for the proxy, in the phase where it failed, fixed by testing the proxy
    assert lead["phase"] == "tcp"
    assert lead["title"] == f"The proxy {dead.hostport} cannot be reached"
    assert f"connecting to the proxy at {dead.hostport} failed" in lead["explanation"]
    kubernetes = next(
        {**step.get("checks", {}), **step.get("commands", {})}.get("kubernetes", "")
        for step in lead["remediation"]
    )
    assert f"/dev/tcp/127.0.0.1/{dead.port}" in kubernetes, kubernetes
    assert str(testbed.endpoints["tls"].port) not in kubernetes
    assert result.phase("tcp")["error"].startswith(f"proxyconnect tcp: dial tcp {dead.hostport}")
    configured = next(
        o for o in result.document["targets"][0]["observations"] if o["kind"] == "proxy.configured"
    )
    assert configured["facts"]["proxy_hostport"] == dead.hostport
    assert configured["facts"]["proxy_scheme"] == "http"


def test_no_proxy_and_loopback_bypass_the_proxy(testbed, proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "registry.test")
    result = regdoctor(
        "--ca-file",
        str(testbed.ca_file),
        "--dns-server",
        testbed.dns_server,
        _target(testbed),
        testbed.images.app.ref(testbed.endpoints["tls"].hostport),
    )
    assert result.code == 0, result.findings
    assert proxy.requests == []


@pytest.fixture
def proxy_with_login() -> Iterator[ConnectProxy]:
    server = ConnectProxy(
        {"registry.test": "127.0.0.1"}, mode="auth", credentials=("pxuser", "pxs3cret-Zq9")
    ).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("tag", "ca", "category"),
    [
        ("no-such-tag", True, "image.manifest_unknown"),
        ("1.2", False, "tls.unknown_authority"),
    ],
)
def test_a_failing_request_through_the_proxy_says_so(
    testbed, proxy_with_login, monkeypatch, tag, ca, category
):
    """The proxy is in the path of a request that failed for another reason (a missing
    tag; a certificate the host does not trust): the explanation names the proxy by
    host:port, in every format, and never its password."""
    proxy = proxy_with_login
    monkeypatch.setenv("HTTPS_PROXY", f"http://pxuser:pxs3cret-Zq9@127.0.0.1:{proxy.port}")
    target = f"registry.test:{testbed.endpoints['tls'].port}/team/app:{tag}"
    args = ("--ca-file", str(testbed.ca_file), target) if ca else (target,)
    result = regdoctor(*args)
    assert result.leading["category"] == category, result.categories
    said = f"The request went through the proxy 127.0.0.1:{proxy.port} (from HTTPS_PROXY)"
    assert said in result.leading["explanation"]
    for fmt in ("plain", "markdown"):
        shown = regdoctor(*args, fmt=fmt).stdout
        prose = " ".join(shown.replace("\\_", "_").split())  # Markdown escapes _
        assert said in prose, shown
        assert "pxs3cret" not in shown
    assert "pxs3cret" not in result.stdout
    assert any(r.startswith("CONNECT registry.test:") for r in proxy.requests)


def test_without_a_proxy_the_explanation_does_not_mention_one(testbed) -> None:
    target = f"registry.test:{testbed.endpoints['tls'].port}/team/app:no-such-tag"
    result = regdoctor(
        "--ca-file", str(testbed.ca_file), "--dns-server", testbed.dns_server, target
    )
    assert result.leading["category"] == "image.manifest_unknown", result.categories
    assert "went through the proxy" not in result.leading["explanation"]


def test_a_daemon_proxy_login_from_its_drop_in_is_never_printed(testbed, monkeypatch, tmp_path):
    """dockerd's proxy comes from its systemd drop-in (`Environment=`), often with the
    proxy's login in the URL. regdoctor probes through it and names it (host:port), but
    the password reaches no output: config and check, every format, --debug."""
    import os

    secret = "Drop1nProxyPw-7f3a"
    dead = testbed.endpoints["closed"]
    root = Path(os.environ["REGDOCTOR_CONFIG_ROOT"])
    drop_in = root / "etc" / "systemd" / "system" / "docker.service.d" / "http-proxy.conf"
    drop_in.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://proxyuser:{secret}@{dead.hostport}"
    drop_in.write_text(f'[Service]\nEnvironment="HTTPS_PROXY={url}" "HTTP_PROXY={url}"\n')
    outputs = []
    for fmt in ("json", "plain", "markdown"):
        result = regdoctor(
            "--runtime", "docker", "--ca-file", str(testbed.ca_file), _target(testbed), fmt=fmt
        )
        assert result.code == 2, (fmt, result.stderr)
        outputs += [result.stdout, result.stderr]
    debug = subprocess.run(
        [sys.executable, "-m", "regdoctor", "check", "--runtime", "docker", "--debug", "-v",
         "--ca-file", str(testbed.ca_file), _target(testbed)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    config = subprocess.run(
        [sys.executable, "-m", "regdoctor", "config", "--runtime", "docker", "--format", "json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    outputs += [debug.stdout, debug.stderr, config.stdout, config.stderr]
    # the drop-in's proxy was used and named ...
    assert all(dead.hostport in text for text in outputs[0:6:2]), outputs[0][:2000]
    assert dead.hostport in config.stdout
    # ... and its password never printed (the user name may be, as for registries)
    for text in outputs:
        assert secret not in text


def _plain_target(testbed: Testbed) -> str:
    return f"registry.test:{testbed.endpoints['plain'].port}/team/app:1.2"


def _podman_commands(finding: dict) -> str:
    return "\n".join(
        (step.get("commands") or {}).get("podman", "") for step in finding["remediation"]
    )


@pytest.mark.parametrize(
    ("mode", "rule", "sent"),
    [
        ("auth", "http-proxy-auth-required", 'export HTTP_PROXY="${PROXY_URL:?'),
        ("error_page", "http-proxy-error-page", 'export NO_PROXY="registry.test'),
    ],
)
def test_plain_http_registry_through_the_proxy(testbed, monkeypatch, mode, rule, sent):
    """An insecure (plain-HTTP) registry through a proxy: after the refused CONNECT the
    runtimes go on to http://, which the proxy gets in absolute form (``GET
    http://registry.test:PORT/v2/``) and answers itself: 407, or its own HTML page.
    regdoctor goes on too, names that answer, and its fix is for HTTP_PROXY, the
    variable Go clients read for an http:// URL (not HTTPS_PROXY). skopeo agrees."""
    credentials = ("pxuser", "pxs3cret-Zq9") if mode == "auth" else None
    proxy = ConnectProxy({"registry.test": "127.0.0.1"}, mode, credentials).start()
    try:
        for name in ("HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        result = regdoctor("--insecure", "--dns-server", testbed.dns_server, _plain_target(testbed))
        assert result.code == 2
        # podman's error is the proxy's answer to http://; the refused CONNECT before it
        # is on no runtime's path, so it does not lead the report
        errors = [f for f in result.findings if f["severity"] == "error" and f["runtimes"]]
        assert [f["rule"] for f in errors] == [rule], [
            (f["rule"], f["runtimes"]) for f in result.findings
        ]
        assert result.leading is not None and result.leading["rule"] == rule
        verdict = result.document["targets"][0]["runtimes"]["podman"]
        port = testbed.endpoints["plain"].port
        assert verdict["endpoint"] == f"http://registry.test:{port}/v2/"  # its retry's
        assert verdict["status"] == "error" and verdict["reason"] == errors[0]["title"]
        assert sent in _podman_commands(errors[0])
        plain = f"GET http://registry.test:{testbed.endpoints['plain'].port}/v2/ HTTP/1.1"
        assert plain in proxy.requests
        code, _ = run_skopeo_inspect(
            _plain_target(testbed), tls_verify=False, timeout_s=5,
            env_extra={"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url},
        )  # fmt: skip
        assert code != 0
        if credentials is not None:  # the login in HTTP_PROXY alone: skopeo pulls
            login = f"http://pxuser:pxs3cret-Zq9@127.0.0.1:{proxy.port}"
            code, err = run_skopeo_inspect(
                _plain_target(testbed), tls_verify=False, timeout_s=5,
                env_extra={"HTTP_PROXY": login, "HTTPS_PROXY": proxy.url},
            )  # fmt: skip
            assert code == 0, err
    finally:
        proxy.stop()


@pytest.mark.parametrize("mode", ["ok", "auth"])
def test_http_proxy_alone_and_a_name_only_the_proxy_resolves(testbed, monkeypatch, mode):
    """HTTP_PROXY alone (no HTTPS_PROXY) and an insecure registry whose name only the
    proxy knows (the node's DNS: NXDOMAIN). The https:// attempt goes direct and fails
    in DNS; dockerd and podman go on to http://, which Go sends through HTTP_PROXY: the
    check goes there too (it used to stop at DNS). The verdict's endpoint is that
    http:// URL, and the leading finding one that applies to the runtime. skopeo agrees.
    (podman: the shell's proxy; dockerd's comes from its unit, tests/scenarios/runtimes
    ``proxy-http-only-*``.)"""
    runtime = "podman"
    credentials = ("pxuser", "pxs3cret-Zq9") if mode == "auth" else None
    proxy = ConnectProxy({"behind.test": "127.0.0.1"}, mode, credentials).start()
    port = testbed.endpoints["plain"].port
    target = f"behind.test:{port}/team/app:1.2"
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("HTTPS_PROXY", raising=False)
        result = regdoctor(
            "--runtime", runtime, "--insecure", "--dns-server", testbed.dns_server, target
        )
        verdict = result.document["targets"][0]["runtimes"][runtime]
        assert verdict["endpoint"] == f"http://behind.test:{port}/v2/", verdict
        assert f"GET http://behind.test:{port}/v2/ HTTP/1.1" in proxy.requests
        leading = [f for f in result.findings if f["leading"]]
        assert all(f["runtimes"] for f in leading), leading
        code, _ = run_skopeo_inspect(
            target, tls_verify=False, timeout_s=5, env_extra={"HTTP_PROXY": proxy.url}
        )
        if mode == "ok":
            assert result.code == 0 and verdict["status"] == "ok", result.findings
            assert code == 0
        else:
            assert verdict["status"] == "error" and verdict["category"] == "proxy.error"
            mine = [
                f["rule"]
                for f in result.findings
                if f["severity"] == "error" and runtime in f["runtimes"]
            ]
            assert mine == ["http-proxy-auth-required"], mine
            assert code != 0
    finally:
        proxy.stop()
