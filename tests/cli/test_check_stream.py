"""`regdoctor check` streams: a fast target's verdict comes while a blackholed one is still
waiting, piped (one verdict line per target, then the details) and on a terminal (a
live status line naming the wait, then each target's block). `--summary` prints only the
verdict lines, with the exit code of the whole run. Machine formats stay whole.

Real peers: the testbed's expired-certificate registry (answers at once) and its
blackhole (connect() never completes). Time to the first verdict is also measured by
``benchmarks/bench_first_verdict.py`` (figures in benchmarks/README.md); here the order and
the gap are checked, which holds on a loaded machine too.
"""

from __future__ import annotations

import json
import os
import re
import select
import struct
import subprocess
import sys
import time

import pytest

from tests.harness.testbed import Testbed

TIMEOUT_S = 3
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def plain(text: str) -> str:
    """Terminal output without escape sequences; a redrawn line as a line of its own."""
    return ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@pytest.fixture
def two(testbed: Testbed) -> tuple[str, str]:
    """A target judged at once (expired certificate) and one that waits (blackhole)."""
    fast = testbed.images.app.ref(testbed.endpoints["tls_expired"].hostport)
    return fast, testbed.endpoints["blackhole"].hostport


def argv(*args: str) -> list[str]:
    # podman: the expired certificate leads (containerd would speak HTTP to it first)
    return [sys.executable, "-m", "regdoctor", "check", "--runtime", "podman", *args]


def test_piped_one_verdict_line_per_target_as_it_completes(two) -> None:
    fast, slow = two
    started = time.monotonic()
    proc = subprocess.Popen(
        argv("--timeout", str(TIMEOUT_S), fast, slow),
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},  # a verdict line wraps at the width
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    first_at = time.monotonic() - started
    second = proc.stdout.readline()
    second_at = time.monotonic() - started
    rest = proc.stdout.read()
    assert proc.wait(timeout=60) == 2
    # the expired registry's verdict, with its date, before the blackhole's wait is over
    assert re.match(
        rf"^✗ ERROR  {re.escape(fast)}  tls\.expired: expired \d{{4}}-\d\d-\d\d, \d+ days? ago$",
        first,
    ), first
    assert second.startswith(f"✗ ERROR  {slow}  tcp.timeout: no answer to connect within 3 s")
    assert second_at >= TIMEOUT_S and first_at < second_at - 1.5, (first_at, second_at)
    # then the details: the whole report, each target's block headed by its name (its
    # verdict line is above: not printed a second time)
    assert rest.startswith("\n"), rest[:200]
    assert f"\n{fast}\n" in rest and "  ✗ tls " in rest
    assert "✗ ERROR  " not in rest, rest[:400]
    assert re.search(r"^2 targets: 0 ok, 0 warnings, 2 errors \(exit code 2\)", rest, re.M)


def _on_pty(args: list[str], *, columns: int = 120) -> tuple[int, list[tuple[float, str]]]:
    """Run ``args`` with a pseudo-terminal as stdin/stdout/stderr: (exit code, the text
    read, chunk by chunk, with the seconds since start at which it was read)."""
    import fcntl
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns)}
    env.pop("NO_COLOR", None)
    started = time.monotonic()
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks: list[tuple[float, str]] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                raise AssertionError("no output for 30 s")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append((time.monotonic() - started, data.decode("utf-8", "replace")))
    finally:
        os.close(master)
    return proc.wait(timeout=60), chunks


def _at(chunks: list[tuple[float, str]], pattern: str) -> float | None:
    """When the (escape-free) output first matched ``pattern``."""
    text = ""
    for at, chunk in chunks:
        text += plain(chunk)
        if re.search(pattern, text, re.M):
            return at
    return None


def test_terminal_live_status_then_each_block(two, testbed: Testbed) -> None:
    fast, slow = two
    code, chunks = _on_pty(argv("--timeout", str(TIMEOUT_S), fast, slow))
    assert code == 2
    text = plain("".join(c for _, c in chunks))
    first = _at(chunks, rf"^✗ ERROR  {re.escape(fast)}  tls\.expired: expired ")
    waiting = _at(chunks, rf"waiting for tcp {re.escape(slow)}, [12] s of {TIMEOUT_S}")
    second = _at(chunks, rf"^✗ ERROR  {re.escape(slow)}  tcp\.timeout: ")
    assert first is not None and waiting is not None and second is not None, text[-2000:]
    # the block of the fast target first, the status line naming the wait, then the other
    assert first < second - 1.5 and waiting < second, (first, waiting, second)
    assert "1 of 2 done" in text
    block = text[text.index(f"✗ ERROR  {fast}") :]
    assert "  ✗ podman: fails, " in block and "[error] tls.expired" in block
    assert re.search(r"^2 targets: 0 ok, 0 warnings, 2 errors \(exit code 2\)", text, re.M)
    # a block is printed once: not again as "details" at the end
    assert text.count(f"✗ ERROR  {fast}  tls.expired") == 1


def test_summary_prints_only_verdict_lines_with_the_exit_code(testbed: Testbed) -> None:
    healthy = testbed.images.app.ref(testbed.endpoints["plain"].hostport)
    missing = f"{testbed.endpoints['plain'].hostport}/team/app:9.9"
    refused = testbed.endpoints["closed"].hostport
    unknown = "nothing-here.invalid"
    options = ("--runtime", "docker", "--summary", "--timeout", "3")
    proc = subprocess.run(
        argv(*options, "--dns-server", testbed.dns_server, healthy, missing, refused, unknown),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = sorted(proc.stdout.splitlines())
    assert len(lines) == 4, proc.stdout
    assert lines[0].startswith(f"✓ OK  {healthy}  pulls from http://"), lines
    assert (
        f"✗ ERROR  {missing}  image.manifest_unknown: manifest unknown: tag 9.9 (repository exists)"
        in lines
    ), lines
    assert f"✗ ERROR  {refused}  tcp.refused: connection refused ({refused})" in lines, lines
    assert f"✗ ERROR  {unknown}  dns.nxdomain: {unknown} does not exist (NXDOMAIN)" in lines
    ok = subprocess.run(
        argv("--runtime", "docker", "--summary", healthy),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0 and ok.stdout.count("\n") == 1, ok.stdout
    bad = subprocess.run(
        argv("--summary", "--format", "json", healthy),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 3 and "--summary" in bad.stderr


def test_machine_formats_stay_whole_documents(two) -> None:
    """JSON piped: one document at the end, nothing streamed before it."""
    fast, slow = two
    proc = subprocess.run(
        argv("--format", "json", "--timeout", "1", fast, slow),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    document = json.loads(proc.stdout)  # the whole output is one document
    assert [t["target"] for t in document["targets"]] == [fast, slow]
    assert proc.stderr == ""  # no status line when stderr is not a terminal
