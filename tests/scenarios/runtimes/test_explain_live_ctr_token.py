"""``ctr images pull`` against a registry that wants a bearer token, with no credentials,
captured live from the real ctr (containerd 1.6): explain must lead with the auth cause.

ctr prints containerd's resolver log on stderr (logfmt: ``level=info msg="trying next
host" error="failed to authorize: failed to fetch anonymous token: unexpected status: 401
Unauthorized"``, then ``ctr: failed to resolve reference ...``); with ``--debug`` also
every request, the 401's ``www-authenticate`` header with its token realm (an
``https://`` URL on another host) and response headers. Nothing in either text is a
certificate error: explain must lead with the missing credentials and name no TLS cause.
"""

from __future__ import annotations

import json

import pytest

from tests.harness.runtimes import runtime_marks
from tests.scenarios.runtimes.scenario import Scenario
from tests.scenarios.runtimes.table import (
    APP,
    SECURE_NAMES,
    SECURE_TOKEN,
    _ca_everywhere,
    _containerd_ca_hosts,
)
from tests.scenarios.runtimes.world import Authorities, build

pytestmark = runtime_marks(pytest.mark.timeout(300))

SCENARIO = Scenario(
    "ctr-token-no-login",
    "credentials",
    f"secure.test/{APP}",
    ("containerd",),
    (SECURE_TOKEN,),
    {**SECURE_NAMES, "auth.test": "127.0.0.1"},
    hub_trusted=True,
    certs=_ca_everywhere("secure.test"),
    etc_files=_containerd_ca_hosts("secure.test"),
    note="bearer-token registry, trusted CA, no credentials: ctr cannot pull",
)


def test_ctr_token_auth_failure_live(authorities: Authorities) -> None:
    with build(SCENARIO, authorities) as world:
        assert world.containerd is not None
        ctr = world.containerd
        plain = ctr.pull(SCENARIO.image, timeout_s=90)
        # ctr's global --debug: the resolver's whole trail (requests, the 401's
        # www-authenticate with the token realm, each "trying next host").
        debug = ctr.ctr(
            ["--debug", "images", "pull", "--hosts-dir", "/etc/containerd/certs.d", SCENARIO.image],
            timeout_s=90,
        )
        assert not plain.ok and not debug.ok, "ctr pulled without credentials"
        for name, out in (("plain", plain), ("--debug", debug)):
            text = out.stdout + out.stderr  # what the terminal shows
            print(f"\nctr {name} images pull said:\n{text}")
            assert "failed to fetch anonymous token: unexpected status: 401" in text, text
            explained = world.explain(text)
            matches = json.loads(explained.stdout)
            if isinstance(matches, dict):
                matches = matches.get("matches", [])
            lead = next(m for m in matches if m.get("leading"))
            assert lead["category"] == "auth.unauthorized", (name, lead)
            assert not any(m["category"].startswith("tls.") for m in matches), (name, matches)
