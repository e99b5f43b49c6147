"""podman refuses a short name before any request: check asks no registry either
(review of session 10; scenario ``podman-short-name-enforcing-hub-unasked`` of
:mod:`.table_verdict4`). The Docker Hub registry of the sandbox serves the image and is
up; podman never asks it (nor any search registry), and check's requests must not reach
it: its own access log is the witness."""

from __future__ import annotations

import json

import pytest

from tests.harness.runtimes import runtime_marks
from tests.scenarios.runtimes.table_edges import BY_ID
from tests.scenarios.runtimes.world import Authorities, build

pytestmark = runtime_marks(pytest.mark.timeout(300))

SCENARIO = BY_ID["podman-short-name-enforcing-hub-unasked"]
PROBE_KINDS = ("dns", "tcp", "tls", "http", "auth", "image")


def _asked(world: object, key: str) -> int:
    log = world.registries[key].log_path  # type: ignore[attr-defined]
    return log.read_text(errors="replace").count('"GET /v2/')


def test_check_asks_no_registry_podman_does_not_ask(authorities: Authorities) -> None:
    with build(SCENARIO, authorities) as world:
        before = {key: _asked(world, key) for key in ("hub", "tls", "plain")}
        pull = world.pull("podman")
        assert not pull.pulled
        assert "cannot prompt without a TTY" in pull.error, pull.error
        assert {key: _asked(world, key) for key in before} == before, "podman asked one"
        doc = json.loads(world.check("podman").stdout)
        sent = [
            (t["target"], o["kind"])
            for t in doc["targets"]
            for o in t["observations"]
            if o["kind"].split(".")[0] in PROBE_KINDS
        ]
        assert sent == [], sent
        assert {key: _asked(world, key) for key in before} == before, "check asked a registry"
        rules = {(f["rule"], f["severity"]) for f in doc["findings"]}
        assert rules == {("config-podman-short-name", "error")}, rules
