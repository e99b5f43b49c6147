"""``check`` pauses the cyclic garbage collector while it starts up, freezes what start-up
made, and collects as usual during the run; a collector that was already off stays off."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.harness import Testbed

PROGRAM = """
import gc, json, sys
counts = []
gc.callbacks.append(lambda phase, info: phase == "stop" and counts.append(info["generation"]))
{before}
from regdoctor.cli.main import main
code = main({argv!r})
print(json.dumps([code, len(counts), gc.get_freeze_count(), gc.isenabled()]), file=sys.stderr)
"""


def _run(argv: list[str], before: str = "") -> tuple[int, int, int, bool]:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv, before=before)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    code, collections, frozen, enabled = json.loads(result.stderr.strip().splitlines()[-1])
    return code, collections, frozen, enabled


def test_a_check_freezes_its_start_up_and_collects_during_the_run(testbed: Testbed, isolate_env):
    target = testbed.images.app.ref(testbed.endpoints["plain"].hostport)
    argv = ["check", "--runtime", "docker", "--format", "json", target]
    _run(argv)  # fills the rule cache
    code, collections, frozen, enabled = _run(argv)
    assert code == 0
    assert enabled  # on again when check returns
    assert frozen > 10_000  # the modules, classes and catalog made at start-up
    # the run itself is collected as usual; start-up (about 90 collections) was not
    no_pause = "import regdoctor.cli.startup as s; s.pause = lambda: None"
    _code, unpaused, _frozen, _enabled = _run(argv, no_pause)
    assert 0 < collections < unpaused


def test_a_collector_turned_off_stays_off(testbed: Testbed, isolate_env):
    target = testbed.endpoints["closed"].hostport
    code, collections, frozen, enabled = _run(["check", "--format", "json", target], "gc.disable()")
    assert code == 2
    assert (collections, frozen, enabled) == (0, 0, False)


def test_a_failed_start_leaves_the_collector_on():
    code, _collections, _frozen, enabled = _run(["check", "not a [reference"])
    assert code == 3 and enabled
