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
