#!/usr/bin/env python3
"""Benchmark of ``regdoctor tags`` on 2,000 tags / 500 distinct manifests, side by side
with ``ab -i -k -c 16`` (the registry's HEAD rate) and a ``skopeo inspect --raw`` loop,
in one run. Loopback only. See benchmarks/README.md ("bench_tags.py").

    PYTHONPATH=. python benchmarks/bench_tags.py [--json FILE] [--runs 3] [--skopeo-sample 50]
        [--compare REF] [--baseline CHECKOUT]

The whole-run target is judged on this tree installed as the README says (``pip install
.`` into a fresh venv, ``installed_*``), as ``bench_startup.py`` judges start-up; the
figures without a prefix are the developer's run (the editable install's console script).

Exit 0 when every target is met, 1 when one is missed, 3 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
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

from tests.harness.populate import populate  # noqa: E402
from tests.harness.registry import Registry, RegistryOptions, wait_all_ready  # noqa: E402
from tests.harness.tcp_forward import Forwarder  # noqa: E402

TAGS = 2000
MANIFESTS = 500
REPOSITORY = "bench/many"
ACCEPT = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)
AB_RATIO_TARGET = 0.5
#: Issue 16: the whole ``regdoctor tags`` run at least 0.8 of the rate of ``ab`` doing the
#: same number of manifest HEADs (``ab`` process start to exit).
WHOLE_RUN_TARGET = 0.8


def regdoctor_bin() -> list[str]:
    script = Path(sys.executable).with_name("regdoctor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "regdoctor"]


def child_env(home: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "DOCKER_CONFIG": str(home / "docker"),
        "REGDOCTOR_CONFIG_ROOT": str(home / "root"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO),
    }
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "DOCKER_CONFIG"):
        Path(env[name]).mkdir(parents=True, exist_ok=True)
    Path(env["REGDOCTOR_CONFIG_ROOT"]).mkdir(parents=True, exist_ok=True)
    return env


def installed(tree: Path, work: Path, name: str) -> Path:
    """``tree`` installed as the README says (``pip install .``, not editable) into a
    fresh venv (``bench_startup.readme_install``): its console script. This is how a user
    runs it: no editable install's finder, and none of this interpreter's ``.pth`` files
    (this machine's imports certifi) at start-up."""
    from bench_startup import readme_install

    return readme_install(tree, work / f"venv-{name}")


def run_tags(
    hostport: str,
    env: dict[str, str],
    concurrency: int,
    checkout: Path | None = None,
    *,
    script: Path | None = None,
    cache: str = "",
) -> dict[str, Any]:
    """One whole ``regdoctor tags`` process: wall time, and its CPU time (user + system,
    from ``wait4``). ``checkout``: run the code of that checkout instead (``--baseline``);
    ``script``: run that installed console script (no ``PYTHONPATH``). ``cache`` names
    the series' own rule cache: two trees' rule files differ, and one cache file for
    both would be rewritten by each run in turn."""
    if checkout is not None:
        cache = cache or "baseline"
        env = {**env, "PYTHONPATH": str(checkout)}
    if script is not None:
        env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    if cache:
        folder = Path(env["XDG_CACHE_HOME"] + "-" + cache)
        folder.mkdir(exist_ok=True)
        env = {**env, "XDG_CACHE_HOME": str(folder)}
    if script is not None:
        launcher = [str(script)]
    elif checkout is not None:
        launcher = [sys.executable, "-m", "regdoctor"]
    else:
        launcher = regdoctor_bin()
    argv = [
        *launcher,
        "tags",
        f"http://{hostport}/{REPOSITORY}",
        "--format",
        "json",
        "--concurrency",
        str(concurrency),
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        # ``python -m`` puts the working directory first on sys.path: the checkout's
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=checkout)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"regdoctor tags exited {proc.returncode}: {stderr[-500:]!r}")
    doc = json.loads(stdout)
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "resolve_s": doc["resolve_ms"] / 1000,
        "resolved": doc["resolution"]["resolved"],
        "digests": doc["resolution"]["digests"],
        "connections": doc["resolution"]["connections"],
        "head_requests": doc["resolution"]["head_requests"],
        "get_requests": doc["resolution"]["get_requests"],
    }


