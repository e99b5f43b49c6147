"""``regdoctor check`` as its own process ends without the interpreter's teardown once
its report is written (``EXIT_AT_ONCE``, as ``tags``): the report is complete, the exit
code is the judgement's, and nothing that runs at interpreter exit runs (the teardown of
some 400 modules and the run's objects: CPU and wall time nobody sees). A caller's
``main([...])`` returns as before (every in-process test)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.harness.isolation import IsolatedEnv
from tests.harness.testbed import Testbed

# atexit handlers run during the interpreter's teardown: if this one prints, the process
# was torn down the slow way
PROGRAM = """
import atexit, sys
atexit.register(lambda: print("torn down", file=sys.stderr))
from regdoctor.cli.main import main
sys.argv = ["regdoctor", *sys.argv[1:]]
raise SystemExit(main())
"""


def run_check(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, "check", *argv, "--timeout", "5"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "plain"])
def test_complete_report_and_exit_code_without_teardown(
    testbed: Testbed, isolate_env: IsolatedEnv, fmt: str
) -> None:
    image = testbed.images.app.ref(testbed.endpoints["plain"].hostport)
    proc = run_check(f"http://{image}", "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert "torn down" not in proc.stderr
    if fmt == "json":
        doc = json.loads(proc.stdout)  # the whole document, flushed
        assert doc["exit_code"] == 0 and doc["targets"][0]["status"] == "ok"
    else:  # the last line of the plain report: the summary
        assert "1 target: 1 ok" in proc.stdout and proc.stdout.endswith("\n")


def test_a_failing_exit_code_is_kept(testbed: Testbed, isolate_env: IsolatedEnv) -> None:
    image = testbed.images.app.ref(testbed.endpoints["plain"].hostport).replace(":1.2", ":nope")
    proc = run_check(f"http://{image}", "--format", "json")
    assert proc.returncode == 2, proc.stderr
    assert "torn down" not in proc.stderr
    assert json.loads(proc.stdout)["exit_code"] == 2


def test_a_usage_error_exits_as_before() -> None:
    proc = run_check("--summary", "--format", "json", "registry.invalid/app:1")
    assert proc.returncode == 3
    assert "torn down" not in proc.stderr  # run() returned: the same quick exit
