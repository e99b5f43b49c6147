"""``regdoctor tags`` as its own process ends without the interpreter's teardown once its
output is written (``EXIT_AT_ONCE``): the output is complete and the exit code the
judgement's, and nothing that runs at interpreter exit runs (that is the CPU saved).
A caller's ``main([...])`` returns as before (every in-process test)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.harness import hostile
from tests.harness.fake_registry import FakeRegistry, digest_of

TAGS = [f"v{i:03d}" for i in range(300)]

# atexit handlers run during the interpreter's teardown: if this one prints, the process
# was torn down the slow way
PROGRAM = """
import atexit, sys
atexit.register(lambda: print("torn down", file=sys.stderr))
from regdoctor.cli.main import main
sys.argv = ["regdoctor", *sys.argv[1:]]
raise SystemExit(main())
"""


def run_tags(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, "tags", *argv, "--format", "json", "--timeout", "5",
         "--no-config"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_complete_output_and_exit_code_without_teardown() -> None:
    with FakeRegistry(TAGS) as fake:
        proc = run_tags(f"http://{fake.hostport}/team/app")
    assert proc.returncode == 0, proc.stderr
    assert "torn down" not in proc.stderr
    doc = json.loads(proc.stdout)  # the whole document, flushed
    assert proc.stdout.endswith("}\n")
    assert [t["tag"] for t in doc["tags"]] == TAGS
    assert all(t["digest"] == digest_of(t["tag"]) for t in doc["tags"])


def test_a_failing_exit_code_is_kept() -> None:
    garbage = hostile.on_path({"/v2/team/app/tags/list": hostile.body(200, b"<html/>")})
    with hostile.HostileServer(garbage) as server:
        proc = run_tags(f"http://{server.hostport}/team/app")
    assert proc.returncode == 2, proc.stderr
    assert "torn down" not in proc.stderr
    assert json.loads(proc.stdout)["exit_code"] == 2


@pytest.mark.parametrize("argv", [["tags", "--help"], ["check", "--help"]])
def test_other_paths_exit_as_before(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM, *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert "torn down" in proc.stderr
