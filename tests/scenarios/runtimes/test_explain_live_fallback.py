"""Docker's loopback fallback, captured live from the real dockerd (issue 15's class with
no real paste): a TLS registry on 127.0.0.1 that wants basic auth, and no login. dockerd
tries HTTPS, gets 401, retries the loopback registry over plain HTTP (127.0.0.0/8 is
insecure by default) and reports only the retry: the TLS port resets the plain-HTTP
connection. The real cause, missing credentials, is nowhere in the text.

``explain`` on the exact text must not stop at "the connection was reset": it names the
fallback as the likelier reading and gives the ``regdoctor check`` that tells, and that
check, run on the same node, names the missing credentials.
"""

from __future__ import annotations

import json

import pytest

from tests.harness.runtimes import runtime_marks
from tests.scenarios.runtimes.scenario import Registry, Scenario
from tests.scenarios.runtimes.table import APP
from tests.scenarios.runtimes.world import Authorities, build

pytestmark = runtime_marks(pytest.mark.timeout(300))

SCENARIO = Scenario(
    "loopback-tls-basic-no-login",
    "credentials",
    f"127.0.0.1:5443/{APP}",
    ("docker",),
    (Registry("loopback", "127.0.0.1", 5443, "basic"),),
    note="TLS + basic auth on a loopback address, no login: docker falls back to HTTP",
)


def test_docker_loopback_fallback_live(authorities: Authorities) -> None:
    with build(SCENARIO, authorities) as world:
        pulled = world.pull("docker", timeout_s=90)
        assert not pulled.pulled, "docker pulled without credentials"
        text = pulled.error
        print(f"\ndocker pull said: {text}")
        # dockerd 20.10.24: 'Error response from daemon: read tcp 127.0.0.1:N->127.0.0.1:5443:
        # read: connection reset by peer' (no URL, no word of the 401 before it)
        assert "connection reset by peer" in text and "127.0.0.1:5443" in text, text

        out = world.explain(text)
        matches = json.loads(out.stdout)
        if isinstance(matches, dict):
            matches = matches.get("matches", [])
        lead = next(m for m in matches if m.get("leading"))
        assert lead["category"] == "tcp.reset", lead
        alternatives = lead.get("alternatives") or []
        assert alternatives and "plain HTTP" in alternatives[0]["reason"], lead
        assert lead.get("check") == "regdoctor check https://127.0.0.1:5443", lead

        checked = json.loads(world.check("docker").stdout)
        verdict = checked["targets"][0]["runtimes"]["docker"]
        assert verdict["status"] == "error", verdict
        categories = {verdict.get("category")} | {
            f.get("category")
            for f in checked.get("findings", [])
            if f.get("severity") == "error" and "docker" in (f.get("runtimes") or [])
        }
        assert "auth.unauthorized" in categories, (verdict, categories)
