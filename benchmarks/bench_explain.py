#!/usr/bin/env python3
"""Benchmarks of ``regdoctor explain``: cold start, a 100,000-line log, bounded input
(issue 13), and accuracy on the tuned corpus, the held-out split and the clients' own
message templates (issue 15).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_explain.py [--runs 20] [--lines 100000] [--json FILE]
        [--compare REF] [--big-mb 200] [--random-mb 50] [--old-big-mb 2]

``--compare REF`` (default ``main``) exports that commit of this repository to a temporary
folder and measures its cold start in the same interleaved series, and its handling of a
``--old-big-mb`` host-per-line log, for comparison. ``--only cold,log`` runs some parts.

Every tree is byte-compiled first (``compileall``), as an installed package is (pip writes
the ``.pyc`` files at install), and children run without ``PYTHONDONTWRITEBYTECODE``; the
"source only" rows run a copy without bytecode and with ``PYTHONDONTWRITEBYTECODE=1``, so
that every regdoctor module is compiled at every start (a checkout run in place with that
variable set: how the figures before issue 15 were taken).

What it measures (see benchmarks/README.md, section "regdoctor explain"):

1. Cold start, process start to answer: the median wall time (and CPU time, user +
   system, from the child's rusage: what it costs on a machine busy with other work) of
   ``--runs`` runs of
   ``python -m regdoctor explain '<one pasted line>'`` (plain output to a pipe), beside
   ``python -c pass`` (the interpreter's own floor) and ``regdoctor --version``. Run with
   the compiled rule cache filled (the normal case after the first run) and without it
   (``REGDOCTOR_NO_CACHE=1``: every rule file parsed from YAML). The figure to compare
   with the 150 ms target is the cached median; "own" is that minus ``python -c pass``.
2. A 100,000-line log built from the corpus (fixtures/pasted/*.yaml): 10 % of the lines
   are corpus lines (registry errors and the lines around them), 90 % are build-log
   noise; every line gets its own timestamp, as in a CI log, so that no two lines are
   equal. Timed in-process (``explain()`` alone, median of 3) and end to end
   (``regdoctor explain --file LOG --format json``, one process).
3. What start-up imports: the modules ``explain`` loads that are not needed (httpx,
   dnspython, pyOpenSSL, textual must be absent).

Nothing touches the network. Exit status: 0 when the targets (cold start under 150 ms
with the cache, the log in under 10 s) are met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

COLD_START_TARGET_MS = 105.0
LOG_TARGET_S = 1.0  # in process
BIG_TARGET_S = 60.0
BIG_TARGET_RSS_MB = 200.0
PASTE = (
    'Error response from daemon: Get "https://registry.example.com:5000/v2/": '
    "x509: certificate signed by unknown authority"
)
NOISE = (
    "Step {n}/40 : RUN make -C src/module{m} all",
    " ---> Running in {h}",
    "compiling src/module{m}/file{n}.go",
    "npm WARN deprecated package-{m}@1.{n}.0: use package-{m}@2 instead",
    "+ ./gradlew test --tests 'com.example.Module{m}Test' ({n} tests)",
    "ok  	example.com/pkg/module{m}	{n}.{m}s",
    "Downloading https://files.example.org/artifacts/module{m}-{n}.tar.gz",
    "[INFO] BUILD SUCCESS module{m} in {n} ms",
)


def _env(
    cache: Path, *, no_cache: bool = False, tree: Path = REPO, bytecode: bool = True
) -> dict[str, str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "NO_COLOR": "1", "COLUMNS": "80"}
    env.pop("REGDOCTOR_NO_CACHE", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if no_cache:
        env["REGDOCTOR_NO_CACHE"] = "1"
    env["PYTHONPATH"] = str(tree) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _terminal(cache: Path, *, tree: Path = REPO) -> dict[str, str]:
    """As on a terminal: ``FORCE_COLOR=1`` makes Rich treat the output as one (the run's
    output still goes to /dev/null), so its Console is imported and styles the text."""
    return {**_env(cache, tree=tree), "FORCE_COLOR": "1"}


def export_tree(ref: str, into: Path) -> Path:
    """``ref`` of this repository as a plain folder (``git archive``), with
    ``regdoctor/rules`` pointing at its own ``rules/`` (an editable install elsewhere would
    otherwise lend it another catalog)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref], capture_output=True, check=True
    ).stdout
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    link = into / "regdoctor" / "rules"
    if not link.exists():
        link.symlink_to(Path("..") / "rules")
    return into


