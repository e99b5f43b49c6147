"""podman asks a credHelpers entry before it sends anything, docker only when the
registry wants a login and then ignores the helper's error (runtime table:
``creds-helper-locked-anonymous``). A registry that needs no login, a helper that fails:
podman's verdict is the helper's error, docker's is ok."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.discovery.helpers import FAILING, write_helper
from tests.discovery.test_check_from_config import run_check
from tests.harness.testbed import Testbed


def test_a_failing_helper_stops_podman_even_for_an_open_registry(
    testbed: Testbed, tmp_path: Path
) -> None:
    root, bin_dir = tmp_path / "root", tmp_path / "bin"
    hostport = testbed.endpoints["tls"].hostport
    for directory in ("etc/docker/certs.d", "etc/containers/certs.d"):
        (root / directory / hostport).mkdir(parents=True)
        shutil.copy(testbed.ca_file, root / directory / hostport / "ca.crt")
    (root / "root/.docker").mkdir(parents=True)
    (root / "root/.docker/config.json").write_text(
        json.dumps({"credHelpers": {hostport: "rdfail"}})
    )
    write_helper(bin_dir, "rdfail", FAILING)
    image = testbed.images.app.ref(hostport)
    verdicts = {}
    for runtime in ("docker", "podman"):
        proc = run_check(root, bin_dir, testbed, "--format", "json", "--runtime", runtime, image)
        target = json.loads(proc.stdout)["targets"][0]
        verdicts[runtime] = target["runtimes"][runtime]
        rules = {f["rule"] for f in target["findings"] if f["severity"] == "error"}
        if runtime == "podman":
            assert rules == {"config-credential-helper-failed"}, rules
    assert verdicts["docker"]["status"] == "ok", verdicts
    assert verdicts["podman"]["status"] == "error", verdicts
    assert verdicts["podman"]["category"] == "auth.credential_helper", verdicts
