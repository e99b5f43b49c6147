"""What containerd 1.6's CRI does with ``AuthConfig.server_address``, against the real
CRI plugin: ``ParseAuth`` (pkg/cri/server/image_pull.go) drops the credentials when the
field is set and ``url.Parse(server_address).Host`` is not the host being contacted. A
scheme-less ``secure.test`` parses as a path (no host), and the Docker Hub key
``https://index.docker.io/v1/`` names index.docker.io, not registry-1.docker.io: both
would be dropped. The kubelet never sets the field (pkg/credentialprovider keyring.go
builds AuthConfig from username and password only), so for pull secrets only the
kubelet's own key matching counts (tests/scenarios/runtimes/keyring.py, scenarios
cri-pull-secret-key-*): regdoctor models that and not this check."""

from __future__ import annotations

import pytest

from tests.harness import cri as harness_cri
from tests.harness.runtimes import runtime_marks
from tests.scenarios.runtimes.scenario import PASSWORD, USERNAME
from tests.scenarios.runtimes.table import BY_ID
from tests.scenarios.runtimes.world import Authorities, build

pytestmark = runtime_marks(pytest.mark.timeout(300))


def test_cri_drops_credentials_whose_server_address_is_another_host(
    authorities: Authorities,
) -> None:
    scenario = BY_ID["cri-pull-secret-basic"]  # secure.test:443, basic auth
    with build(scenario, authorities) as world:
        assert world.containerd is not None
        client = harness_cri.CriClient(world.containerd.address)
        outcomes = {}
        for server in ("", "https://secure.test", "secure.test", "https://index.docker.io/v1/"):
            auth = harness_cri.Auth(USERNAME, PASSWORD, server_address=server)
            pulled = client.pull(scenario.image, auth, timeout_s=90)
            outcomes[server] = pulled.ok or pulled.error
        assert outcomes[""] is True, outcomes  # what the kubelet sends
        assert outcomes["https://secure.test"] is True, outcomes
        for dropped in ("secure.test", "https://index.docker.io/v1/"):
            assert "401 Unauthorized" in str(outcomes[dropped]), outcomes