def check_baseline(checkout: Path, env: dict[str, str]) -> None:
    """The baseline must run its own code and its own rules: an editable install maps
    ``regdoctor.rules`` to the installed tree's ``rules/``, which a plain ``PYTHONPATH``
    does not override (link ``regdoctor/rules`` to ``../rules`` in the checkout)."""
    found = subprocess.run(
        [sys.executable, "-c", "import importlib.resources as r, regdoctor; "
         "print(regdoctor.__file__); print(r.files('regdoctor.rules'))"],
        capture_output=True, text=True, env={**env, "PYTHONPATH": str(checkout)},
        cwd=checkout, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    root = str(checkout.resolve())
    if not all(str(Path(p).resolve()).startswith(root) for p in found):
        raise SystemExit(
            f"bench_tags: --baseline {checkout} runs {found}, not its own code and rules "
            f"(ln -s ../rules {checkout}/regdoctor/rules)"
        )


def ab_rate(url: str, requests: int = 4000) -> float:
    out = subprocess.run(
        ["ab", "-q", "-i", "-k", "-c", "16", "-n", str(requests), "-H", f"Accept: {ACCEPT}", url],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    if failed and int(failed.group(1)):
        raise RuntimeError(f"ab: {failed.group(0)}")
    match = re.search(r"Requests per second:\s+([\d.]+)", out)
    if not match:
        raise RuntimeError(f"ab output without a rate: {out[-400:]}")
    return float(match.group(1))


def ab_whole_run(url: str, requests: int = TAGS, concurrency: int = 16) -> float:
    """Seconds from starting ``ab -i -k -c 16 -n 2000`` to its exit: the same number of
    manifest HEADs as the tag scan, timed like the scan (whole process)."""
    start = time.perf_counter()
    out = subprocess.run(
        ["ab", "-q", "-i", "-k", "-c", str(concurrency), "-n", str(requests),
         "-H", f"Accept: {ACCEPT}", url],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout  # fmt: skip
    wall = time.perf_counter() - start
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    if failed and int(failed.group(1)):
        raise RuntimeError(f"ab: {failed.group(0)}")
    return wall


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def skopeo_per_tag(hostport: str, tags: list[str], env: dict[str, str]) -> list[float]:
    times = []
    for tag in tags:
        start = time.perf_counter()
        subprocess.run(
            [
                "skopeo",
                "inspect",
                "--raw",
                "--tls-verify=false",
                f"docker://{hostport}/{REPOSITORY}:{tag}",
            ],
            capture_output=True,
            env=env,
            timeout=60,
            check=True,
        )
        times.append(time.perf_counter() - start)
    return times


def blob_throughput(
    work: Path, registry: Registry, env: dict[str, str], gib: float
) -> dict[str, Any]:
    """regdoctor bench vs curl -o /dev/null on one large layer, side by side."""
    from tests.harness.populate import (
        manifest_body,
        push_blob_file,
        push_raw_manifest,
        write_random_file,
    )

    size = int(gib * 1024**3)
    path = work / "big.blob"
    digest = write_random_file(path, size)
    push_blob_file(registry.url, "bench/big", path, digest)
    path.unlink()
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    from tests.harness.populate import push_image

    push_image(registry.url, "bench/cfg", "x", layers=[b"x"])  # warms the API path
    import asyncio

    import httpx

    from tests.harness.populate import AsyncPusher

    async def push_config() -> None:
        async with httpx.AsyncClient(base_url=registry.url, trust_env=False) as client:
            await AsyncPusher(client).blob("bench/big", config)

    asyncio.run(push_config())
    body = manifest_body(config, [(size, digest)])
    push_raw_manifest(
        registry.url,
        "bench/big",
        "1g",
        body,
        "application/vnd.docker.distribution.manifest.v2+json",
    )
    url = f"{registry.url}/v2/bench/big/blobs/{digest}"
    results: dict[str, Any] = {"bytes": size, "curl_mbps": [], "regdoctor_mbps": [], "rss_mb": []}
    for _ in range(2):
        out = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{speed_download}", url],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        ).stdout
        results["curl_mbps"].append(round(float(out) / 1e6, 1))
        argv = [
            *regdoctor_bin(),
            "bench",
            f"127.0.0.1:{registry.port}/bench/big:1g",
            "--format",
            "json",
            "--timeout",
            "60",
            "--deadline",
            "600",
        ]
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        _pid, _status, usage = os.wait4(proc.pid, 0)
        stdout = proc.stdout.read() if proc.stdout else b""
        del start
        doc = json.loads(stdout)
        endpoint = doc["endpoints"][0]
        if endpoint["outcome"] != "ok" or endpoint["bytes"] != size:
            raise RuntimeError(f"regdoctor bench: {endpoint}")
        results["regdoctor_mbps"].append(endpoint["throughput_mbps"])
        results["rss_mb"].append(round(usage.ru_maxrss / 1024, 1))
    results["ratio"] = round(max(results["regdoctor_mbps"]) / max(results["curl_mbps"]), 3)
    results["peak_rss_mb"] = max(results["rss_mb"])
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every figure as JSON here")
    parser.add_argument(
        "--runs", "--rounds", type=int, default=3, help="interleaved rounds (default: 3)"
    )
    parser.add_argument("--skopeo-sample", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16, help="as ab's -c 16")
    parser.add_argument("--blob-gib", type=float, default=1.0, help="0 skips the blob part")
    parser.add_argument(
        "--compare",
        metavar="REF",
        help="also run a git REF of this repository, installed as the README says (like "
        "this tree's installed series), interleaved in the same rounds",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="CHECKOUT",
        help="also run the regdoctor of this checkout (e.g. a git worktree of main, with "
        "regdoctor/rules linked to ../rules), interleaved in the same rounds, for a "
        "before/after ratio",
    )
    args = parser.parse_args(argv)
    for tool in ("ab", "skopeo", "/usr/bin/docker-registry"):
        if not shutil.which(tool):
            print(f"bench_tags: {tool} not found", file=sys.stderr)
            return 3
    figures: dict[str, Any] = {
        "tags": TAGS,
        "manifests": MANIFESTS,
        "concurrency": args.concurrency,
    }
    with tempfile.TemporaryDirectory(prefix="bench-tags-") as tmp:
        work = Path(tmp)
        registry = Registry("bench", work / "registry", work / "storage", RegistryOptions())
        registry.start()
        try:
            wait_all_ready([registry])
            hostport = f"127.0.0.1:{registry.port}"
            start = time.perf_counter()
            pushed = populate(registry.url, REPOSITORY, tags=TAGS, manifests=MANIFESTS)
            figures["populate_s"] = round(time.perf_counter() - start, 2)
            env = child_env(work / "home")
            scripts = {"installed": installed(REPO, work, "this")}
            if args.compare:
                from bench_startup import export_tree

                tree = export_tree(args.compare, work / "compare-tree")
                scripts["compare"] = installed(tree, work, "compare")
            # warm-up (page cache, the registry's first requests, the rule caches)
            run_tags(hostport, env, args.concurrency)
            for name, script in scripts.items():
                run_tags(hostport, env, args.concurrency, script=script, cache=name)
            url = f"http://{hostport}/v2/{REPOSITORY}/manifests/t0001"
            ab_rate(url, 1000)
            if args.baseline is not None:
                check_baseline(args.baseline, env)
                run_tags(hostport, env, args.concurrency, args.baseline)
            rates_ab, runs, ab_walls, baseline_runs, loads = [], [], [], [], []
            series: dict[str, list[dict[str, Any]]] = {name: [] for name in scripts}
            # the registry's own CPU during ab's 2,000 HEADs and during each scan: on a
            # machine the registry saturates, the ceiling of the whole-run ratio
            assert registry.proc is not None
            registry_pid = registry.proc.pid
            registry_cpu: dict[str, list[float]] = {"ab": [], "regdoctor": []}
            for _ in range(args.runs):  # interleaved: the same machine state for both
                loads.append(os.getloadavg()[0])
                rates_ab.append(ab_rate(url))
                before = process_cpu_s(registry_pid)
                ab_walls.append(ab_whole_run(url))
                middle = process_cpu_s(registry_pid)
                runs.append(run_tags(hostport, env, args.concurrency))
                registry_cpu["ab"].append(middle - before)
                registry_cpu["regdoctor"].append(process_cpu_s(registry_pid) - middle)
                if args.baseline is not None:
                    baseline_runs.append(run_tags(hostport, env, args.concurrency, args.baseline))
                for name, script in scripts.items():
                    series[name].append(
                        run_tags(hostport, env, args.concurrency, script=script, cache=name)
                    )
            for run in runs:
                assert run["resolved"] == TAGS and run["digests"] == MANIFESTS, run
            forwarder = Forwarder(registry.port)
            try:
                counted = run_tags(f"127.0.0.1:{forwarder.port}", env, args.concurrency)
                accepted = forwarder.accepted
            finally:
                forwarder.close()
            sample = random.Random(6).sample(sorted(pushed.tags), args.skopeo_sample)
            skopeo_times = skopeo_per_tag(hostport, sample, env)
            blob = blob_throughput(work, registry, env, args.blob_gib) if args.blob_gib else None
        finally:
            registry.stop()
    wall = statistics.median(r["wall_s"] for r in runs)
    resolve = statistics.median(r["resolve_s"] for r in runs)
    ab = statistics.median(rates_ab)
    skopeo_ms = statistics.median(skopeo_times) * 1000
    skopeo_total = skopeo_ms / 1000 * TAGS
    figures.update(
        {
            "regdoctor_wall_s": [round(r["wall_s"], 3) for r in runs],
            "regdoctor_resolve_s": [round(r["resolve_s"], 3) for r in runs],
            "regdoctor_wall_median_s": round(wall, 3),
            "regdoctor_head_rate": round(TAGS / resolve, 1),
            "regdoctor_whole_command_rate": round(TAGS / wall, 1),
            "ab_head_rates": [round(r, 1) for r in rates_ab],
            "ab_head_rate_median": round(ab, 1),
            "skopeo_sample": args.skopeo_sample,
            "skopeo_ms_per_tag_median": round(skopeo_ms, 1),
            "skopeo_ms_per_tag_mean": round(statistics.mean(skopeo_times) * 1000, 1),
            "skopeo_loop_estimate_s": round(skopeo_total, 1),
            "speedup_vs_skopeo": round(skopeo_total / wall, 1),
            "head_rate_vs_ab": round((TAGS / resolve) / ab, 3),
            "regdoctor_cpu_s": [round(r["cpu_s"], 3) for r in runs],
            "regdoctor_cpu_median_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
            "load_average_1min": [round(x, 1) for x in loads],
            "ab_2000_heads_wall_s": [round(w, 3) for w in ab_walls],
            "ab_2000_heads_wall_median_s": round(statistics.median(ab_walls), 3),
            "whole_run_vs_ab": round(statistics.median(ab_walls) / wall, 3),
            "whole_run_vs_ab_per_round": [
                round(a / r["wall_s"], 3) for a, r in zip(ab_walls, runs, strict=True)
            ],
            "whole_run_vs_ab_round_median": round(
                statistics.median(a / r["wall_s"] for a, r in zip(ab_walls, runs, strict=True)), 3
            ),
            "registry_cpu_s_ab_2000_heads": round(statistics.median(registry_cpu["ab"]), 3),
            "registry_cpu_s_regdoctor_run": round(statistics.median(registry_cpu["regdoctor"]), 3),
            "tcp_connections_counted": accepted,
            "tcp_connections_reported": counted["connections"],
        }
    )
    for name, found in series.items():
        walls = [r["wall_s"] for r in found]
        figures.update(
            {
                f"{name}_wall_s": [round(w, 3) for w in walls],
                f"{name}_cpu_median_s": round(statistics.median(r["cpu_s"] for r in found), 3),
                f"{name}_whole_run_vs_ab": round(
                    statistics.median(ab_walls) / statistics.median(walls), 3
                ),
                f"{name}_whole_run_vs_ab_per_round": [
                    round(a / w, 3) for a, w in zip(ab_walls, walls, strict=True)
                ],
            }
        )
    if baseline_runs:
        base_wall = statistics.median(r["wall_s"] for r in baseline_runs)
        figures.update(
            {
                "baseline_wall_s": [round(r["wall_s"], 3) for r in baseline_runs],
                "baseline_cpu_s": [round(r["cpu_s"], 3) for r in baseline_runs],
                "baseline_cpu_median_s": round(
                    statistics.median(r["cpu_s"] for r in baseline_runs), 3
                ),
                "baseline_whole_run_vs_ab": round(statistics.median(ab_walls) / base_wall, 3),
                "baseline_whole_run_vs_ab_per_round": [
                    round(a / r["wall_s"], 3) for a, r in zip(ab_walls, baseline_runs, strict=True)
                ],
            }
        )
    checks = {
        f"whole tags run, installed as the README says, >= {WHOLE_RUN_TARGET:g} x the rate "
        f"of ab's {TAGS} HEADs (whole process)": figures["installed_whole_run_vs_ab"]
        >= WHOLE_RUN_TARGET,
        f"HEAD rate >= {AB_RATIO_TARGET:g} x ab": figures["head_rate_vs_ab"] >= AB_RATIO_TARGET,
        "TCP connections <= concurrency + 1 (httpx: /v2/, tags/list)": accepted
        <= args.concurrency + 1,
    }
    if blob is not None:
        figures["blob"] = blob
        checks["bench throughput >= 0.9 x curl on the blob"] = blob["ratio"] >= 0.9
        checks["bench peak RSS < 100 MB"] = blob["peak_rss_mb"] < 100
    figures["targets"] = checks
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        if key != "targets":
            print(f"{key:<{width}}  {value}")
    print()
    for name, ok in checks.items():
        print(f"{'met ' if ok else 'MISSED'}  {name}")
    print(
        f"\nskopeo figure: median of {args.skopeo_sample} sampled tags, one process each, "
        f"extrapolated to {TAGS} tags (not run for all {TAGS})."
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        raise SystemExit(130) from None
