"""`regdoctor explain` starts lean: with the compiled rule cache filled it imports no
network, TLS, UI or YAML library, not the rule model, its validator or loader, and not the
modules of `check` (only `--check` and its options need them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.cli.test_import_hygiene import HEAVY

PASTE = (
    'Error response from daemon: Get "https://registry.example.com:5000/v2/": '
    "x509: certificate signed by unknown authority"
)
#: Not needed to explain a paste from the rule cache.
NOT_FOR_EXPLAIN = (
    *HEAVY,
    "yaml",
    "jsonschema",
    "ssl",
    "socket",
    "asyncio",
    "regdoctor.engine.schema",
    "regdoctor.engine.parse",
    "regdoctor.engine.loader",
    "regdoctor.engine.evaluate",
    "regdoctor.engine.match",
    "regdoctor.check.plan",
    "regdoctor.check.request",
    "regdoctor.options",
    "regdoctor.discovery",
    # the records of a check's report: explain builds only a Target and remediation steps
    "regdoctor.model.report",
    "regdoctor.model.host",
    "regdoctor.model.credentials",
    "regdoctor.model.findings",
)

PROGRAM = """
import json, sys
from regdoctor.cli.main import main
code = main({argv!r})
print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)
"""


def _imported(argv: list[str], env: dict[str, str]) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    code, modules = json.loads(proc.stderr.strip().splitlines()[-1])
    return code, set(modules)


def _unwanted(modules: set[str]) -> list[str]:
    return sorted(
        name
        for name in NOT_FOR_EXPLAIN
        if name in modules or any(m.startswith(name + ".") for m in modules)
    )


@pytest.mark.parametrize("fmt", ["plain", "json", "markdown"])
def test_explain_from_the_rule_cache_imports_only_what_it_needs(fmt, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("FORCE_COLOR", None)
    env.pop("TTY_COMPATIBLE", None)
    argv = ["explain", "--format", fmt, PASTE]
    code, first = _imported(argv, env)  # fills the cache: reads the YAML rule files
    assert code == 2 and "yaml" in first
    assert list((tmp_path / "regdoctor").glob("explain-index-*"))
    code, modules = _imported(argv, env)
    assert code == 2
    assert _unwanted(modules) == []
    if fmt in ("json", "plain"):
        # piped, nothing is styled: the plain answer is laid out without Rich
        # (render/plain_text.py), the JSON one needs no layout
        assert sorted(m for m in modules if m == "rich" or m.startswith("rich.")) == []
    # to a pipe, Rich would print no style: its Console is not imported (PlainConsole)
    assert "rich.console" not in modules


def test_explain_on_a_terminal_prints_through_rich(tmp_path):
    """Where Rich would style the output (here forced, as on a terminal), its Console
    prints it, as before."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "FORCE_COLOR": "1"}
    _imported(["explain", PASTE], env)
    code, modules = _imported(["explain", PASTE], env)
    assert code == 2 and "rich.console" in modules


def test_the_check_options_still_import_the_check_modules(tmp_path):
    """The lean path is taken only without them: `--ca-file` is validated by the check's
    own code (and a bad one is still exit 3)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked before --check\n")
    code, modules = _imported(["explain", "--format", "json", "--ca-file", str(ca), PASTE], env)
    assert code == 2 and "regdoctor.check.plan" in modules


DATACLASSES = """
import dataclasses, json, sys
from regdoctor.cli.main import main
code = main({argv!r})
names = sorted(
    f"{{value.__module__}}.{{value.__qualname__}}"
    for name, module in list(sys.modules.items())
    if name.startswith("regdoctor")
    for value in vars(module).values()
    if isinstance(value, type) and dataclasses.is_dataclass(value)
    and value.__module__ == name
)
print(json.dumps([code, names]), file=sys.stderr)
"""


def test_explain_defines_only_the_records_it_builds(tmp_path):
    """A dataclass costs its definition at start-up (about half a millisecond each): a
    plain explain defines the records it builds (a Target, remediation steps, its own
    matches), not those of a check's report."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    argv = ["explain", PASTE]
    program = [sys.executable, "-c", DATACLASSES.format(argv=argv)]
    subprocess.run(program, capture_output=True, check=True, env=env, timeout=60)  # cache
    proc = subprocess.run(program, capture_output=True, text=True, env=env, timeout=60)
    code, names = json.loads(proc.stderr.strip().splitlines()[-1])
    assert code == 2
    model = {name.rsplit(".", 1)[1] for name in names if name.startswith("regdoctor.model")}
    assert model == {"Target", "RemediationStep"}, names
