"""What a ``check`` imports before its first bytes are on the link: only what it needs
to resolve, connect and send them. The HTTP stack (httpcore, h11, the client, its
backend and streams), the rule engine and the catalog come after, while the first
answer is awaited (net/idle.py, net/network.prepare_requests), so on a slow link they
cost no wall time. Both the TLS attempt (a registry without a scheme) and the first
HTTP request (``http://``) count as first bytes. Without a rule cache to read, the rules
are parsed before the run instead (about 90 ms of CPU that would stretch the first
phases' timings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.cli.test_import_hygiene_check import _mark_insecure
from tests.harness import Testbed

# the modules loaded when the process first sends on a socket (the DNS phase's queries
# go out with sendto: an IP literal here has none)
PROGRAM = """
import json, socket, sys
seen = []
send = socket.socket.send
def first_send(self, data, *args):
    if not seen:
        seen.append(sorted(sys.modules))
    return send(self, data, *args)
socket.socket.send = first_send
from regdoctor.cli.main import main
code = main({argv!r})
print(json.dumps([code, seen[0] if seen else None]), file=sys.stderr)
"""

LATER = (
    "httpcore",
    "h11",
    "regdoctor.net.http_client",
    "regdoctor.net.pinned",
    "regdoctor.net.streams",
    "regdoctor.engine.evaluate",
    "regdoctor.engine.loader",
    "regdoctor.check.verdicts",
)


def _at_first_send(argv: list[str], **env: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv)],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ, **env},
    )  # fmt: skip
    code, modules = json.loads(proc.stderr.strip().splitlines()[-1])
    assert code == 0, proc.stdout
    assert json.loads(proc.stdout)["targets"][0]["status"] == "ok"
    assert modules is not None
    return list(modules)


@pytest.mark.parametrize("scheme", ["", "http://"], ids=["tls-attempt", "http"])
def test_the_first_bytes_go_out_before_the_http_stack_and_the_engine_are_imported(
    testbed: Testbed, isolate_env, scheme: str
) -> None:  # type: ignore[no-untyped-def]
    plain = testbed.endpoints["plain"]
    _mark_insecure(isolate_env.config_root, plain.hostport)
    image = scheme + testbed.images.app.ref(plain.hostport)
    argv = ["check", "--format", "json", "--runtime", "podman", image]
    _at_first_send(argv)  # fills the rule cache, as any earlier run would have
    modules = _at_first_send(argv)
    loaded = sorted(m for m in LATER if m in modules)
    if scheme == "http://":  # the first request is an HTTP one: its stack is needed
        assert "regdoctor.net.http_client" in modules
        loaded = [m for m in loaded if m.startswith("regdoctor.engine") or "verdicts" in m]
    assert loaded == [], loaded


def test_without_a_rule_cache_the_rules_are_parsed_before_the_run(
    testbed: Testbed, isolate_env
) -> None:  # type: ignore[no-untyped-def]
    plain = testbed.endpoints["plain"]
    _mark_insecure(isolate_env.config_root, plain.hostport)
    argv = ["check", "--format", "json", "--runtime", "podman", plain.hostport]
    modules = _at_first_send(argv, REGDOCTOR_NO_CACHE="1")
    assert "regdoctor.engine.loader" in modules
    assert "httpcore" not in modules  # the HTTP stack still waits for the first bytes
