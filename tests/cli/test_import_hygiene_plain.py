"""A piped plain ``check`` lays its report out without Rich: not ``rich.console`` (a
PlainConsole prints it) and not ``rich.text`` or ``rich.cells`` either (the lines are
:class:`~regdoctor.render.plain_text.PlainText`); the same check with ``FORCE_COLOR``
(Rich would style it) still prints through Rich."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.cli.test_import_hygiene_check import _mark_insecure
from tests.harness import Testbed

PROGRAM = """
import json, sys
from regdoctor.cli.main import main
code = main({argv!r})
print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)
"""


def _piped(argv: list[str], **env: str) -> tuple[int, list[str], str]:
    """``regdoctor`` with standard output a pipe: (exit code, modules, output)."""
    base = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
        check=False,
    )
    code, modules = json.loads(proc.stderr.strip().splitlines()[-1])
    return code, modules, proc.stdout


@pytest.mark.parametrize(
    "extra", [[], ["--verbose"], ["--summary"]], ids=["plain", "verbose", "summary"]
)
def test_a_piped_check_imports_no_rich_module(
    testbed: Testbed, isolate_env, extra: list[str]
) -> None:  # type: ignore[no-untyped-def]
    """Healthy and failing targets (a missing tag, a refused port: findings, remediation
    commands, references), with NO_COLOR too: not one ``rich`` module."""
    plain = testbed.endpoints["plain"]
    _mark_insecure(isolate_env.config_root, plain.hostport)
    argv = ["check", *extra, "--runtime", "docker", testbed.images.app.ref(plain.hostport)]
    argv += [f"{plain.hostport}/team/app:no-such-tag", testbed.endpoints["closed"].hostport]
    code, modules, out = _piped(argv, NO_COLOR="1")
    assert code != 0 and "connection refused" in out, out
    assert "manifest unknown" in out, out
    assert "\x1b" not in out
    assert "regdoctor.render.plain_text" in modules
    rich = [m for m in modules if m == "rich" or m.startswith("rich.")]
    assert rich == [], rich


def test_a_forced_colour_check_still_prints_through_rich(testbed: Testbed, isolate_env) -> None:  # type: ignore[no-untyped-def]
    plain = testbed.endpoints["plain"]
    argv = ["check", "--runtime", "docker", testbed.images.app.ref(plain.hostport)]
    code, modules, out = _piped(argv, FORCE_COLOR="1")
    assert code == 0, out
    assert {"rich.console", "rich.text"} <= set(modules)
    assert "regdoctor.render.plain_text" not in modules
    assert "\x1b[" in out
