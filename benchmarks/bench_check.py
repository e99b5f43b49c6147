#!/usr/bin/env python3
"""Benchmarks of ``regdoctor check`` against real peers on loopback, in one run.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_check.py [--json FILE] [--runs N]

What it measures (see benchmarks/README.md for what each figure means):

1. Fan-out under one deadline: one ``regdoctor check --format json --timeout 2`` process
   with 50 targets, 10 of them on blackholed ports (connect() times out), 40 healthy.
   Wall time from process start to exit, 3 times; the 40 must be ``ok`` and the 10
   ``tcp.timeout``, and every run must end within timeout + 1 s.
2. One healthy TLS + basic-auth image check: regdoctor beside ``skopeo inspect --raw``
   and a ``curl`` of the manifest (the floor), with hyperfine when installed; the same
   for the token-auth registry; ``python -c pass`` and ``regdoctor --version`` as
   start-up floors; regdoctor's own per-phase durations, cold (a fresh process) and
   warm (a second call inside the same process), and its import profile.
3. Peak RSS of the 50-target process (``wait4`` rusage of that very child).

Only 127.0.0.1 is ever dialled, and every target is an IP address, so nothing goes
through the system resolver. Every child runs in its own session and is killed (by its
process group, which is its own pid) if it overruns or the script is interrupted; the
testbed stops all its peers when its ``with`` block exits.

Exit status: 0 when every target below is met, 1 when one is missed, 3 when the testbed
or a tool could not run at all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python benchmarks/bench_check.py` without PYTHONPATH
    sys.path.insert(0, str(REPO))

TIMEOUT_S = 2.0
FANOUT_LIMIT_S = TIMEOUT_S + 1.0
FANOUT_HEALTHY = 40
FANOUT_BLACKHOLED = 10
FANOUT_REPEATS = 3
SINGLE_RUNS = 20
SINGLE_WARMUP = 3
COLD_RUNS = 5
WARM_CALLS = 10
CHILD_TIMEOUT_S = 60.0

DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
PHASES = ("dns", "tcp", "tls", "http", "auth", "image")

HTTPX_GROUP = "httpx + httpcore, with what they pull in (anyio, h11, trio, click, rich...)"
#: Import-time groups by top-level module. A module is charged to the outermost group
#: in its import chain, so what httpx drags in (trio via httpcore, click and rich via
#: httpx._main, when installed) counts as httpx's cost, not as the dependency's own.
IMPORT_GROUPS: dict[str, str] = {
    **dict.fromkeys(
        (
            "httpx",
            "httpcore",
            "h11",
            "h2",
            "hpack",
            "hyperframe",
            "anyio",
            "sniffio",
            "certifi",
            "idna",
            "trio",
            "outcome",
            "attr",
            "sortedcontainers",
            "click",
        ),
        HTTPX_GROUP,
    ),
    "dns": "dnspython",
    **dict.fromkeys(
        ("OpenSSL", "cryptography", "cffi", "_cffi_backend"), "pyOpenSSL + cryptography"
    ),
    **dict.fromkeys(("rich", "pygments", "markdown_it", "mdurl"), "rich (its own imports)"),
    **dict.fromkeys(("yaml", "_yaml"), "PyYAML"),
    "asyncio": "asyncio",
    **dict.fromkeys(("ssl", "_ssl"), "ssl (stdlib)"),
}
#: Not regdoctor dependencies: httpcore imports trio, and httpx its CLI (click), only
#: because they happen to be installed. Their cumulative import time is reported apart.
INCIDENTAL = ("trio", "click")
REGDOCTOR_GROUP = "regdoctor's own modules"
OTHER_GROUP = "stdlib and the rest, imported directly"


def _root(module: str) -> str:
    root = module.split(".")[0]
    return "regdoctor" if root.startswith("__editable___regdoctor") else root


def incidental_imports(stderr: str) -> dict[str, float]:
    """Cumulative ``-X importtime`` ms of the INCIDENTAL packages that were imported."""
    found: dict[str, float] = {}
    for line in stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() in INCIDENTAL:
            with contextlib.suppress(ValueError):
                found[parts[2].strip()] = int(parts[1]) / 1000
    return found


def group_import_times(stderr: str) -> tuple[float, dict[str, float]]:
    """Parse ``-X importtime`` output: (total ms, self ms per group).

    The output is post-order (a module's imports are printed before it, one level
    deeper), so it is read backwards to know each module's chain of importers.
    """
    rows: list[tuple[int, str, float]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line.split("|")
        try:
            self_ms = int(parts[0].split(":")[1]) / 1000
        except (IndexError, ValueError):
            continue
        name_field = parts[2]
        level = (len(name_field) - len(name_field.lstrip()) - 1) // 2
        rows.append((level, name_field.strip(), self_ms))
    groups: dict[str, float] = {}
    stack: list[tuple[int, str]] = []
    for level, module, self_ms in reversed(rows):
        while stack and stack[-1][0] >= level:
            stack.pop()
        chain = [_root(m) for _, m in stack] + [_root(module)]
        group = next((IMPORT_GROUPS[r] for r in chain if r in IMPORT_GROUPS), None)
        if group is None:
            group = REGDOCTOR_GROUP if chain[-1] == "regdoctor" else OTHER_GROUP
        groups[group] = groups.get(group, 0.0) + self_ms
        stack.append((level, module))
    return sum(groups.values()), dict(sorted(groups.items(), key=lambda kv: -kv[1]))


#: Runs inside a child interpreter: calls regdoctor's CLI entry point several times in
#: one process, so the first call (cold: lazy imports, rule catalog) and the following
#: ones (warm: only the check itself) can be told apart. Password on stdin.
IN_PROCESS_DRIVER = r"""
import contextlib, io, json, sys, time
argv = json.loads(sys.argv[1])
calls = int(sys.argv[2])
password = sys.stdin.read()
t0 = time.perf_counter()
from regdoctor.cli.main import main
entry_import_ms = (time.perf_counter() - t0) * 1000
results = []
for _ in range(calls):
    sys.stdin = io.StringIO(password)
    buf = io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    wall_ms = (time.perf_counter() - t) * 1000
    doc = json.loads(buf.getvalue())
    target = doc["targets"][0]
    results.append({
        "rc": rc, "wall_ms": wall_ms, "duration_ms": doc["duration_ms"],
        "status": target["status"],
        "findings": [f"{f['severity']} {f['category']} [{f['rule']}]: {f['title']}"
                     for f in target["findings"] if f["severity"] != "info"],
        "phases": {p["name"]: p["duration_ms"] for p in target["phases"]},
    })
