"""A check made again judges as the first check (probes/realm_early.py), on the runtime
table's token scenarios: a registry (``secure.test``) whose realm is another host
(``auth.test``, by name through the scenario's DNS server), healthy, refused, untrusted,
with its CA where only some runtimes look, or on plain HTTP.

The first ``regdoctor check --runtime R`` of a scenario (its first client, as the table
runs it) reaches the realm after the registry's 401 and keeps it
(``/home/node/.cache/regdoctor/realm-hints.json`` in the sandbox); every check after it
reaches the realm beside the registry. The check made again must conclude what the first
did (verdicts, findings, the realm's observations), and each client's check made again
must give that client the verdict its real client gets (the runtime table asserts each
scenario's ``expect`` against the real pulls in every run)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.runtimes import runtime_marks
from tests.scenarios.runtimes.table_edges import BY_ID
from tests.scenarios.runtimes.test_verdict4_mixed_scope import json_report
from tests.scenarios.runtimes.world import Authorities, build

pytestmark = runtime_marks(pytest.mark.timeout(400))

SCENARIOS = (
    "creds-token-realm-other-host",
    "token-realm-refused",
    "token-realm-untrusted",
    "token-realm-ca-beside-registry-ca",
    "token-realm-plain-http",
)


def _findings(doc: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    return sorted(
        (f["rule"], f["severity"], tuple(sorted(f.get("runtimes") or ()))) for f in doc["findings"]
    )


def _verdicts(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    runtimes = doc["targets"][0]["runtimes"]
    return {name: (v["status"], v.get("category") or "") for name, v in runtimes.items()}


def _realm_steps(doc: dict[str, Any]) -> list[str]:
    return [
        step["what"]
        for step in doc["targets"][0]["timing"]["critical_path"]
        if "realm" in step["what"] or step.get("host", "").startswith("auth.test")
    ]


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_a_check_made_again_judges_every_runtime_as_the_first(
    authorities: Authorities, scenario_id: str
) -> None:
    scenario = BY_ID[scenario_id]
    client = scenario.clients[0]
    with build(scenario, authorities) as world:
        first = json_report(world.check(client))
        again = [json_report(world.check(c)) for c in scenario.clients]
    assert not any("early" in step for step in _realm_steps(first)), _realm_steps(first)
    for doc in again:
        assert any("early" in step for step in _realm_steps(doc)), _realm_steps(doc)
    assert _verdicts(again[0]) == _verdicts(first)
    assert _findings(again[0]) == _findings(first)
    assert _realm_view(again[0]) == _realm_view(first)
    for name, doc in zip(scenario.clients, again, strict=True):
        expected = scenario.expected(name)
        status = _verdicts(doc)[name][0]
        assert expected is None or (status != "error") == expected, (name, status, expected)


#: Facts that differ from one run to the next whatever the path (times).
VOLATILE = ("handshake_ms", "now")


def _realm_view(doc: dict[str, Any]) -> list[tuple[str, bool, str | None, dict[str, Any]]]:
    """The realm's observations, facts and all (their times aside): what rules read."""
    return [
        (
            o["kind"],
            o["ok"],
            o.get("error"),
            {k: v for k, v in o["facts"].items() if k not in VOLATILE},
        )
        for o in doc["targets"][0]["observations"]
        if o["facts"].get("role") == "realm"
    ]
