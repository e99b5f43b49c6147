"""Several runtimes in scope, each judged on the endpoint it uses (review of session 10).

The runtime table runs ``regdoctor check --runtime R`` one runtime at a time. Here the
scenarios ``plain-no-port-only-docker-told`` and
``proxy-http-only-plain-no-port-docker-told`` (:mod:`.table_verdict4`) are checked with
every runtime in scope at once (``--runtime all``): dockerd, told the registry is
insecure, goes on from the refused port 443 to ``http://plain80.test/v2/`` (port 80)
and pulls; ctr, the CRI and podman stop at 443. Each runtime's verdict must match what
its real client did, and an error finding must list exactly the runtimes that failed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness.runtimes import runtime_marks
from tests.scenarios.runtimes.scenario import Scenario
from tests.scenarios.runtimes.table import ALL, APP
from tests.scenarios.runtimes.table_edges import BY_ID
from tests.scenarios.runtimes.table_verdict4 import BEHIND_DIRECT
from tests.scenarios.runtimes.world import Authorities, build

pytestmark = runtime_marks(pytest.mark.timeout(400))

#: Not in the table (the registry is down: no fix on the node for the table to apply):
#: only dockerd told the registry is insecure, nothing on 443 or 80; every client fails,
#: and tcp-refused named docker only (the target took its settings from daemon.json).
NOTHING_ON_80 = Scenario(
    "plain-no-port-docker-told-nothing-on-80",
    "scheme",
    f"plain80.test/{APP}",
    ALL,
    registries=(BEHIND_DIRECT,),
    names={"plain80.test": BEHIND_DIRECT.ip},
    daemon_json={"insecure-registries": ["plain80.test"]},
    hub_trusted=True,
    expect=dict.fromkeys(ALL, False),
    rule="tcp-refused",
)
SCENARIOS = {
    "plain-no-port-only-docker-told": BY_ID["plain-no-port-only-docker-told"],
    "proxy-http-only-plain-no-port-docker-told": BY_ID["proxy-http-only-plain-no-port-docker-told"],
    NOTHING_ON_80.id: NOTHING_ON_80,
}


def check_all(world: Any, image: str) -> dict[str, Any]:
    out = world.regdoctor(
        [
            "check",
            "--format",
            "json",
            "--root",
            str(world.sandbox.config_root),
            "--dns-server",
            "127.0.0.1:53",
            "--runtime",
            "all",
            "--timeout",
            "3",
            image,
        ]
    )
    return json_report(out)


def json_report(out: Any) -> dict[str, Any]:
    """The JSON document a ``regdoctor check --format json`` run printed."""
    doc = json.loads(out.stdout)
    assert isinstance(doc, dict), out.stderr
    return doc


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_each_runtime_is_judged_on_its_own_endpoint(
    authorities: Authorities, scenario_id: str
) -> None:
    """Also behind HTTP_PROXY alone (``proxy-http-only-plain-no-port-docker-told``):
    dockerd goes on to http:// through the proxy; check went on by dialling port 80
    directly and judged docker tcp-refused."""
    scenario = SCENARIOS[scenario_id]
    with build(scenario, authorities) as world:
        pulled = {client: world.pull(client).pulled for client in scenario.clients}
        assert pulled == {c: scenario.expected(c) for c in scenario.clients}, pulled
        doc = check_all(world, scenario.image)
        verdicts = doc["targets"][0]["runtimes"]
        said = {client: verdicts[client]["status"] for client in scenario.clients}
        assert {c: s != "error" for c, s in said.items()} == pulled, (said, pulled)
        if "docker" in scenario.endpoints:
            assert verdicts["docker"]["endpoint"] == scenario.endpoints["docker"], verdicts

        errors = [f for f in doc["findings"] if f.get("severity") == "error"]
        failed = sorted(c for c, ok in pulled.items() if not ok)
        for finding in errors:
            assert not set(finding.get("runtimes") or ()) & {c for c, ok in pulled.items() if ok}
        listed = sorted({r for f in errors for r in f.get("runtimes") or ()})
        assert listed == failed, (listed, [(f["rule"], f.get("runtimes")) for f in errors])
        rules = {f["rule"] for f in errors}
        assert rules == {scenario.rule}, rules


#: Runtimes that would send different credentials (table_creds, table_podman2): each
#: runtime's dance is observed with its own (probes/credential_beside.py).
CREDENTIAL_SCENARIOS = (
    # docker's login in config.json; ctr sends none
    "creds-token-realm-other-host",
    # the other way round: a login only podman finds (its REGISTRY_AUTH_FILE falls
    # through to its own auth.json; ~/.dockercfg beside a config.json without it)
    "creds-podman-registry-auth-file-falls-through",
    "creds-legacy-dockercfg-beside-config-json",
    # docker's credsStore helper answers; podman never asks it
    "creds-store-answers-podman-ignores",
)


@pytest.mark.parametrize("scenario_id", CREDENTIAL_SCENARIOS)
def test_each_runtime_is_judged_with_its_own_credentials(
    authorities: Authorities, scenario_id: str
) -> None:
    """``creds-token-realm-other-host``: a login for secure.test in ~/.docker/config.json,
    a private repository behind a token realm. docker and podman pull with the login;
    ctr sends none and fails. ``--runtime containerd`` alone says so (the runtime table);
    ``--runtime all`` must too. The others: a login only one of docker and podman finds.
    Each verdict matches that client's real pull, and the error findings list exactly
    the clients that failed."""
    scenario = BY_ID[scenario_id]
    with build(scenario, authorities) as world:
        pulled = {client: world.pull(client).pulled for client in scenario.clients}
        assert pulled == {c: scenario.expected(c) for c in scenario.clients}, pulled
        doc = check_all(world, scenario.image)
    verdicts = doc["targets"][0]["runtimes"]
    said = {client: verdicts[client]["status"] != "error" for client in scenario.clients}
    assert said == pulled, (said, verdicts)
    errors = [f for f in doc["findings"] if f.get("severity") == "error"]
    listed = sorted({r for f in errors for r in f.get("runtimes") or () if r in pulled})
    failed = sorted(c for c, ok in pulled.items() if not ok)
    assert listed == failed, (listed, [(f["rule"], f.get("runtimes")) for f in errors])
    for client in failed:
        assert verdicts[client]["category"].startswith("auth."), verdicts[client]
