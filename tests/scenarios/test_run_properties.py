"""Properties of a whole run: concurrency under one deadline, secrets, output forms."""

from __future__ import annotations

import base64
import subprocess
import sys
import time

from tests.harness.testbed import PASSWORD, USERNAME, Testbed
from tests.scenarios.test_check_scenarios import regdoctor


def test_blackholed_target_does_not_delay_the_others(testbed: Testbed) -> None:
    plain = testbed.endpoints["plain"].hostport
    blackhole = testbed.endpoints["blackhole"].hostport
    start = time.monotonic()
    result = regdoctor(
        "--timeout",
        "1",
        f"{plain}/team/app:1.2",
        blackhole,
        blackhole,
        testbed.endpoints["closed"].hostport,
    )
    elapsed = time.monotonic() - start
    # the run itself (no interpreter start, which a loaded machine stretches): one
    # timeout, not one per blackholed target
    assert result.document["duration_ms"] < 1000 + 800, result.document["duration_ms"]
    assert elapsed < 10, elapsed  # no hang at exit
    statuses = [t["status"] for t in result.document["targets"]]
    assert statuses == ["ok", "error", "error", "error"]
    plain_report = result.document["targets"][0]
    assert plain_report["duration_ms"] < 1000


def test_global_deadline_ends_the_run(testbed: Testbed) -> None:
    silent = testbed.endpoints["silent"].hostport
    start = time.monotonic()
    result = regdoctor("--timeout", "5", "--deadline", "1", f"http://{silent}")
    # the deadline, not the 5 s timeout, ended the run (in-process time: a loaded
    # machine stretches the interpreter's start, not this)
    assert result.document["duration_ms"] < 1000 + 800, result.document["duration_ms"]
    assert time.monotonic() - start < 5, "the 5 s timeout ran out: the deadline did not end it"
    assert result.code == 2
    assert result.document["deadline_hit"] is True


def test_secrets_never_in_any_output(testbed: Testbed) -> None:
    token = testbed.endpoints["token"]
    target = testbed.images.app.ref(token.hostport)
    for fmt in ("json", "plain"):
        argv = [
            sys.executable,
            "-m",
            "regdoctor",
            "check",
            "--format",
            fmt,
            "--runtime",
            "docker",
            "--debug",
            "-v",
            "--username",
            USERNAME,
            "--password-stdin",
            "--ca-file",
            str(testbed.ca_file),
            target,
        ]
        proc = subprocess.run(
            argv, input=PASSWORD, capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, proc.stderr
        everything = proc.stdout + proc.stderr
        assert PASSWORD not in everything
        basic = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        assert basic not in everything
        assert "Authorization: Basic ****" in proc.stderr  # the header is shown, masked
        assert "Bearer ey" not in everything
        assert "debug:" in proc.stderr  # the trace is there, redacted


def test_plain_output_is_readable_at_80_columns_without_color(testbed: Testbed) -> None:
    target = testbed.images.app.ref(testbed.endpoints["tls_expired"].hostport)
    proc = subprocess.run(
        [sys.executable, "-m", "regdoctor", "check", "--ca-file", str(testbed.ca_file), target],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**_env(), "NO_COLOR": "1", "COLUMNS": "80"},
    )
    assert proc.returncode == 2
    assert "\x1b" not in proc.stdout
    assert "tls.expired" in proc.stdout
    # wider only what must not be broken: one word (a URL), which the terminal folds
    wide = [line for line in proc.stdout.splitlines() if len(line) > 80]
    assert all(len(line.split()) == 1 for line in wide), wide


def test_bad_arguments_exit_3_without_traceback() -> None:
    for argv in (
        ["check", "--timeout", "abc"],
        ["check", "Not A Target"],
        ["check", "--ca-file", "/nonexistent/ca.pem", "x.test"],
        ["check", "--ca-file", "/", "x.test"],
        ["check", "--username", "u", "x.test"],
        ["check", "--dns-server", "not-an-ip", "x.test"],
        ["no-such-command"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "regdoctor", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 3, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr, argv
        assert proc.stderr.strip(), argv


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
