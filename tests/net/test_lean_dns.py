"""dnspython imported without importlib.metadata (regdoctor/net/lean_dns.py): in a
fresh process, as regdoctor's CLI imports it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import regdoctor.net.lean_dns
import dns.asyncresolver, dns.message
out = {"metadata_after_import": "importlib.metadata" in sys.modules}
import dns._features
out["answers"] = {k: dns._features._cache.get(k) for k in ("doh", "doq", "idna")}
out["httpx"] = "httpx" in sys.modules
import importlib
out["package_attribute"] = type(getattr(importlib, "metadata", None)).__name__
out["names"] = [dns.name.from_text(n).to_text() for n in ("fa\u00df.de", "registry.test")]
q = dns.message.make_query("registry.test", "A")
out["query"] = dns.message.from_wire(q.to_wire()).question[0].to_text()
# a feature regdoctor does not answer is dnspython's own question, answered for real
import importlib
out["dnssec"] = dns._features.have("dnssec")
out["metadata_after_ask"] = type(sys.modules.get("importlib.metadata")).__name__
import importlib.metadata
out["real"] = importlib.metadata.version("dnspython") == dns.version.version
print(json.dumps(out))
"""


PLAIN_NAMES = """
import json, dns.name
print(json.dumps([dns.name.from_text(n).to_text() for n in ("fa\u00df.de", "registry.test")]))
"""


def _python(code: str, *, tree: bool = True) -> str:
    """``code``'s standard output in a fresh interpreter (with this tree on its path)."""
    env = {"PATH": "/usr/bin:/bin", **({"PYTHONPATH": str(REPO)} if tree else {})}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def test_dnspython_imports_without_metadata_and_answers_the_rest_for_real():
    out = json.loads(_python(PROBE))
    assert out["metadata_after_import"] is False
    assert out["package_attribute"] == "NoneType"  # the placeholder is dns._features' only
    import dns._features as features

    idna = features._version_check(features._requirements["idna"][0])
    assert out["answers"] == {"doh": False, "doq": False, "idna": idna}
    assert out["httpx"] is False
    # a non-ASCII name is encoded as dnspython encodes it on its own
    assert out["names"] == json.loads(_python(PLAIN_NAMES, tree=False))
    assert out["query"] == "registry.test. IN A"
    import importlib.metadata

    try:
        importlib.metadata.version("cryptography")
        expected = features._version_check(features._requirements["dnssec"][0])
    except importlib.metadata.PackageNotFoundError:
        expected = False
    assert out["dnssec"] is expected
    assert out["metadata_after_ask"] == "module"  # the real one, once asked
    assert out["real"] is True


def test_an_earlier_import_of_dnspython_is_left_as_it_is():
    probe = (
        "import sys, dns.resolver, dns._features\n"
        "before = dict(dns._features._cache)\n"
        "import regdoctor.net.lean_dns\n"
        "print(dns._features._cache == before)\n"
    )
    assert _python(probe).strip() == "True"