catalog_ms = None
try:
    from regdoctor.engine import load_catalog
    t = time.perf_counter()
    load_catalog()
    catalog_ms = (time.perf_counter() - t) * 1000
except Exception:
    pass
sys.__stdout__.write(json.dumps(
    {"entry_import_ms": entry_import_ms, "calls": results, "catalog_ms": catalog_ms}))
"""


IN_PROCESS_NOTE = "regdoctor.cli.main.main(argv) called repeatedly in one interpreter"


class BenchError(Exception):
    """The benchmark itself could not run (not a missed target)."""


# --------------------------------------------------------------------------- processes


def _kill_group(pid: int) -> None:
    # Every child is started with start_new_session=True: its process group id is its
    # own pid, so this reaches only what this script started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


@dataclass
class Measured:
    rc: int
    stdout: str
    stderr: str
    wall_s: float
    maxrss_kb: int


def run_measured(
    argv: Sequence[str], *, env: dict[str, str], stdin: str = "", timeout_s: float = CHILD_TIMEOUT_S
) -> Measured:
    """Run one child; wall time from just before fork to its exit, and its own peak RSS.

    ``os.waitid(WNOWAIT)`` sees the exit without reaping, so the watchdog can never
    signal a reused pid; ``os.wait4`` then reaps and returns the child's rusage.
    """
    lock = threading.Lock()
    exited = False

    def watchdog(pid: int) -> None:
        with lock:
            if not exited:
                _kill_group(pid)

    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=("out", proc.stdout), daemon=True),
        threading.Thread(target=drain, args=("err", proc.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    timer = threading.Timer(timeout_s, watchdog, (proc.pid,))
    timer.start()
    try:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        wall = time.perf_counter() - started
        with lock:
            exited = True
        timer.cancel()
        _kill_group(proc.pid)  # anything it left behind in its group
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        timer.cancel()
        with lock:
            if not exited:
                _kill_group(proc.pid)
        proc.wait()
        raise
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(timeout=5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return Measured(
        proc.returncode,
        chunks.get("out", b"").decode(errors="replace"),
        chunks.get("err", b"").decode(errors="replace"),
        wall,
        usage.ru_maxrss,
    )


def run_group(
    argv: Sequence[str], *, env: dict[str, str], stdin: str = "", timeout_s: float = CHILD_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` that kills the child's whole process group on any way out."""
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(stdin, timeout=timeout_s)
    except BaseException:
        _kill_group(proc.pid)
        proc.wait()
        raise
    _kill_group(proc.pid)
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)


# --------------------------------------------------------------------------- set-up


@dataclass
class Setup:
    """Everything the measurements share."""

    bed: Any  # tests.harness.testbed.Testbed
    blackholes: list[str]
    """host:port of every blackholed peer (the harness's own plus extra ones)."""
    root: Path
    env: dict[str, str]
    regdoctor: list[str]
    pw_file: Path
    cert_dir: Path
    skopeo: str | None
    curl: str | None
    hyperfine: str | None


