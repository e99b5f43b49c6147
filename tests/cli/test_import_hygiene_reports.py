"""`serve --help` and `bundle --help` stay as light as `check --help`; rendering a report
as markdown/junit/prometheus needs no network library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.test_import_hygiene import HEAVY, PROGRAM


@pytest.mark.parametrize("argv", [["serve", "--help"], ["bundle", "--help"]], ids=" ".join)
def test_help_imports_no_heavy_module(argv):
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    modules = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert "prometheus_client" not in modules and "psutil" not in modules
    assert result.stdout.strip()


def test_renderers_import_no_network_library():
    program = (
        "import sys, regdoctor.render, regdoctor.render.markdown, regdoctor.render.junit, "
        "regdoctor.render.prometheus, regdoctor.redact.hosts, regdoctor.discovery.files;"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