def source_copy(tree: Path, into: Path) -> Path:
    """The package and rules of ``tree`` without any bytecode (``__pycache__``)."""
    import shutil

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(tree / "regdoctor", into / "regdoctor", ignore=ignore, symlinks=True)
    shutil.copytree(tree / "rules", into / "rules", ignore=ignore)
    link = into / "regdoctor" / "rules"
    if not link.exists():
        link.symlink_to(Path("..") / "rules")
    return into


def byte_compile(tree: Path) -> None:
    """What ``pip install`` does: ``.pyc`` files for every module."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(tree / "regdoctor"), str(tree / "rules")],
        check=True,
        capture_output=True,
    )


def _time_process(
    argv: list[str], env: dict[str, str], runs: int, cwd: Path = REPO
) -> list[tuple[float, float]]:
    """(wall ms, CPU ms) of each run: the CPU time (user + system, from the child's own
    rusage) is what the run costs when the machine is busy with other work."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        # cwd: `python -m` puts the working directory first on sys.path.
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert proc.stderr is not None
        err = proc.stderr.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = (time.perf_counter() - start) * 1000
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1, 2):
            raise SystemExit(f"{argv} failed ({proc.returncode}): {err.decode()[-500:]}")
        times.append((wall, (usage.ru_utime + usage.ru_stime) * 1000))
    return times


def cold_start(
    runs: int,
    old: Path | None = None,
    old_name: str = "old",
    sources: dict[str, Path] | None = None,
) -> dict[str, Any]:
    """``sources``: name -> a copy without bytecode, run with PYTHONDONTWRITEBYTECODE=1."""
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as tmp:
        cache = Path(tmp)
        old_cache = Path(tmp) / "old"
        explain_argv = [py, "-m", "regdoctor", "explain", PASTE]
        # (argv, env, cwd) of each series, run once first (to fill the rule caches)
        plan: dict[str, tuple[list[str], dict[str, str], Path]] = {
            "python -c pass": ([py, "-c", "pass"], _env(cache), REPO),
            "regdoctor --version": ([py, "-m", "regdoctor", "--version"], _env(cache), REPO),
            "explain (rule cache)": (explain_argv, _env(cache), REPO),
            "explain (no cache)": (explain_argv, _env(cache, no_cache=True), REPO),
            # Rich's Console prints where it would style the output (a terminal)
            "explain (rule cache), as on a terminal": (explain_argv, _terminal(cache), REPO),
        }
        if old is not None:
            plan[f"explain (rule cache), {old_name}"] = (
                explain_argv,
                _env(old_cache, tree=old),
                old,
            )
            plan[f"explain (rule cache), {old_name}, as on a terminal"] = (
                explain_argv,
                _terminal(old_cache, tree=old),
                old,
            )
        for name, tree in (sources or {}).items():
            plan[f"explain (rule cache), {name}, source only"] = (
                explain_argv,
                _env(Path(tmp) / f"src-{len(plan)}", tree=tree, bytecode=False),
                tree,
            )
        for argv, env, cwd in plan.values():
            _time_process(argv, env, 1, cwd=cwd)
        # Interleave the series so that a load spike on the machine hits them alike.
        series: dict[str, list[tuple[float, float]]] = {name: [] for name in plan}
        for _ in range(runs):
            for name, (argv, env, cwd) in plan.items():
                series[name] += _time_process(argv, env, 1, cwd=cwd)
        results = {}
        for name, times in series.items():
            walls = [w for w, _c in times]
            cpus = [c for _w, c in times]
            results[name] = {
                "median_ms": round(statistics.median(walls), 1),
                "min_ms": round(min(walls), 1),
                "cpu_median_ms": round(statistics.median(cpus), 1),
                "runs": len(times),
            }
    floor = results["python -c pass"]
    cached = results["explain (rule cache)"]
    results["explain own (cached - python -c pass)"] = {
        "median_ms": round(cached["median_ms"] - floor["median_ms"], 1),
        "cpu_median_ms": round(cached["cpu_median_ms"] - floor["cpu_median_ms"], 1),
    }
    return results