def isolated_env(root: Path) -> dict[str, str]:
    """No proxies, no developer config: HOME, DOCKER_CONFIG, XDG_*, REGISTRY_AUTH_FILE and
    REGDOCTOR_CONFIG_ROOT all point below ``root``."""
    from tests.harness.procs import clean_env

    home = root / "home"
    runtime = root / "run"
    config_root = root / "config-root"
    for path in (home / ".docker", home / ".config", config_root):
        path.mkdir(parents=True, exist_ok=True)
    runtime.mkdir(mode=0o700, exist_ok=True)
    return clean_env(
        home,
        {
            "DOCKER_CONFIG": str(home / ".docker"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_RUNTIME_DIR": str(runtime),
            "REGISTRY_AUTH_FILE": str(home / "auth.json"),
            "REGDOCTOR_CONFIG_ROOT": str(config_root),
            "NO_COLOR": "1",
        },
    )


def regdoctor_command() -> list[str]:
    """The real console script next to this interpreter: a pyenv shim would add its own
    start-up (about 55 ms here) to every figure."""
    beside = Path(sys.executable).with_name("regdoctor")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("regdoctor")
    return [found] if found else [sys.executable, "-m", "regdoctor"]


@contextlib.contextmanager
def testbed_setup() -> Iterator[Setup]:
    from tests.harness.servers import Blackhole
    from tests.harness.testbed import PASSWORD, start_testbed

    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="regdoctor-bench-")))
        bed = stack.enter_context(start_testbed(root / "testbed"))
        # The harness has one blackhole; the class makes as many as we like, so the ten
        # dead targets are ten distinct dead registries, not one port repeated.
        blackholes = [bed.endpoints["blackhole"].hostport]
        for _ in range(FANOUT_BLACKHOLED - 1):
            hole = Blackhole()
            stack.callback(hole.close)
            hole.start()
            blackholes.append(f"127.0.0.1:{hole.port}")
        env = isolated_env(root / "env")
        pw_file = root / "password"
        pw_file.write_text(PASSWORD + "\n")
        cert_dir = bed.make_cert_dir(root / "certs.d")
        yield Setup(
            bed=bed,
            blackholes=blackholes,
            root=root,
            env=env,
            regdoctor=regdoctor_command(),
            pw_file=pw_file,
            cert_dir=cert_dir,
            skopeo=shutil.which("skopeo"),
            curl=shutil.which("curl"),
            hyperfine=shutil.which("hyperfine"),
        )


