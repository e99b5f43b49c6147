"""Without ``--dns-server``, the whole process as a user runs it: names resolve through
the system's resolv.conf and hosts file (a sandbox's: its own network and mount
namespaces), dnspython is imported by the idle worker and its answer comes beside the
check, and ``--debug`` and the JSON's timing say so."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from tests.harness.sandbox import Sandbox, open_sandbox
from tests.harness.sandbox_services import SandboxRegistry, wait_ready
from tests.harness.slow_dns import SlowDns

DELAY_S = 0.5
NAME = "app.slow.test"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with open_sandbox({NAME: "127.0.0.1"}) as box:
        yield box


def test_the_check_goes_on_with_the_hosts_file_and_dns_answers_beside_it(
    sandbox: Sandbox,
) -> None:
    registry = SandboxRegistry(sandbox, "plain", "127.0.0.1", 5000, sandbox.root / "storage")
    registry.start()
    wait_ready(registry)
    images = registry.push_test_images()
    # the sandbox's resolv.conf names 127.0.0.1:53: a server that answers in DELAY_S
    slow = sandbox.call(lambda: SlowDns(DELAY_S, port=53)).start()
    sandbox.on_stop(slow.stop)
    image = images.app.ref(f"{NAME}:5000")
    run = sandbox.run(
        [sys.executable, "-m", "regdoctor", "check", "--format", "json", "--debug",
         f"http://{image}"],
        timeout_s=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    (target,) = json.loads(run.stdout)["targets"]
    answer = next(o for o in target["observations"] if o["kind"] == "dns.answer")
    assert answer["facts"]["resolver"] == "system"
    assert answer["facts"]["outcome"] == "answer"
    assert answer["facts"]["addresses"] == ["127.0.0.1"]
    assert not [o for o in target["observations"] if o["kind"] == "dns.system"]
    # dnspython asked the system's resolver (A and AAAA)
    assert {kind for _, name, kind in slow.queries if name == f"{NAME}."} == {"A", "AAAA"}
    # the requests went out before its answer; the rest of the wait is on the path
    path = target["timing"]["critical_path"]
    whats = [step["what"] for step in path]
    assert whats == ["tcp connect", "GET /v2/", "HEAD manifest", "dns A+AAAA (beside the check)"]
    assert path[-1]["round_trips"] == 1 and path[-1]["host"] == NAME
    line = next(x for x in run.stderr.splitlines() if "critical path:" in x)
    assert "critical path: 4 round trips: tcp connect" in line
    assert "dns A+AAAA (beside the check)" in line
