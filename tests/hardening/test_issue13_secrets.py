"""Issue #13, secrets and trust: every failure of the report is reproduced here.

- an issued token that ends with a newline must never be printed (any format, --debug);
- a multi-line password echoed by a registry: no line of it is shown;
- remembering a token costs the same with 1 or 2,000 known, and the registry is bounded;
- a credential helper that fails with a secret on stderr: the secret is never copied;
- a credential helper that hangs obeys --deadline and is killed with its children.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from pathlib import Path

from tests.discovery.helpers import write_helper
from tests.hardening.runner import finish, run, start
from tests.harness.hostile import REGISTRY_HEADERS, Conn, RawRequest
from tests.harness.procs import poll_until

NL_TOKEN = "tokNL-canary-7q8w9e0r1t2y"
LINE1 = "first-line-Canary-1a"
LINE2 = "second-line-Canary-2b"
USER = "robot"


def _formats() -> list[list[str]]:
    return [
        ["--format", "json"],
        ["--format", "plain", "-v"],
        ["--format", "markdown"],
        ["--format", "json", "--debug"],
    ]


def test_token_ending_with_a_newline_is_never_printed(serve) -> None:  # type: ignore[no-untyped-def]
    def tokens(conn: Conn, request: RawRequest) -> None:
        body = json.dumps({"token": NL_TOKEN + "\n", "access_token": NL_TOKEN + "\n"})
        conn.respond(200, {"Content-Type": "application/json"}, body)

    token_server = serve(tokens)
    realm = f"http://{token_server.hostport}/token"

    def registry(conn: Conn, request: RawRequest) -> None:
        if not request.authorization:
            challenge = f'Bearer realm="{realm}",service="nl"'
            conn.respond(401, {**REGISTRY_HEADERS, "WWW-Authenticate": challenge}, b"{}")
            return
        # echo the token bare, as broken proxies and registries do
        message = f"denied: token {NL_TOKEN} is not valid here"
        document = json.dumps({"errors": [{"code": "DENIED", "message": message}]})
        conn.respond(403, {**REGISTRY_HEADERS, "X-Echo": NL_TOKEN}, document)

    target = f"http://{serve(registry).hostport}/team/app:1"
    for fmt in _formats():
        result = run(["check", *fmt, "--timeout", "2", "--deadline", "6", target])
        everything = result.stdout + result.stderr
        assert result.code in (1, 2), everything[-2000:]
        assert NL_TOKEN not in everything, (fmt, everything[-3000:])


def test_multi_line_password_echoed_is_masked_line_by_line(serve) -> None:  # type: ignore[no-untyped-def]
    password = f"{LINE1}\n{LINE2}"

    def registry(conn: Conn, request: RawRequest) -> None:
        got = request.authorization or ""
        if not got.startswith("Basic "):
            conn.respond(401, {**REGISTRY_HEADERS, "WWW-Authenticate": 'Basic realm="r"'}, b"{}")
            return
        decoded = base64.b64decode(got[6:]).decode("utf-8", "replace")
        _, _, secret = decoded.partition(":")
        lines = secret.splitlines() or [""]
        # the second line alone, and each line in a separate error entry
        message = f"unauthorized: bad password (second part: {lines[-1]})"
        errors = [{"code": "UNAUTHORIZED", "message": message}]
        errors += [{"code": "UNAUTHORIZED", "message": f"line {line}"} for line in lines]
        conn.respond(401, {**REGISTRY_HEADERS}, json.dumps({"errors": errors}))

    target = f"http://{serve(registry).hostport}/team/app:1"
    for fmt in _formats():
        argv = ["check", *fmt, "-u", USER, "--password-stdin", "--timeout", "2", "--deadline", "6"]
        proc = start([*argv, target], stdin=password)
        result = finish(*proc, stdin=password, hard_limit_s=20)
        everything = result.stdout + result.stderr
        assert result.code in (1, 2, 3), everything[-2000:]
        assert LINE1 not in everything and LINE2 not in everything, (fmt, everything[-3000:])


def test_remembering_a_token_costs_the_same_with_2000_known_and_is_bounded() -> None:
    from regdoctor.redact import secrets

    registry = secrets._LEARNED
    _reset(registry)

    def cost(n: int, budget_s: float = 15.0) -> float:
        started = time.perf_counter()
        for i in range(n):
            secrets.remember(f"Tk-{time.perf_counter_ns()}-{i}-abcdefghijklmnopqrstuv")
            assert time.perf_counter() - started < budget_s, f"{i} tokens took {budget_s} s"
        return (time.perf_counter() - started) / n

    first = cost(1)
    cost(2000)
    later = cost(50)
    # the report: 0.1 ms with one known, 126 ms with 2,000 (a recompile per token)
    assert later < 0.005, f"remember() costs {later * 1000:.2f} ms with 2,000 known"
    assert later < max(first, 1e-4) * 50
    # a masked report line costs O(text), not O(tokens)
    started = time.perf_counter()
    for _ in range(100):
        secrets.redact("GET https://registry.test/v2/ 401 Unauthorized " * 20)
    per_line = (time.perf_counter() - started) / 100
    assert per_line < 0.005, f"redact() costs {per_line * 1000:.2f} ms with 2,000 known"
    # bounded: a serve that runs for weeks against a fresh-token-per-request server
    for i in range(30_000):
        secrets.remember(f"eyFresh-{i:08d}-" + "x9" * 400)
    size = getattr(registry, "size_bytes", None)
    if size is None:  # the old list: count what it holds
        size = sum(len(s) for s in getattr(registry, "_secrets", ()))
    assert size <= 2 * 1024 * 1024, f"the learned secrets hold {size} bytes"
    latest = f"eyFresh-{29_999:08d}-" + "x9" * 400
    assert latest not in secrets.redact(f"echo: {latest}\n")
    _reset(registry)


def _reset(registry: object) -> None:
    clear = getattr(registry, "clear", None)
    if clear is not None:
        clear()
    else:  # the registry of the code before #13
        registry._secrets.clear()  # type: ignore[attr-defined]
        registry._pattern = None  # type: ignore[attr-defined]


# -- credential helpers ------------------------------------------------------------------

HELPER_SECRET = "Hs3cr3t-Canary-4d5e6f"
LEAKING = """#!{python}
import sys
sys.stdin.read()
print("error storing credentials - err: exit status 1, out: `{secret}`", file=sys.stderr)
sys.exit(1)
"""
HANGING = """#!{python}
import signal, subprocess, sys
sys.stdin.read()
subprocess.Popen(["sleep", "{marker}"])  # a child that would be orphaned
signal.pause()  # never answers: only a signal ends it
"""


def _helper_root(tmp_path: Path, hostport: str, helper: str) -> Path:
    root = tmp_path / "root"
    config = root / "root/.docker/config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"credHelpers": {hostport: helper}}))
    return root


def _env(bin_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    env["HOME"] = "/root"
    for name in ("DOCKER_CONFIG", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE"):
        env.pop(name, None)
    return env


def _basic_registry(conn: Conn, request: RawRequest) -> None:
    conn.respond(401, {**REGISTRY_HEADERS, "WWW-Authenticate": 'Basic realm="r"'}, b"{}")


def test_helper_stderr_with_a_secret_is_never_copied(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hostport = serve(_basic_registry).hostport
    root = _helper_root(tmp_path, hostport, "leaky")
    bin_dir = tmp_path / "bin"
    write_helper(bin_dir, "leaky", LEAKING, secret=HELPER_SECRET)
    for fmt in _formats():
        argv = ["check", "--root", str(root), *fmt, "--timeout", "2", "--deadline", "6"]
        proc = start([*argv, f"http://{hostport}/team/app:1"], env=_env(bin_dir))
        result = finish(*proc, stdin=None, hard_limit_s=20)
        everything = result.stdout + result.stderr
        assert "leaky" in everything, everything[-2000:]  # the helper did run
        assert HELPER_SECRET not in everything, (fmt, everything[-3000:])


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline and b"sleep" in cmdline:
            found.append(int(pid))
    return found


def test_hanging_helper_obeys_the_deadline_and_dies_with_its_children(
    serve,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    hostport = serve(_basic_registry).hostport
    root = _helper_root(tmp_path, hostport, "hang")
    bin_dir = tmp_path / "bin"
    marker = f"{4000 + os.getpid() % 1000}.{time.time_ns() % 1000}"
    write_helper(bin_dir, "hang", HANGING, marker=marker)
    argv = ["check", "--root", str(root), "--format", "json", "--timeout", "1", "--deadline", "3"]
    proc = start([*argv, f"http://{hostport}/team/app:1"], env=_env(bin_dir))
    result = finish(*proc, stdin=None, hard_limit_s=30)
    try:
        # the report: cut after about 12 s whatever --deadline says
        assert result.elapsed_s < 7, f"took {result.elapsed_s:.1f} s with --deadline 3"
        assert result.code in (1, 2), result.stderr[-2000:]
        # the kernel reaps the killed group; /proc says when
        with contextlib.suppress(TimeoutError):
            poll_until(lambda: not _processes_with(marker), 3, "the helper's child gone")
        assert _processes_with(marker) == [], "the helper's child was orphaned"
    finally:
        for pid in _processes_with(marker):
            os.kill(pid, 9)
