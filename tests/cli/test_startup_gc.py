"""``check`` pauses the cyclic garbage collector while it starts up, freezes what start-up
made, and collects as usual during the run; a collector that was already off stays off."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.harness import Testbed

PROGRAM = """
import gc, json, os, sys
counts = []
gc.callbacks.append(lambda phase, info: phase == "stop" and counts.append(info["generation"]))
def report(code):
    print(json.dumps([code, len(counts), gc.get_freeze_count(), gc.isenabled()]), file=sys.stderr)
_exit = os._exit
def exit_at_once(code):  # check as its own process ends itself (EXIT_AT_ONCE)
    report(code)
    sys.stderr.flush()
    _exit(code)
os._exit = exit_at_once
{before}
from regdoctor.cli.main import main
sys.argv = ["regdoctor", *{argv!r}]
report(main({call}))
"""


def _run(argv: list[str], before: str = "", in_process: bool = False) -> tuple[int, int, int, bool]:
    """``main()`` as regdoctor's own process runs it (``sys.argv``), or, ``in_process``,
    as a caller's ``main([...])``."""
    call = repr(argv) if in_process else ""
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv, before=before, call=call)],
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
    assert frozen > 10_000  # the modules and classes made at start-up
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


def test_a_callers_main_freezes_nothing(testbed: Testbed, isolate_env):
    """In a caller's process (``main([...])``: tests, an embedding program) nothing is
    frozen: what is alive then, its garbage included, stays collectable."""
    target = testbed.images.app.ref(testbed.endpoints["plain"].hostport)
    code, _collections, frozen, enabled = _run(
        ["check", "--runtime", "docker", "--format", "json", target], in_process=True
    )
    assert (code, frozen, enabled) == (0, 0, True)