def instructions(old: Path | None, old_name: str) -> dict[str, Any]:
    """Instructions executed by one cold start of each command, counted by valgrind's
    callgrind: unlike times, the count does not depend on what else the machine runs
    (a shared machine's load changes wall and CPU times by a factor of two or more)."""
    import re
    import shutil

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return {"skipped": "valgrind is not installed"}
    py = sys.executable
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-explain-ir-") as tmp:
        explain_argv = [py, "-m", "regdoctor", "explain", PASTE]
        plan: dict[str, tuple[list[str], dict[str, str], Path]] = {
            "python -c pass": ([py, "-c", "pass"], _env(Path(tmp)), REPO),
            "regdoctor --version": ([py, "-m", "regdoctor", "--version"], _env(Path(tmp)), REPO),
            "explain (rule cache)": (explain_argv, _env(Path(tmp)), REPO),
        }
        if old is not None:
            plan[f"explain (rule cache), {old_name}"] = (
                explain_argv,
                _env(Path(tmp) / "old", tree=old),
                old,
            )
        for name, (argv, env, cwd) in plan.items():
            _time_process(argv, env, 1, cwd=cwd)  # fill the rule cache
            proc = subprocess.run(
                [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                env=env,
                cwd=cwd,
                capture_output=True,
                text=True,
                check=False,
            )
            found = re.search(r"Collected : (\d+)", proc.stderr)
            out[name] = {"instructions_m": round(int(found.group(1)) / 1e6, 1) if found else None}
    floor = out["python -c pass"]["instructions_m"]
    for value in out.values():
        if floor and value["instructions_m"]:
            value["times_python_c_pass"] = round(value["instructions_m"] / floor, 2)
    return out


def corpus_lines() -> list[str]:
    import yaml

    lines: list[str] = []
    for path in sorted((REPO / "fixtures" / "pasted").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in data.get("entries") or []:
            lines += [ln for ln in str(entry["text"]).splitlines() if ln.strip()]
    return lines


def build_log(n_lines: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    corpus = corpus_lines()
    out = []
    for i in range(n_lines):
        hours, minutes, seconds = (i // 3600) % 24, (i // 60) % 60, i % 60
        stamp = f"2024-05-01T{hours:02d}:{minutes:02d}:{seconds:02d}.{i % 1000:03d}Z"
        if rng.random() < 0.10:
            line = rng.choice(corpus)
        else:
            noise = rng.choice(NOISE)
            line = noise.format(
                n=rng.randint(1, 999), m=rng.randint(1, 99), h=f"{rng.getrandbits(48):012x}"
            )
        out.append(f"{stamp} {line}")
    return "\n".join(out) + "\n"


def big_log(n_lines: int) -> dict[str, Any]:
    from regdoctor.engine import load_catalog
    from regdoctor.engine.explain import explain

    text = build_log(n_lines)
    catalog = load_catalog()
    explain(catalog, "warm up: manifest unknown")
    times = []
    cpu = []
    matches: list[Any] = []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        matches = explain(catalog, text)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as tmp:
        log = Path(tmp) / "ci.log"
        log.write_text(text, encoding="utf-8")
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "regdoctor", "explain", "--file", str(log), "--format", "json"],
            env=_env(Path(tmp)),
            capture_output=True,
            check=False,
        )
        end_to_end = time.perf_counter() - start
        document = json.loads(proc.stdout)
    recognised = [m for m in matches if m.recognised]
    return {
        "lines": n_lines,
        "megabytes": round(len(text.encode()) / 1e6, 1),
        "explain_median_s": round(statistics.median(times), 2),
        "explain_min_s": round(min(times), 2),
        "explain_cpu_median_s": round(statistics.median(cpu), 2),
        "cli_end_to_end_s": round(end_to_end, 2),
        "distinct_errors": len(recognised),
        "lines_with_errors": sum(m.count for m in recognised),
        "cli_matches": len(document),
    }


def _run_child(
    argv: list[str], env: dict[str, str], stdout: Path, cwd: Path = REPO
) -> dict[str, Any]:
    """Wall time, CPU time and peak RSS of one child. The peak comes from GNU time
    (``%M``: the child's own, as time forks from a small process) when it is installed;
    else from ``wait4``'s ``ru_maxrss``, an upper bound (a forked child keeps its parent's
    high-water mark across exec)."""
    gnu_time = Path("/usr/bin/time")
    report = stdout.with_suffix(".rss")
    if gnu_time.exists():
        argv = [str(gnu_time), "-f", "%M", "-o", str(report), *argv]
    with stdout.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    peak_kb = float(usage.ru_maxrss)
    source = "wait4 (upper bound)"
    if gnu_time.exists():
        try:
            peak_kb = float(report.read_text().split()[-1])
            source = "GNU time"
        except (OSError, ValueError, IndexError):
            pass
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "rss_source": source,
        "exit": code,
        "stderr": err.decode(errors="replace")[-300:],
    }


def write_host_per_line(path: Path, megabytes: float) -> int:
    """A log whose every line is a DNS failure for another host (the worst case for
    grouping: every line a new distinct error)."""
    limit = int(megabytes * 1024 * 1024)
    size = lines = 0
    with path.open("w", encoding="utf-8") as out:
        while size < limit:
            line = (
                f"2026-11-27T10:{lines % 60:02d}:{lines % 60:02d}Z Error response from daemon: "
                f'Get "https://r{lines}.example.test/v2/": dial tcp: lookup r{lines}.example.test '
                "on 127.0.0.53:53: no such host\n"
            )
            out.write(line)
            size += len(line)
            lines += 1
    return lines


def bounded_input(
    big_mb: float, random_mb: float, old: Path | None, old_mb: float
) -> dict[str, Any]:
    """Issue 13: a big host-per-line log and random bytes, end to end, with peak RSS."""
    py = sys.executable
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-explain-big-") as tmp:
        root = Path(tmp)
        cases: list[tuple[str, Path, Path]] = []
        if big_mb:
            log = root / "hosts.log"
            out["host_per_line_lines"] = write_host_per_line(log, big_mb)
            cases.append((f"{big_mb:g} MB, a host per line", log, REPO))
        if random_mb:
            blob = root / "random.bin"
            with blob.open("wb") as handle:
                left = int(random_mb * 1024 * 1024)
                while left > 0:
                    chunk = os.urandom(min(left, 1 << 20))
                    handle.write(chunk)
                    left -= len(chunk)
            cases.append((f"{random_mb:g} MB of random bytes", blob, REPO))
        if old is not None and old_mb:
            small = root / "hosts-small.log"
            write_host_per_line(small, old_mb)
            cases.append((f"{old_mb:g} MB, a host per line", small, REPO))
            cases.append((f"{old_mb:g} MB, a host per line, compared tree", small, old))
        for name, path, tree in cases:
            argv = [py, "-m", "regdoctor", "explain", "--file", str(path), "--format", "json"]
            figures = _run_child(argv, _env(root / "cache", tree=tree), root / "out.json", tree)
            try:
                document = json.loads((root / "out.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                document = []
            items = document if isinstance(document, list) else document.get("matches", [])
            figures["matches"] = len(items)
            figures["categories"] = sorted({m["category"] for m in items})[:8]
            figures["omitted"] = next(
                (m["explanation"] for m in items if m["rule"] == "regdoctor.omitted"), None
            )
            figures.pop("stderr") if figures["exit"] in (0, 1, 2) else None
            out[name] = figures
    return out


def accuracy() -> dict[str, Any]:
    """Top-1 category accuracy on the tuned corpus and the held-out split, and the
    coverage of the clients' message templates."""
    import importlib.util

    import yaml

    from regdoctor.engine import load_catalog
    from regdoctor.engine.explain import explain

    catalog = load_catalog()
    pasted = REPO / "fixtures" / "pasted"

    def score(paths: list[Path]) -> dict[str, Any]:
        entries = []
        for path in paths:
            entries += yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]
        ok = sum(
            next(m for m in explain(catalog, e["text"]) if m.leading).category == e["category"]
            for e in entries
        )
        return {"entries": len(entries), "top1": ok, "accuracy": round(ok / len(entries), 4)}

    spec = importlib.util.spec_from_file_location(
        "client_coverage", REPO / "fixtures" / "client-messages" / "coverage.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows, _misses = module.coverage(catalog)
    return {
        "tuned": score(sorted(pasted.glob("*.yaml"))),
        "heldout": score(sorted((pasted / "heldout").glob("*.yaml"))),
        "client_templates": rows,
        "client_table": module.table(rows),
    }


_INPROCESS = """
import json, statistics, sys, time
from regdoctor.engine import load_catalog
from regdoctor.engine.explain import explain
text = open(sys.argv[1], encoding="utf-8").read()
catalog = load_catalog()
explain(catalog, "warm up: manifest unknown")
times = []
for _ in range(3):
    start, start_cpu = time.perf_counter(), time.process_time()
    matches = explain(catalog, text)
    times.append((time.perf_counter() - start, time.process_time() - start_cpu))
print(json.dumps({
    "median_s": round(statistics.median(t for t, _c in times), 2),
    "cpu_median_s": round(statistics.median(c for _t, c in times), 2),
    "matches": len(matches),
}))
"""


def inprocess_compare(n_lines: int, trees: dict[str, Path]) -> dict[str, Any]:
    """``explain()`` on the same log in a child per tree (median of 3 calls), and
    ``regdoctor explain --file LOG --format json`` end to end, one tree after the other,
    twice (the best of the two rounds is kept: the same machine state for both, as far as
    a shared machine allows)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-explain-log-") as tmp:
        log = Path(tmp) / "ci.log"
        log.write_text(build_log(n_lines), encoding="utf-8")
        for _round in range(2):
            for name, tree in trees.items():
                env = _env(Path(tmp) / "cache", tree=tree)
                proc = subprocess.run(
                    [sys.executable, "-c", _INPROCESS, str(log)],
                    env=env,
                    cwd=tree,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                figures = json.loads(proc.stdout.strip().splitlines()[-1])
                argv = [sys.executable, "-m", "regdoctor", "explain", "--file", str(log)]
                cli = _run_child([*argv, "--format", "json"], env, Path(tmp) / "out.json", tree)
                figures["cli_wall_s"] = cli["wall_s"]
                figures["cli_cpu_s"] = cli["cpu_s"]
                best = out.get(name)
                if best is None:
                    out[name] = figures
                else:
                    for key in ("median_s", "cpu_median_s", "cli_wall_s", "cli_cpu_s"):
                        best[key] = min(best[key], figures[key])
    return out


def imports() -> dict[str, Any]:
    program = (
        "import json, sys\n"
        "from regdoctor.cli.main import main\n"
        f"main(['explain', '--format', 'json', {PASTE!r}])\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
    )
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as tmp:
        env = _env(Path(tmp))
        subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, check=False)
        proc = subprocess.run(
            [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=False
        )
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    heavy = sorted(set(modules) & {"httpx", "httpcore", "dns", "OpenSSL", "textual", "yaml"})
    return {"top_level_modules": len(modules), "heavy_imported": heavy}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--compare", metavar="REF", default="main", help="'' to skip")
    parser.add_argument("--big-mb", type=float, default=200)
    parser.add_argument("--random-mb", type=float, default=50)
    parser.add_argument("--old-big-mb", type=float, default=2)
    parser.add_argument(
        "--only",
        default="cold,log,imports,bounded,compare,accuracy",
        help="the parts to run, comma-separated, of cold, instructions (valgrind), log, "
        "imports, bounded, compare, accuracy (default: all but instructions)",
    )
    args = parser.parse_args()
    parts = set(args.only.split(","))

    figures: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
    }
    with tempfile.TemporaryDirectory(prefix="bench-explain-old-") as old_tmp:
        root = Path(old_tmp)
        old = export_tree(args.compare, root / "old") if args.compare else None
        for tree in (REPO, old):
            if tree is not None:
                byte_compile(tree)
        figures["compare"] = args.compare or None
        if "cold" in parts:
            sources = {"this tree": source_copy(REPO, root / "src-this")}
            if old is not None:
                sources[args.compare] = export_tree(args.compare, root / "src-old")
            figures["cold_start"] = cold_start(args.runs, old, args.compare, sources)
        if "instructions" in parts:
            figures["instructions"] = instructions(old, args.compare)
        if "log" in parts:
            figures["log"] = big_log(args.lines)
        if "imports" in parts:
            figures["imports"] = imports()
        if "bounded" in parts:
            figures["bounded"] = bounded_input(args.big_mb, args.random_mb, old, args.old_big_mb)
        if "compare" in parts:
            trees = {"this tree": REPO, **({args.compare: old} if old is not None else {})}
            figures["log_compare"] = inprocess_compare(args.lines, trees)
    if "accuracy" in parts:
        figures["accuracy"] = accuracy()
    figures["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]

    print(
        f"python {figures['machine']['python']}, {figures['machine']['cpus']} CPUs, "
        f"load average {figures['machine']['load_average']} before, "
        f"{figures['machine']['load_average_after']} after"
    )
    checks = report(figures, args)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print("\ntargets:")
    for name, met in checks.items():
        print(f"  {name:45} {'met' if met else 'MISSED'}")
    return 0 if all(checks.values()) else 1


def report(figures: dict[str, Any], args: argparse.Namespace) -> dict[str, bool]:
    """Print the figures; the targets they meet.

    On a machine busy with other work the wall time measures the queue, not regdoctor: a
    time target is met when the wall median or, failing that, the CPU median is below it.
    """
    checks: dict[str, bool] = {}
    if "cold_start" in figures:
        print(f"\ncold start, median of {args.runs} runs (process start to answer):")
        print(f"  {'':55} {'wall':>10} {'min wall':>10} {'CPU':>10}")
        for name, value in figures["cold_start"].items():
            low = f"{value['min_ms']:7.1f} ms" if "min_ms" in value else ""
            print(
                f"  {name:55} {value['median_ms']:7.1f} ms {low:>10} "
                f"{value['cpu_median_ms']:7.1f} ms"
            )
        cached = figures["cold_start"]["explain (rule cache)"]
        cold = min(cached["median_ms"], cached["cpu_median_ms"])
        checks[f"cold start <= {COLD_START_TARGET_MS:.0f} ms"] = cold <= COLD_START_TARGET_MS
    if "instructions" in figures:
        print("\ninstructions of one cold start (valgrind callgrind; load-independent):")
        for name, value in figures["instructions"].items():
            if isinstance(value, dict) and value.get("instructions_m"):
                ratio = value.get("times_python_c_pass", 0)
                print(f"  {name:55} {value['instructions_m']:8.1f} M  {ratio:5.2f} x")
    if "log" in figures:
        log = figures["log"]
        print(
            f"\n{log['lines']:,}-line log ({log['megabytes']} MB, {log['lines_with_errors']:,} "
            f"error lines, {log['distinct_errors']} distinct errors):"
        )
        print(
            f"  explain() in-process, median of 3       {log['explain_median_s']:7.2f} s "
            f"(CPU {log['explain_cpu_median_s']:.2f} s)"
        )
        print(f"  regdoctor explain --file, end to end    {log['cli_end_to_end_s']:7.2f} s")
        fast = min(log["explain_median_s"], log["explain_cpu_median_s"])
        checks[f"{args.lines:,} lines in process < {LOG_TARGET_S:.0f} s"] = fast < LOG_TARGET_S
    for name, value in figures.get("log_compare", {}).items():
        print(
            f"  {name:14} explain() in a child {value['median_s']:6.2f} s "
            f"(CPU {value['cpu_median_s']:.2f} s), CLI {value['cli_wall_s']:6.2f} s "
            f"(CPU {value['cli_cpu_s']:.2f} s), {value['matches']} results"
        )
    if "imports" in figures:
        print(
            f"\nimports: {figures['imports']['top_level_modules']} top-level modules, "
            f"heavy: {figures['imports']['heavy_imported'] or 'none'}"
        )
        checks["no heavy import"] = not figures["imports"]["heavy_imported"]
    if "bounded" in figures:
        print("\nbounded input, regdoctor explain --file LOG --format json:")
        for name, value in figures["bounded"].items():
            if isinstance(value, dict):
                print(
                    f"  {name:44} {value['wall_s']:7.2f} s  {value['peak_rss_mb']:7.1f} MB  "
                    f"exit {value['exit']}  {value['matches']} matches {value['categories']}"
                )
        big = figures["bounded"].get(f"{args.big_mb:g} MB, a host per line")
        rnd = figures["bounded"].get(f"{args.random_mb:g} MB of random bytes")
        checks[f"big log < {BIG_TARGET_S:.0f} s and < {BIG_TARGET_RSS_MB:.0f} MB"] = (
            big is None or (big["wall_s"] < BIG_TARGET_S and big["peak_rss_mb"] < BIG_TARGET_RSS_MB)
        )
        checks["random bytes: no error"] = rnd is None or rnd["exit"] == 0
    if "accuracy" in figures:
        acc = figures["accuracy"]
        for split in ("tuned", "heldout"):
            a = acc[split]
            print(f"\n{split}: {a['top1']}/{a['entries']} top-1 = {a['accuracy']:.1%}", end="")
        print("\n\nclient message templates:\n" + acc["client_table"])
        checks["held-out >= 95 %"] = acc["heldout"]["accuracy"] >= 0.95
        checks["tuned >= 99 %"] = acc["tuned"]["accuracy"] >= 0.99
    return checks


if __name__ == "__main__":
    raise SystemExit(main())
