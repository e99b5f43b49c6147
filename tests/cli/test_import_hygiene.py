"""Start-up stays lean: --version and --help import no network or UI library."""

import json
import subprocess
import sys

import pytest

HEAVY = ("httpx", "httpcore", "dns", "OpenSSL", "cryptography", "textual", "jwt")

PROGRAM = """
import json, sys
from regdoctor.cli.main import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["check", "--help"]], ids=" ".join)
def test_light_commands_import_no_heavy_module(argv):
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    modules = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert result.stdout.strip()


def test_core_never_imports_textual():
    program = (
        "import sys, regdoctor.check.pipeline, regdoctor.cli.check;print('textual' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
