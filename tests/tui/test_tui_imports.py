"""The TUI stays out of the way: --help imports no Textual, the core never imports the
TUI, and only regdoctor.cli.tui imports regdoctor.tui."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import regdoctor

PROGRAM = """
import json, sys
from regdoctor.cli.main import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--help"], ["tui", "--help"]], ids=" ".join)
def test_help_imports_no_textual(argv):
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    modules = json.loads(result.stderr.strip().splitlines()[-1])
    assert "tui" in result.stdout
    assert not [m for m in modules if m.split(".")[0] == "textual" or m.startswith("regdoctor.tui")]


def test_tui_needs_a_terminal():
    result = subprocess.run(
        [sys.executable, "-m", "regdoctor", "tui", "127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 3
    assert "needs a terminal" in result.stderr


def test_only_the_tui_command_imports_the_tui():
    root = Path(regdoctor.__file__).parent
    importers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "tui" not in path.relative_to(root).parts[:1]
        and (
            "regdoctor.tui" in path.read_text()
            or "import textual" in path.read_text()
            or "from textual" in path.read_text()
        )
    )
    assert importers == ["cli/tui.py"]


def test_no_markup_strings_reach_textual():
    """Untrusted text goes into rich.text.Text; no f-string is handed to a widget as
    markup (a crude but useful guard: Static/Label with an f-string argument)."""
    root = Path(regdoctor.__file__).parent / "tui"
    offenders = []
    for path in root.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip()
            if 'Static(f"' in stripped or 'Label(f"' in stripped or '.update(f"' in stripped:
                offenders.append(f"{path.name}:{number}")
    assert not offenders
