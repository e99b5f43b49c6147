"""`regdoctor bundle`, and a canary credential planted in every source that must never
appear in any output of any format, the bundle included."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import tarfile
import urllib.parse

import pytest
from rich.console import Console

from regdoctor.model import Credentials, Secret
from regdoctor.redact.secrets import Redactor
from regdoctor.render import RENDERERS
from tests.harness.testbed import Testbed
from tests.helpers.reports import cli, format_choices, run_report

CANARY = "c4n4ry-Zx81-s3cr3t"
USER = "canary-user"


def forms(secret: str) -> list[str]:
    """The literal and the encodings a leak would most likely take."""
    pair = f"{USER}:{secret}".encode()
    return [
        secret,
        urllib.parse.quote(secret, safe=""),
        base64.b64encode(pair).decode(),
        base64.b64encode(secret.encode()).decode().rstrip("="),
    ]


def assert_clean(text: str, where: str) -> None:
    for form in forms(CANARY):
        assert form not in text, f"{where} leaks {form!r}"


def plant(env, monkeypatch: pytest.MonkeyPatch, hostport: str) -> None:
    """The canary in every source regdoctor (or its bundle) may read."""
    pair = base64.b64encode(f"{USER}:{CANARY}".encode()).decode()
    env.docker_config.mkdir(parents=True, exist_ok=True)
    (env.docker_config / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    hostport: {"auth": pair},
                    "registry.corp.example": {"identitytoken": CANARY},
                },
                "credHelpers": {"helper.corp.example": "canary"},
                "proxies": {
                    "default": {"httpsProxy": f"http://{USER}:{CANARY}@proxy.corp.example:3128"}
                },
            }
        )
    )
    # A credential helper whose output carries the canary.
    bin_dir = env.root / "bin"
    bin_dir.mkdir(exist_ok=True)
    helper = bin_dir / "docker-credential-canary"
    helper.write_text(
        "#!/bin/sh\n"
        f'echo \'{{"ServerURL":"helper.corp.example","Username":"{USER}","Secret":"{CANARY}"}}\'\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    # A Kubernetes pull secret.
    secrets = env.config_root / "etc/kubernetes/pull-secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    dockerconfig = json.dumps(
        {"auths": {hostport: {"username": USER, "password": CANARY, "auth": pair}}}
    )
    (secrets / "regcred.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\n"
        "type: kubernetes.io/dockerconfigjson\n"
        f"data:\n  .dockerconfigjson: {base64.b64encode(dockerconfig.encode()).decode()}\n"
        f"stringData:\n  password: {CANARY}\n"
    )
    # Proxy URLs with user:password, and a token in a URL.
    service = env.config_root / "etc/systemd/system/docker.service.d"
    service.mkdir(parents=True, exist_ok=True)
    (service / "http-proxy.conf").write_text(
        f'[Service]\nEnvironment="HTTPS_PROXY=http://{USER}:{CANARY}@proxy.corp.example:3128"\n'
    )
    daemon = env.config_root / "etc/docker"
    daemon.mkdir(parents=True, exist_ok=True)
    (daemon / "daemon.json").write_text(
        json.dumps({"registry-mirrors": [f"https://mirror.corp.example/?token={CANARY}"]})
    )
    containers = env.config_root / "etc/containers"
    containers.mkdir(parents=True, exist_ok=True)
    (containers / "registries.conf").write_text(
        '[[registry]]\nlocation = "mirror.corp.example"\n'
        f'# credentials for the mirror\npassword = "{CANARY}"\n'
    )
    env.registry_auth_file.parent.mkdir(parents=True, exist_ok=True)
    env.registry_auth_file.write_text(json.dumps({"auths": {hostport: {"auth": pair}}}))
    # Loopback targets bypass the proxy, so the check itself still reaches the registry.
    monkeypatch.setenv("HTTPS_PROXY", f"http://{USER}:{CANARY}@127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "localhost")


def test_canary_never_leaks_from_any_renderer(testbed: Testbed, isolate_env, monkeypatch):
    endpoint = testbed.endpoints["tls_basic"]
    plant(isolate_env, monkeypatch, endpoint.hostport)
    report = run_report(
        [testbed.images.app.ref(endpoint.hostport)],
        ca_file=testbed.ca_file,
        credentials=Credentials(USER, Secret(CANARY), source="--password-stdin"),
    )
    assert report.targets[0].findings, "a wrong password must give findings with text"
    redactor = Redactor()
    redactor.add_credentials(USER, CANARY)
    assert set(RENDERERS) >= {"plain", "json", "markdown", "prometheus", "junit"}
    for name, render in RENDERERS.items():
        for verbose in (False, True):
            out = io.StringIO()
            render(report, Console(file=out, width=100), verbose=verbose, redactor=redactor)
            assert_clean(out.getvalue(), f"{name} (verbose={verbose})")
            assert out.getvalue().strip()


def test_canary_never_leaks_from_the_cli(testbed: Testbed, isolate_env, monkeypatch):
    endpoint = testbed.endpoints["tls_basic"]
    plant(isolate_env, monkeypatch, endpoint.hostport)
    image = testbed.images.app.ref(endpoint.hostport)
    common = ["--ca-file", str(testbed.ca_file), "--username", USER, "--password-stdin"]
    for fmt in format_choices():
        proc = cli("check", "--format", fmt, "-v", *common, image, stdin=CANARY)
        assert proc.returncode == 2, (fmt, proc.stderr)
        assert_clean(proc.stdout + proc.stderr, f"check --format {fmt}")
    proc = cli("check", "--debug", *common, image, stdin=CANARY)
    assert_clean(proc.stdout + proc.stderr, "check --debug")

    archive = isolate_env.root / "bundle.tar.gz"
    proc = cli("bundle", "-o", str(archive), *common, image, stdin=CANARY)
    assert proc.returncode == 2, proc.stderr
    assert_clean(proc.stdout + proc.stderr, "bundle summary")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert any("pull-secrets/regcred.yaml" in n for n in names)
        assert any(n.endswith("daemon.json") for n in names)
        for member in tar.getmembers():
            assert_clean(member.name, "bundle member name")
            data = tar.extractfile(member)
            assert data is not None
            assert_clean(data.read().decode(), f"bundle {member.name}")

    from tests.cli.test_serve import serving, stop

    with serving("--interval", "30", *common, image, stdin=CANARY) as served:
        served.wait_for(lambda: served.checks() >= 1)
        for path in ("/metrics", "/report.json"):
            status, body = served.get(path)
            assert status == 200
            assert_clean(body, f"serve {path}")
        stop(served)
        assert_clean("".join(served.log), "serve log")


def test_bundle_contents_provenance_and_summary(testbed: Testbed, isolate_env, monkeypatch):
    endpoint = testbed.endpoints["plain"]
    plant(isolate_env, monkeypatch, endpoint.hostport)
    key_dir = isolate_env.config_root / "etc/docker/certs.d/reg.corp.example"
    key_dir.mkdir(parents=True)
    (key_dir / "ca.crt").write_text(testbed.ca_file.read_text())
    archive = isolate_env.root / "out.tar.gz"
    proc = cli("bundle", "-o", str(archive), testbed.images.app.ref(endpoint.hostport))
    # the planted configuration has findings of its own (plaintext credentials...)
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert archive.is_file()
    summary = proc.stdout
    assert f"wrote {archive}" in summary
    assert "included:" in summary and "masked:" in summary
    assert "config/etc/docker/daemon.json" in summary
    assert "host and user names: kept" in summary
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert all(m.uname == "" and m.gname == "" and m.uid == 0 for m in members.values())
        root = "regdoctor-bundle/"
        for name in ("report.md", "report.json", "versions.json", "provenance.json", "SUMMARY.txt"):
            assert root + name in members

        def read(name: str) -> str:
            handle = tar.extractfile(root + name)
            assert handle is not None
            return handle.read().decode()

        assert read("report.md").startswith("## regdoctor report")
        assert json.loads(read("report.json"))["schema_version"] == 3
        versions = json.loads(read("versions.json"))
        assert versions["python"] and {r["name"] for r in versions["runtimes"]} >= {"docker"}
        provenance = json.loads(read("provenance.json"))
        by_path = {f["path"]: f for f in provenance["files"]}
        daemon = by_path["/etc/docker/daemon.json"]
        assert "docker" in daemon["read_by"] and daemon["why"]
        assert daemon["masked_values"] >= 1
        assert daemon["included_as"] == "config/etc/docker/daemon.json"
        assert json.loads(read("config/etc/docker/daemon.json"))["registry-mirrors"][0].startswith(
            "https://mirror.corp.example/?token=****"
        )
        assert "/etc/docker/certs.d/reg.corp.example/ca.crt" in by_path
        assert provenance["environment"]["HTTPS_PROXY"].startswith(f"http://{USER}:****@")
        secret = read("config/etc/kubernetes/pull-secrets/regcred.yaml")
        assert ".dockerconfigjson: '****'" in secret
        assert read("SUMMARY.txt").strip() in summary


def test_bundle_never_copies_private_keys(isolate_env):
    from regdoctor.discovery.files import ConfigSource, redact_config

    path = isolate_env.root / "client.json"
    path.write_text('{"key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----"}')
    result = redact_config(ConfigSource(path, "x", "test", str(path)))
    assert result.text is None and "private key" in (result.note or "")


def test_bundle_with_redact_hosts(testbed: Testbed, isolate_env):
    endpoint = testbed.endpoints["closed"]
    target = f"registry.test:{endpoint.port}"
    archive = isolate_env.root / "hosts.tar.gz"
    proc = cli(
        "bundle",
        "-o",
        str(archive),
        "--redact-hosts",
        "--dns-server",
        testbed.dns_server,
        "--timeout",
        "2",
        target,
    )
    assert proc.returncode == 2, proc.stderr
    assert "host and user names:" in proc.stdout and "masked (--redact-hosts)" in proc.stdout
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            assert handle is not None
            assert "registry.test" not in handle.read().decode(), member.name
