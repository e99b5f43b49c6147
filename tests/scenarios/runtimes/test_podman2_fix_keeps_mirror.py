"""podman's insecure fix keeps the registry's mirror (scenario
``podman-insecure-fix-keeps-location-mirror`` of :mod:`.table_podman2`).

A registries.conf.d drop-in's ``[[registry]]`` replaces the whole table with its prefix
(containers/image v5.23.1 updateWithConfigurationFrom): a fix that writes only
``location`` and ``insecure = true`` drops the mirrors. The runtime table proves the
``location`` is kept (podman pulls the rewritten repository); this proves the mirror is:
after regdoctor's fix podman still asks the mirror first, as the mirror's own access log
shows (the mirror lacks the image and answers 404, so podman goes on to the registry).
"""

from __future__ import annotations

import json

import pytest

from tests.harness.runtimes import runtime_marks
from tests.scenarios.runtimes.table_edges import BY_ID
from tests.scenarios.runtimes.test_runtime_scenarios import fix_commands
from tests.scenarios.runtimes.world import Authorities, build

pytestmark = runtime_marks(pytest.mark.timeout(300))

SCENARIO = BY_ID["podman-insecure-fix-keeps-location-mirror"]
#: what podman asks the mirror for plain.test:5000/app:1.2 (the mirror has no path)
MIRROR_REQUEST = "/v2/app/manifests/1.2"


def test_podman_insecure_fix_keeps_mirror(authorities: Authorities) -> None:
    with build(SCENARIO, authorities) as world:
        mirror_log = world.registries["mirror"].log_path
        assert not world.pull("podman").pulled
        asked_before = mirror_log.read_text().count(MIRROR_REQUEST)
        assert asked_before >= 1, "podman did not ask the mirror before the fix"
        doc = json.loads(world.check("podman").stdout)
        commands = fix_commands(doc, "podman")
        assert commands, "regdoctor gave podman no fix"
        run = world.run_fix("podman", commands)
        assert run.ok, run.log
        assert world.pull("podman").pulled, run.log
        asked_after = mirror_log.read_text().count(MIRROR_REQUEST)
        assert asked_after > asked_before, (
            "after regdoctor's fix podman no longer asks the mirror (the drop-in dropped "
            f"it):\n{run.log}"
        )
