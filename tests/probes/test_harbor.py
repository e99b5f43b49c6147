"""Harbor's health API, against a fake Harbor that answers the documented shapes
(``/api/v2.0/systeminfo``, ``/api/v2.0/health``) next to a registry's ``/v2/``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from regdoctor.check import pipeline as runner
from regdoctor.probes.harbor import HarborProbe, component_group
from tests.harness.testbed import Testbed
from tests.helpers.reports import cli, run_report

SYSTEMINFO = {
    "auth_mode": "db_auth",
    "harbor_version": "v2.10.2-1a741cb7",
    "registry_url": "harbor.test",
    "self_registration": False,
    "has_ca_root": False,
    "primary_auth_mode": False,
    "banner_message": "",
}


class FakeHarbor:
    def __init__(self) -> None:
        self.health: dict = {"status": "healthy", "components": []}
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                if self.path == "/v2/":
                    self._json(200, {}, {"Docker-Distribution-API-Version": "registry/2.0"})
                elif self.path == "/api/v2.0/systeminfo":
                    self._json(200, SYSTEMINFO)
                elif self.path == "/api/v2.0/health":
                    self._json(200, fake.health)
                else:
                    self._json(404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})

            def _json(self, status: int, body: object, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def target(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def harbor() -> Iterator[FakeHarbor]:
    fake = FakeHarbor()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def with_harbor_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the integration patch does: HarborProbe after the other probes."""
    if not any(p.id == "harbor" for p in runner.PROBES):
        monkeypatch.setattr(runner, "PROBES", (*runner.PROBES, HarborProbe()))


UNHEALTHY = {
    "status": "unhealthy",
    "components": [
        {"name": "core", "status": "healthy"},
        {
            "name": "database",
            "status": "unhealthy",
            "error": "dial tcp 192.0.2.7:5432: connect: connection refused",
        },
        {"name": "jobservice", "status": "healthy"},
        {"name": "portal", "status": "healthy"},
        {"name": "redis", "status": "unhealthy", "error": "NOAUTH Authentication required."},
        {"name": "registry", "status": "healthy"},
        {"name": "registryctl", "status": "healthy"},
        {"name": "trivy", "status": "unhealthy", "error": "failed to download vulnerability DB"},
    ],
}


def test_each_unhealthy_component_is_a_server_error_naming_it(
    harbor, with_harbor_probe, isolate_env
):
    harbor.health = UNHEALTHY
    report = run_report([harbor.target])
    (target,) = report.targets
    harbor_phase = next(p for p in target.phases if p.name == "harbor")
    assert harbor_phase.status == "failed"
    components = [o for o in target.observations if o.kind == "harbor.component"]
    assert [o.facts["component"] for o in components] == ["database", "redis", "trivy"]
    findings = {f.rule: f for f in target.findings if f.rule.startswith("harbor-")}
    assert set(findings) == {
        "harbor-database-unhealthy",
        "harbor-redis-unhealthy",
        "harbor-scanner-unhealthy",
    }
    assert all(f.category == "server.error" for f in findings.values())
    assert "database" in findings["harbor-database-unhealthy"].title
    assert "trivy" in findings["harbor-scanner-unhealthy"].title
    assert "connection refused" in findings["harbor-database-unhealthy"].explanation
    assert findings["harbor-database-unhealthy"].severity == "error"
    assert findings["harbor-scanner-unhealthy"].severity == "warning"
    assert "/api/v2.0/health" in harbor.requests


def test_healthy_harbor_gives_no_finding(harbor, with_harbor_probe, isolate_env):
    harbor.health = {"status": "healthy", "components": [{"name": "core", "status": "healthy"}]}
    report = run_report([harbor.target])
    (target,) = report.targets
    assert next(p for p in target.phases if p.name == "harbor").status == "ok"
    assert not [f for f in target.findings if f.rule.startswith("harbor-")]


def test_a_plain_registry_is_not_harbor(testbed: Testbed, with_harbor_probe, isolate_env):
    report = run_report([testbed.endpoints["plain"].hostport])
    (target,) = report.targets
    phase = next(p for p in target.phases if p.name == "harbor")
    assert phase.status == "n/a"
    info = next(o for o in target.observations if o.kind == "harbor.systeminfo")
    assert info.facts["is_harbor"] is False
    assert not [o for o in target.observations if o.kind == "harbor.health"]


def test_component_groups():
    assert component_group("trivy") == "scanner"
    assert component_group("Database") == "database"
    assert component_group("chartmuseum") == "other"


def test_cli_reports_the_unhealthy_component(harbor, isolate_env):
    harbor.health = UNHEALTHY
    proc = cli("check", "--format", "json", harbor.target)
    assert proc.returncode == 2, proc.stderr
    document = json.loads(proc.stdout)
    rules = {f["rule"] for f in document["findings"]}
    assert "harbor-database-unhealthy" in rules
