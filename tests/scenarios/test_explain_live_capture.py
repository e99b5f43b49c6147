"""Real client error text, captured live: run the real `skopeo inspect` against each
failure variant of the testbed and check that `explain` on skopeo's stderr names the
injected fault, the registry it happened on, and suggests checking it.

Nothing here is a recorded string: if a skopeo upgrade changes its wording, these tests
show it. podman is used too when it is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.explain import UNRECOGNISED, explain
from tests.harness.skopeo import run_skopeo_inspect, skopeo_available
from tests.harness.testbed import PASSWORD, USERNAME, Testbed

pytestmark = pytest.mark.skipif(not skopeo_available(), reason="skopeo is not installed")

CATALOG = load_catalog()


@dataclass(frozen=True)
class Fault:
    name: str
    endpoint: str
    category: str
    rule: str | None = None  # the rule that must lead, when it matters
    creds: str | None = None  # "right" or "wrong" password
    ca: bool = True
    https: bool | None = None  # None: as the endpoint speaks
    reference: str | None = None  # another repository:tag than the test image
    timeout_s: float = 5
    # Which of skopeo's timers fires first depends on the machine's load: the dialer's
    # ("dial tcp ...: i/o timeout") or the command's ("context deadline exceeded", which
    # alone cannot tell a dead port from a silent server). Then this category is right.
    without_dial: str | None = None


FAULTS = [
    Fault("expired certificate", "tls_expired", "tls.expired", "tls-expired"),
    Fault("untrusted CA", "tls_untrusted", "tls.unknown_authority", "tls-unknown-authority"),
    Fault("no CA given", "tls", "tls.unknown_authority", ca=False),
    Fault("IP address without IP SAN", "tls_wrong_host", "tls.hostname_mismatch"),
    Fault("Common Name only", "tls_cn_only", "tls.hostname_mismatch", "tls-cn-only"),
    Fault("client certificate required", "tls_mtls", "tls.handshake"),
    Fault("HTTPS spoken to plain HTTP", "plain", "tls.http_on_https", https=True),
    Fault("basic auth, no credentials", "tls_basic", "auth.unauthorized"),
    Fault("basic auth, wrong password", "tls_basic", "auth.unauthorized", creds="wrong"),
    Fault("token server refuses", "token_refuse", "auth.unauthorized", creds="right"),
    Fault(
        "token server answers 503",
        "token_error",
        "server.error",
        "auth-token-server-error",
        creds="right",
    ),
    Fault("token server answers garbage", "token_badjson", "server.error", creds="right"),
    Fault("token for another audience", "token_wrongaud", "auth.unauthorized", creds="right"),
    Fault("token grants no pull", "token_less", "auth.denied", creds="right"),
    Fault("nothing listens", "closed", "tcp.refused", "tcp-refused"),
    Fault(
        "packets dropped",
        "blackhole",
        "tcp.timeout",
        "tcp-timeout",
        timeout_s=2,
        without_dial="http.timeout",
    ),
    Fault("accepts, never answers", "silent", "http.timeout", "http-timeout", timeout_s=2),
    Fault("not a registry", "not_registry", "other", "http-not-a-registry"),
    Fault("missing tag", "plain", "image.manifest_unknown", reference="team/app:no-such-tag"),
    # distribution answers MANIFEST_UNKNOWN for a missing repository too (testbed notes):
    # the paste cannot tell them apart, only a live check can.
    Fault("missing repository", "plain", "image.manifest_unknown", reference="no/such-repo:1.0"),
]


def capture(bed: Testbed, fault: Fault, tmp_path: Path) -> tuple[str, str]:
    """(stderr of skopeo, the image reference it was given)."""
    endpoint = bed.endpoints[fault.endpoint]
    https = endpoint.scheme == "https" if fault.https is None else fault.https
    cert_dir = bed.make_cert_dir(tmp_path / "certs", ca=True) if https and fault.ca else None
    creds = None
    if fault.creds:
        creds = (USERNAME, PASSWORD if fault.creds == "right" else "wrong-password")
    image = (
        f"{endpoint.hostport}/{fault.reference}"
        if fault.reference
        else bed.images.app.ref(endpoint.hostport)
    )
    code, stderr = run_skopeo_inspect(
        image, tls_verify=https, cert_dir=cert_dir, creds=creds, timeout_s=fault.timeout_s
    )
    assert code != 0, f"skopeo succeeded against {fault.name}"
    return stderr, image


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_skopeo_error_is_explained(testbed: Testbed, fault: Fault, tmp_path: Path) -> None:
    stderr, image = capture(testbed, fault, tmp_path)
    matches = explain(CATALOG, stderr)
    lead = next(m for m in matches if m.leading)
    expected, rule = fault.category, fault.rule
    if fault.without_dial and "dial tcp" not in stderr:
        expected, rule = fault.without_dial, None
    assert lead.category == expected, (stderr, [(m.rule, m.category) for m in matches])
    assert lead.rule != UNRECOGNISED, stderr
    if rule:
        assert lead.rule == rule, stderr
    hostport = testbed.endpoints[fault.endpoint].hostport
    assert lead.fields.get("registry") == hostport, (stderr, lead.fields)
    assert lead.check is not None and hostport in lead.check
    assert PASSWORD not in json.dumps(lead.to_dict())
    if fault.reference:
        assert lead.fields.get("image") == image


def test_hostname_mismatch_by_name_names_both_sides(testbed: Testbed, tmp_path: Path) -> None:
    port = testbed.endpoints["tls_wrong_host"].port
    code, stderr = run_skopeo_inspect(
        f"registry.test:{port}/team/app:1.2",
        tls_verify=True,
        cert_dir=testbed.make_cert_dir(tmp_path / "certs", ca=True),
        hosts={"registry.test": "127.0.0.1"},
        timeout_s=5,
    )
    assert code != 0
    lead = next(m for m in explain(CATALOG, stderr) if m.leading)
    assert lead.category == "tls.hostname_mismatch"
    assert lead.fields["wanted"] == "registry.test"
    assert lead.fields["names"] == "wrong-name.test"
    assert "wrong-name.test" in lead.title


def test_explain_then_check_live(testbed: Testbed, tmp_path: Path) -> None:
    """`explain --check` checks the registry the paste names and finds the same fault."""
    stderr, _image = capture(testbed, FAULTS[14], tmp_path)  # nothing listens
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "regdoctor",
            "explain",
            "--check",
            "--format",
            "json",
            "--timeout",
            "2",
            "-",
        ],
        input=stderr,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    document = json.loads(proc.stdout)
    assert document["matches"][0]["category"] == "tcp.refused"
    hostport = testbed.endpoints["closed"].hostport
    assert document["check"]["targets"][0]["spec"]["registry"] == hostport
    categories = [f["category"] for f in document["check"]["findings"]]
    assert "tcp.refused" in categories


PODMAN_FAULTS = [
    ("closed", ["--tls-verify=false"], "tcp.refused"),
    ("tls_expired", [], "tls.expired"),
    ("tls_basic", ["--tls-verify=false"], "auth.unauthorized"),
    ("plain", ["--tls-verify=true"], "tls.http_on_https"),
]


def _podman_pull(
    tmp_path: Path, registries_conf: str, args: list[str]
) -> subprocess.CompletedProcess[str]:
    """``podman pull ARGS`` as the real podman runs it here: a private storage root (vfs),
    its own HOME and runroot, and ``registries_conf`` as its registries.conf."""
    import tempfile

    # podman refuses a runroot longer than 50 characters: pytest's tmp_path is too long
    runroot = Path(tempfile.mkdtemp(prefix="rd-pod-"))
    conf = tmp_path / "registries.conf"
    conf.write_text(registries_conf)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": str(runroot),
        "CONTAINERS_REGISTRIES_CONF": str(conf),
    }
    try:
        return subprocess.run(
            [
                "podman",
                "--root",
                str(tmp_path / "root"),
                "--runroot",
                str(runroot / "run"),
                "--storage-driver",
                "vfs",
                "pull",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")
@pytest.mark.parametrize(
    ("endpoint", "flags", "category"), PODMAN_FAULTS, ids=[f[0] for f in PODMAN_FAULTS]
)
def test_podman_error_is_explained(
    testbed: Testbed, tmp_path: Path, endpoint: str, flags: list[str], category: str
) -> None:
    """Real podman (4.3: no --retry flag; it retries a refused connection for ~3 s), in a
    private storage root, with an empty registries.conf and its own HOME."""
    hostport = testbed.endpoints[endpoint].hostport
    proc = _podman_pull(tmp_path, "", [*flags, f"{hostport}/team/app:1.2"])
    assert proc.returncode != 0, proc.stderr
    lead = next(m for m in explain(CATALOG, proc.stderr) if m.leading)
    assert lead.category == category, proc.stderr


# curl's own errors (issue 15), from the real curl against the same testbed: (name,
# endpoint, scheme, curl options, exit code, category). Exit codes 7, 22, 28, 35 and 60;
# 6 is left out (curl would ask the system resolver, and tests reach no resolver but their
# own), and 56 too (a server that drops the handshake gives 55 or 56, by timing).
CURL_FAULTS = [
    ("refused", "closed", "https", [], 7, "tcp.refused"),
    ("dropped", "blackhole", "https", ["--connect-timeout", "2"], 28, "tcp.timeout"),
    ("no answer", "silent", "http", ["--max-time", "2"], 28, "http.timeout"),
    ("untrusted CA", "tls_untrusted", "https", [], 60, "tls.unknown_authority"),
    ("expired", "tls_expired", "https", ["--cacert", "CA"], 60, "tls.expired"),
    ("wrong host", "tls_wrong_host", "https", ["--cacert", "CA"], 60, "tls.hostname_mismatch"),
    ("TLS to plain HTTP", "plain", "https", [], 35, "tls.http_on_https"),
    (
        "401 with --fail",
        "tls_basic",
        "https",
        ["--fail", "--cacert", "CA"],
        22,
        "auth.unauthorized",
    ),
]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize(
    ("endpoint", "scheme", "options", "code", "category"),
    [f[1:] for f in CURL_FAULTS],
    ids=[f[0] for f in CURL_FAULTS],
)
def test_curl_error_is_explained(
    testbed: Testbed,
    tmp_path: Path,
    endpoint: str,
    scheme: str,
    options: list[str],
    code: int,
    category: str,
) -> None:
    from tests.harness import procs

    args = [str(testbed.ca_file) if o == "CA" else o for o in options]
    url = f"{scheme}://{testbed.endpoints[endpoint].hostport}/v2/"
    proc = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", *args, url],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=procs.clean_env(tmp_path),
    )
    assert proc.returncode == code, proc.stderr
    lead = next(m for m in explain(CATALOG, proc.stderr) if m.leading)
    assert lead.category == category, proc.stderr


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")
def test_podman_registries_conf_v1_and_v2_mixed_is_explained(tmp_path: Path) -> None:
    """containers/image refuses a registries.conf that mixes the v1 tables
    (``[registries.search]``) with v2 keys (issue 15's "registries.conf must be in v2
    format" class): real podman prints it before any request, and explain reads it as
    the configuration file's fault. No registry is dialled (the image's port is 1)."""
    proc = _podman_pull(
        tmp_path,
        'unqualified-search-registries = ["registry.test"]\n'
        '[registries.search]\nregistries = ["registry.test"]\n',
        ["127.0.0.1:1/team/app:1.2"],
    )
    assert proc.returncode != 0, proc.stderr
    assert "mixing sysregistry v1/v2" in proc.stderr, proc.stderr
    lead = next(m for m in explain(CATALOG, proc.stderr) if m.leading)
    assert lead.category == "config.invalid", proc.stderr
    assert lead.rule == "config-file-rejected", proc.stderr