# --------------------------------------------------------------------------- helpers


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def fmt_ms(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    aligned = [
        [
            str(c).rjust(w) if i else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        for row in [headers, *rows]
    ]
    lines = ["  ".join(r).rstrip() for r in aligned]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def check_argv(s: Setup, targets: Sequence[str]) -> list[str]:
    from tests.harness.testbed import USERNAME

    return [
        *s.regdoctor,
        "check",
        "--format",
        "json",
        "--timeout",
        f"{TIMEOUT_S:g}",
        "--ca-file",
        str(s.bed.ca_file),
        "-u",
        USERNAME,
        "--password-stdin",
        *targets,
    ]


def parse_report(stdout: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(stdout)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def excerpt(text: str, limit: int = 400) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + " ..."


def findings_summary(target: dict[str, Any]) -> str:
    """The findings above info of one target, one clause each."""
    items = [
        f"{f.get('severity')} {f.get('category')} [{f.get('rule')}]: {f.get('title')}"
        for f in target.get("findings", [])
        if f.get("severity") != "info"
    ]
    return "; ".join(items) or "no finding above info"


def single_target_problem(doc: dict[str, Any] | None, rc: int, stderr: str) -> str | None:
    """None when a one-target report says healthy (exit 0, status ok); else what was seen."""
    if doc is None or not doc.get("targets"):
        return f"exit {rc}, no JSON report; stderr: {excerpt(stderr)}"
    target = doc["targets"][0]
    if rc == 0 and target.get("status") == "ok":
        return None
    return f"exit {rc}, status {target.get('status')}: {findings_summary(target)}"


def counted(problems: Sequence[str]) -> list[str]:
    """Identical problems once, with how often they were seen."""
    counts: dict[str, int] = {}
    for p in problems:
        counts[p] = counts.get(p, 0) + 1
    return [p if n == 1 else f"({n}x) {p}" for p, n in counts.items()]


# --------------------------------------------------------------------------- 1. fan-out


def fanout_targets(s: Setup) -> list[tuple[str, str]]:
    """50 (target, expected) pairs: 'ok' or 'tcp.timeout'; every 5th one is blackholed."""
    images = s.bed.images
    healthy: list[str] = []
    for name in ("plain", "tls", "tls_basic", "token"):
        hp = s.bed.endpoints[name].hostport
        variants = [
            images.app.ref(hp),
            images.multi.ref(hp),
            images.nginx.ref(hp),
            images.app.digest_ref(hp),
            images.multi.digest_ref(hp),
            images.nginx.digest_ref(hp),
            hp,  # the registry itself: dns..auth, no image
        ]
        healthy.extend(variants[i % len(variants)] for i in range(FANOUT_HEALTHY // 4))
    dead = [f"{s.blackholes[i]}/team/app{i}:1.2" for i in range(FANOUT_BLACKHOLED)]
    out: list[tuple[str, str]] = []
    h = iter(healthy)
    d = iter(dead)
    for i in range(FANOUT_HEALTHY + FANOUT_BLACKHOLED):
        out.append((next(d), "tcp.timeout") if i % 5 == 4 else (next(h), "ok"))
    return out


def _leading(target: dict[str, Any]) -> str | None:
    for finding in target.get("findings", []):
        if finding.get("leading"):
            return str(finding.get("category"))
    return None


def bench_fanout(s: Setup) -> dict[str, Any]:
    from tests.harness.testbed import PASSWORD

    pairs = fanout_targets(s)
    argv = check_argv(s, [t for t, _ in pairs])
    runs: list[dict[str, Any]] = []
    for _ in range(FANOUT_REPEATS):
        m = run_measured(argv, env=s.env, stdin=PASSWORD + "\n")
        doc = parse_report(m.stdout)
        run: dict[str, Any] = {
            "wall_s": round(m.wall_s, 3),
            "exit_code": m.rc,
            "peak_rss_mb": round(m.maxrss_kb / 1024, 1),
            "problems": [],
        }
        if doc is None:
            run["problems"].append(f"no JSON report (exit {m.rc}); stderr: {excerpt(m.stderr)}")
            runs.append(run)
            continue
        run.update(duration_ms=doc.get("duration_ms"), deadline_hit=doc.get("deadline_hit"))
        got = doc.get("targets", [])
        if len(got) != len(pairs):
            run["problems"].append(f"{len(got)} targets reported, {len(pairs)} given")
        healthy_ok = timeouts = 0
        slowest_healthy = 0.0
        wrong: dict[str, list[str]] = {}  # what was wrong -> which targets
        for (raw, expected), target in zip(pairs, got, strict=False):
            status, leading = target.get("status"), _leading(target)
            if target.get("target") != raw:
                run["problems"].append(f"order: expected {raw}, got {target.get('target')}")
            if expected == "ok":
                if status == "ok":
                    healthy_ok += 1
                    slowest_healthy = max(slowest_healthy, target.get("duration_ms") or 0.0)
                else:
                    what = f"healthy target: status {status}: {findings_summary(target)}"
                    wrong.setdefault(what, []).append(raw)
            elif status == "error" and leading == "tcp.timeout":
                timeouts += 1
            else:
                what = (
                    f"blackholed target: status {status}, leading {leading}, expected "
                    f"tcp.timeout: {findings_summary(target)}"
                )
                wrong.setdefault(what, []).append(raw)
        for what, raws in wrong.items():
            run["problems"].append(f"{len(raws)} targets (e.g. {raws[0]}): {what}")
        run.update(
            healthy_ok=healthy_ok, blackholed_timeout=timeouts, slowest_healthy_ms=slowest_healthy
        )
        if m.wall_s > FANOUT_LIMIT_S:
            run["problems"].append(f"wall {m.wall_s:.3f} s > {FANOUT_LIMIT_S:g} s")
        runs.append(run)
    walls = [r["wall_s"] for r in runs]
    return {
        "command": shlex.join(argv[: len(s.regdoctor) + 10]) + " TARGET... < password",
        "targets": [t for t, _ in pairs],
        "runs": runs,
        "wall_s": {"min": min(walls), "median": median(walls), "max": max(walls)},
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "limit_s": FANOUT_LIMIT_S,
        "met": all(not r["problems"] for r in runs),
    }


# --------------------------------------------------------------------------- 2. single check


@dataclass
class Cmd:
    name: str
    argv: list[str]
    stdin_file: Path | None = None
    timings_s: list[float] = field(default_factory=list)

    def shell(self) -> str:
        line = shlex.join(self.argv)
        return f"{line} < {shlex.quote(str(self.stdin_file))}" if self.stdin_file else line


def skopeo_cmd(s: Setup, ref: str, *, tls_verify: bool, home: Path) -> list[str]:
    from tests.harness.skopeo import skopeo_argv
    from tests.harness.testbed import PASSWORD, USERNAME

    home.mkdir(parents=True, exist_ok=True)
    argv = skopeo_argv(
        home,
        ["inspect", "--raw", f"docker://{ref}"],
        tls_verify=tls_verify,
        cert_dir=s.cert_dir,
        creds=(USERNAME, PASSWORD),
        timeout_s=10,
    )
    argv[0] = s.skopeo or argv[0]
    return argv


def curl_cmd(s: Setup, hostport: str, write_out: str) -> list[str]:
    from tests.harness.testbed import PASSWORD, USERNAME

    app = s.bed.images.app
    assert s.curl is not None
    return [
        s.curl,
        "-s",
        "-o",
        "/dev/null",
        "-w",
        write_out,
        "--noproxy",
        "*",
        "--cacert",
        str(s.bed.ca_file),
        "-u",
        f"{USERNAME}:{PASSWORD}",
        "-H",
        f"Accept: {DOCKER_MANIFEST_V2}",
        f"https://{hostport}/v2/{app.repository}/manifests/{app.tag}",
    ]


def single_commands(s: Setup) -> list[Cmd]:
    tls_basic = s.bed.endpoints["tls_basic"].hostport
    token = s.bed.endpoints["token"].hostport
    app = s.bed.images.app
    cmds = [
        Cmd("python -c pass", [sys.executable, "-c", "pass"]),
        Cmd("regdoctor --version", [*s.regdoctor, "--version"]),
    ]
    shim = shutil.which("regdoctor")
    if shim and [shim] != s.regdoctor and "shims" in shim:
        cmds.append(Cmd("regdoctor --version (pyenv shim)", [shim, "--version"]))
    cmds.append(Cmd("regdoctor check, tls_basic", check_argv(s, [app.ref(tls_basic)]), s.pw_file))
    if s.skopeo:
        cmds.append(
            Cmd(
                "skopeo inspect --raw, tls_basic",
                skopeo_cmd(
                    s, app.ref(tls_basic), tls_verify=True, home=s.root / "skopeo-tls_basic"
                ),
            )
        )
    if s.curl:
        cmds.append(Cmd("curl manifest, tls_basic", curl_cmd(s, tls_basic, "%{http_code}")))
    cmds.append(Cmd("regdoctor check, token", check_argv(s, [app.ref(token)]), s.pw_file))
    if s.skopeo:
        # The token registry speaks plain HTTP (its realm is HTTPS): skopeo needs
        # --tls-verify=false where regdoctor falls back by itself (loopback, as Docker).
        cmds.append(
            Cmd(
                "skopeo inspect --raw, token",
                skopeo_cmd(s, app.ref(token), tls_verify=False, home=s.root / "skopeo-token"),
            )
        )
    return cmds


def verify_single(s: Setup, cmds: Sequence[Cmd]) -> list[str]:
    """Each command once, checked for the right answer before it is timed."""
    problems = []
    for cmd in cmds:
        stdin = cmd.stdin_file.read_text() if cmd.stdin_file else ""
        result = run_group(cmd.argv, env=s.env, stdin=stdin)
        where = f"{cmd.name}: `{cmd.shell()}`"
        if cmd.name.startswith("regdoctor check"):
            problem = single_target_problem(
                parse_report(result.stdout), result.returncode, result.stderr
            )
            if problem:
                problems.append(f"{where}: {problem}")
        elif cmd.name.startswith("curl"):
            if result.stdout.strip() != "200":
                problems.append(f"{where} answered {result.stdout.strip()!r}")
        elif result.returncode != 0:
            problems.append(f"{where} exit {result.returncode}: {excerpt(result.stderr)}")
    return problems


def time_with_hyperfine(s: Setup, cmds: Sequence[Cmd], runs: int) -> str:
    assert s.hyperfine is not None
    export = s.root / "hyperfine.json"
    argv = [
        s.hyperfine,
        "--style",
        "basic",
        "--ignore-failure",
        "--warmup",
        str(SINGLE_WARMUP),
        "--runs",
        str(runs),
        "--export-json",
        str(export),
    ]
    for cmd in cmds:
        argv += ["--command-name", cmd.name, cmd.shell()]
    result = run_group(argv, env=s.env, timeout_s=300)
    if result.returncode != 0:
        raise BenchError(f"hyperfine failed (exit {result.returncode}): {excerpt(result.stderr)}")
    data = json.loads(export.read_text())
    for cmd, res in zip(cmds, data["results"], strict=True):
        cmd.timings_s = list(res["times"])
    version = run_group([s.hyperfine, "--version"], env=s.env).stdout.strip()
    return version or "hyperfine"


def time_by_hand(s: Setup, cmds: Sequence[Cmd], runs: int) -> str:
    for cmd in cmds:
        stdin = cmd.stdin_file.read_text() if cmd.stdin_file else ""
        for i in range(SINGLE_WARMUP + runs):
            started = time.perf_counter()
            run_group(cmd.argv, env=s.env, stdin=stdin)
            if i >= SINGLE_WARMUP:
                cmd.timings_s.append(time.perf_counter() - started)
    return "time.perf_counter around subprocess"


def cold_phases(s: Setup) -> dict[str, Any]:
    """regdoctor check of the tls_basic image in fresh processes: JSON phases, peak RSS."""
    from tests.harness.testbed import PASSWORD

    ref = s.bed.images.app.ref(s.bed.endpoints["tls_basic"].hostport)
    argv = check_argv(s, [ref])
    walls, durations, rss = [], [], []
    phases: dict[str, list[float]] = {p: [] for p in PHASES}
    problems = []
    for _ in range(COLD_RUNS):
        m = run_measured(argv, env=s.env, stdin=PASSWORD + "\n")
        doc = parse_report(m.stdout)
        problem = single_target_problem(doc, m.rc, m.stderr)
        if problem:
            problems.append(f"cold run `{shlex.join(argv)} < password`: {problem}")
        if doc is None or not doc.get("targets"):
            continue  # timings are kept when the verdict is wrong, dropped without a report
        walls.append(m.wall_s * 1000)
        durations.append(doc["duration_ms"])
        rss.append(m.maxrss_kb / 1024)
        for phase in doc["targets"][0]["phases"]:
            if phase["name"] in phases and phase["duration_ms"] is not None:
                phases[phase["name"]].append(phase["duration_ms"])
    return {
        "command": shlex.join(argv) + " < password",
        "runs": len(walls),
        "wall_ms": median(walls),
        "duration_ms": median(durations),
        "phases_ms": {p: median(v) for p, v in phases.items()},
        "peak_rss_mb": max(rss) if rss else None,
        "problems": counted(problems),
    }


def warm_phases(s: Setup) -> dict[str, Any]:
    """The same check called WARM_CALLS + 1 times inside one interpreter."""
    from tests.harness.testbed import PASSWORD

    ref = s.bed.images.app.ref(s.bed.endpoints["tls_basic"].hostport)
    argv = check_argv(s, [ref])[len(s.regdoctor) :]
    m = run_measured(
        [sys.executable, "-c", IN_PROCESS_DRIVER, json.dumps(argv), str(WARM_CALLS + 1)],
        env=s.env,
        stdin=PASSWORD + "\n",
    )
    try:
        data = json.loads(m.stdout)
    except ValueError:
        return {"problems": [f"in-process driver exit {m.rc}: {excerpt(m.stderr)}"]}
    calls = data["calls"]
    first, warm = calls[0], calls[1:]
    problems = counted(
        [
            f"in-process call (driver: {IN_PROCESS_NOTE}): exit {c['rc']}, status {c['status']}: "
            + ("; ".join(c["findings"]) or "no finding above info")
            for c in calls
            if c["rc"] != 0 or c["status"] != "ok"
        ]
    )

    def phase_median(rows: Sequence[dict[str, Any]], name: str) -> float | None:
        return median([r["phases"][name] for r in rows if r["phases"].get(name) is not None])

    return {
        "entry_import_ms": data["entry_import_ms"],
        "catalog_load_ms": data["catalog_ms"],
        "first_call": {
            "wall_ms": first["wall_ms"],
            "duration_ms": first["duration_ms"],
            "phases_ms": first["phases"],
        },
        "warm": {
            "calls": len(warm),
            "wall_ms": median([c["wall_ms"] for c in warm]),
            "duration_ms": median([c["duration_ms"] for c in warm]),
            "phases_ms": {p: phase_median(warm, p) for p in PHASES},
        },
        "problems": problems,
    }


def import_profile(s: Setup) -> dict[str, Any]:
    """``python -X importtime`` of the same check: self time summed per package group."""
    from tests.harness.testbed import PASSWORD

    ref = s.bed.images.app.ref(s.bed.endpoints["tls_basic"].hostport)
    argv = [
        sys.executable,
        "-X",
        "importtime",
        "-m",
        "regdoctor",
        *check_argv(s, [ref])[len(s.regdoctor) :],
    ]
    m = run_measured(argv, env=s.env, stdin=PASSWORD + "\n")
    total, groups = group_import_times(m.stderr)
    return {
        "command": shlex.join(argv),
        "wall_ms_under_importtime": m.wall_s * 1000,
        "total_ms": total,
        "groups_ms": groups,
        "incidental_ms": incidental_imports(m.stderr),
    }


def curl_phases(s: Setup) -> dict[str, Any]:
    """curl's own connect / TLS / first byte / total for the tls_basic manifest."""
    if not s.curl:
        return {}
    fmt = "%{time_connect} %{time_appconnect} %{time_starttransfer} %{time_total}"
    argv = curl_cmd(s, s.bed.endpoints["tls_basic"].hostport, fmt)
    rows = []
    for _ in range(COLD_RUNS):
        result = run_group(argv, env=s.env)
        with contextlib.suppress(ValueError):
            rows.append([float(v) * 1000 for v in result.stdout.split()])
    names = ("tcp_connected_ms", "tls_done_ms", "first_byte_ms", "total_ms")
    return {n: median([r[i] for r in rows if len(r) == 4]) for i, n in enumerate(names)}


def bench_single(s: Setup, runs: int) -> dict[str, Any]:
    cmds = single_commands(s)
    problems = verify_single(s, cmds)
    timer = time_with_hyperfine(s, cmds, runs) if s.hyperfine else time_by_hand(s, cmds, runs)
    rows = []
    for cmd in cmds:
        ms = [t * 1000 for t in cmd.timings_s]
        rows.append(
            {
                "name": cmd.name,
                "command": cmd.shell(),
                "runs": len(ms),
                "median_ms": median(ms),
                "p90_ms": p90(ms),
                "min_ms": min(ms) if ms else None,
                "max_ms": max(ms) if ms else None,
                "mean_ms": statistics.fmean(ms) if ms else None,
                "stdev_ms": statistics.stdev(ms) if len(ms) > 1 else None,
            }
        )
    cold = cold_phases(s)
    warm = warm_phases(s)
    return {
        "timer": timer,
        "commands": rows,
        "cold": cold,
        "warm": warm,
        "imports": import_profile(s),
        "curl_phases": curl_phases(s),
        "problems": problems + cold["problems"] + warm.get("problems", []),
    }


# --------------------------------------------------------------------------- report


def breakdown(single: dict[str, Any]) -> list[tuple[str, float | None]]:
    """Where the wall time of one cold ``regdoctor check`` goes (medians, ms)."""
    by = {r["name"]: r["median_ms"] for r in single["commands"]}
    wall = by.get("regdoctor check, tls_basic")
    py = by.get("python -c pass")
    version = by.get("regdoctor --version")
    cold = single["cold"].get("duration_ms")
    warm = single["warm"].get("warm", {}).get("duration_ms")

    def diff(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    return [
        ("process wall, `regdoctor check` (hyperfine median)", wall),
        ("  interpreter start-up (`python -c pass`)", py),
        ("  entry point + argparse (`--version` - `python -c pass`)", diff(version, py)),
        (
            "  eager imports, arg/CA/password handling, JSON render, exit",
            diff(diff(diff(wall, cold), py), diff(version, py)),
        ),
        ("  in-process check, cold (`duration_ms`, fresh process)", cold),
        ("    first-call extras: lazy imports, rule catalog, TLS context", diff(cold, warm)),
        ("    the check itself, warm (`duration_ms`, 2nd+ call in-process)", warm),
    ]


def render(results: dict[str, Any]) -> str:
    out: list[str] = []
    fan = results["fanout"]
    out.append(f"regdoctor check benchmarks  {results['date']}  {results['machine']}")
    load = results["load_average"]
    out.append(
        f"testbed up in {results['testbed_startup_s']:.2f} s; "
        f"regdoctor = {results['regdoctor_command']}; 1-min load average "
        f"{load['before'][0]:.2f} before, {load['after'][0]:.2f} after (other work "
        "on the machine shows up as noise)"
    )
    out.append("")
    out.append(
        f"1. Fan-out: {FANOUT_HEALTHY} healthy + {FANOUT_BLACKHOLED} blackholed targets, "
        f"one process, --timeout {TIMEOUT_S:g} (limit {fan['limit_s']:g} s)"
    )
    rows = []
    for i, r in enumerate(fan["runs"], 1):
        rows.append(
            [
                f"run {i}",
                f"{r['wall_s']:.3f}",
                fmt_ms(r.get("duration_ms"), 0),
                f"{r.get('healthy_ok', 0)}/{FANOUT_HEALTHY}",
                f"{r.get('blackholed_timeout', 0)}/{FANOUT_BLACKHOLED}",
                fmt_ms(r.get("slowest_healthy_ms"), 0),
                str(r["exit_code"]),
                f"{r['peak_rss_mb']:.1f}",
                "yes" if not r["problems"] else "NO",
            ]
        )
    out.append(
        table(
            [
                "",
                "wall s",
                "duration_ms",
                "ok",
                "tcp.timeout",
                "slowest ok ms",
                "exit",
                "peak RSS MB",
                "met",
            ],
            rows,
        )
    )
    w = fan["wall_s"]
    out.append(
        f"wall min/median/max: {w['min']:.3f} / {w['median']:.3f} / {w['max']:.3f} s; "
        f"peak RSS {fan['peak_rss_mb']:.1f} MB"
    )
    for p in counted([p for r in fan["runs"] for p in r["problems"]]):
        out.append(f"  PROBLEM: {p}")
    if not fan["met"]:
        out.append(f"  command: {fan['command']}")
    out.append("")

    single = results["single"]
    out.append(
        f"2. One healthy check of {results['single_image']} ({single['timer']}, "
        f"{single['commands'][0]['runs']} runs, {SINGLE_WARMUP} warm-up)"
    )
    rows = [
        [
            r["name"],
            fmt_ms(r["median_ms"]),
            fmt_ms(r["p90_ms"]),
            fmt_ms(r["min_ms"]),
            fmt_ms(r["mean_ms"]),
            fmt_ms(r["stdev_ms"]),
        ]
        for r in single["commands"]
    ]
    out.append(table(["command", "median ms", "p90 ms", "min ms", "mean ms", "sd ms"], rows))
    out.append("")
    cold, warm = single["cold"], single["warm"]
    first = warm.get("first_call", {})
    rows = []
    for p in PHASES:
        rows.append(
            [
                p,
                fmt_ms(cold["phases_ms"].get(p), 2),
                fmt_ms(first.get("phases_ms", {}).get(p), 2),
                fmt_ms(warm.get("warm", {}).get("phases_ms", {}).get(p), 2),
            ]
        )
    rows.append(
        [
            "duration_ms (in-process total)",
            fmt_ms(cold.get("duration_ms"), 2),
            fmt_ms(first.get("duration_ms"), 2),
            fmt_ms(warm.get("warm", {}).get("duration_ms"), 2),
        ]
    )
    rows.append(
        [
            "process / main() wall",
            fmt_ms(cold.get("wall_ms"), 2),
            fmt_ms(first.get("wall_ms"), 2),
            fmt_ms(warm.get("warm", {}).get("wall_ms"), 2),
        ]
    )
    out.append("regdoctor's own phases for that target (ms, medians):")
    out.append(
        table(
            [
                "phase",
                f"cold process (x{cold['runs']})",
                "1st call in-process",
                f"warm in-process (x{warm.get('warm', {}).get('calls', 0)})",
            ],
            rows,
        )
    )
    cp = single["curl_phases"]
    if cp:
        out.append(
            f"curl floor, same manifest: TCP connected {fmt_ms(cp['tcp_connected_ms'], 2)}"
            f", TLS done {fmt_ms(cp['tls_done_ms'], 2)}, first byte "
            f"{fmt_ms(cp['first_byte_ms'], 2)}, total {fmt_ms(cp['total_ms'], 2)} ms "
            "(cumulative)"
        )
    out.append(
        f"rule catalog load (one call): {fmt_ms(warm.get('catalog_load_ms'), 1)} ms; "
        f"single-check peak RSS: {fmt_ms(cold.get('peak_rss_mb'), 1)} MB"
    )
    out.append("")
    out.append("Where one cold check's wall time goes (ms):")
    out.append(table(["", "ms"], [[k, fmt_ms(v)] for k, v in breakdown(single)]))
    out.append("")
    imp = single["imports"]
    out.append(
        f"Imports under -X importtime (self time summed per group; total "
        f"{imp['total_ms']:.0f} ms, inflated by the profiler; process wall "
        f"{imp['wall_ms_under_importtime']:.0f} ms):"
    )
    out.append(table(["group", "ms"], [[g, f"{v:.1f}"] for g, v in imp["groups_ms"].items()]))
    if imp["incidental_ms"]:
        out.append(
            "  of which not regdoctor dependencies, imported because installed here: "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in imp["incidental_ms"].items())
        )
    for p in single["problems"]:
        out.append(f"PROBLEM: {p}")
    out.append("")
    verdict = "all targets met" if results["met"] else "TARGET MISSED"
    out.append(f"{verdict}; benchmark took {results['elapsed_s']:.1f} s")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write results as JSON")
    parser.add_argument(
        "--runs",
        type=int,
        default=SINGLE_RUNS,
        help=f"timed runs per single-check command (default {SINGLE_RUNS})",
    )
    args = parser.parse_args(argv)

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds the `with` blocks: every peer is stopped

    signal.signal(signal.SIGTERM, on_term)
    started = time.monotonic()
    load_before = os.getloadavg()
    try:
        with testbed_setup() as s:
            fanout = bench_fanout(s)
            single = bench_single(s, args.runs)
            startup = s.bed.startup_s
            command = shlex.join(s.regdoctor)
            image = s.bed.images.app.ref(s.bed.endpoints["tls_basic"].hostport)
    except BenchError as exc:
        print(f"bench_check: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("bench_check: interrupted; every peer and child was stopped", file=sys.stderr)
        return 130
    results = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, Linux {platform.release()}",
        "regdoctor_command": command,
        "testbed_startup_s": startup,
        "single_image": image,
        "fanout": fanout,
        "single": single,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "met": fanout["met"] and not single["problems"],
        "elapsed_s": time.monotonic() - started,
    }
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
