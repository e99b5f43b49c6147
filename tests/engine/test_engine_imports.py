"""The engine is headless and offline: importing and running it pulls in no network,
TLS or UI library."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from regdoctor.engine import evaluate, load_catalog
from regdoctor.model import Target
catalog = load_catalog()
evaluate(catalog, Target(raw="r:1", registry="r:1", host="r", port=1), [])
bad = [m for m in ("httpx", "dns", "OpenSSL", "textual", "rich", "ssl", "socket", "jwt")
       if m in sys.modules]
print(",".join(bad))
"""


def test_engine_imports_no_network_or_ui_modules():
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_evaluate_is_the_function_whichever_import_comes_first():
    """The engine package binds its exports on first use; ``evaluate`` stays the
    function even after the submodule of the same name was imported."""
    code = (
        "import regdoctor.engine.evaluate, regdoctor.engine.cases\n"
        "from regdoctor.engine import evaluate, RULE_INVALID\n"
        "import regdoctor.engine as engine\n"
        "print(callable(evaluate), evaluate is engine.evaluate, RULE_INVALID)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "True True regdoctor.rule_invalid"
