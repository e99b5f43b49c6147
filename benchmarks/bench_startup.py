#!/usr/bin/env python3
"""Start-up of ``regdoctor check``: one healthy check of a loopback registry, whole
process, beside the interpreter's floor, and what it imports.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_startup.py [--runs 11] [--compare main] [--json F]

It starts one real plain-HTTP registry (``docker-registry``, 127.0.0.1 only), pushes the
test images, and marks the registry insecure in an isolated ``registries.conf`` (so
every runtime in scope pulls from it and the check is healthy: exit 0). Then, interleaved
so that a load spike hits every series alike, ``--runs`` times each:

- ``python -c pass`` (the interpreter's floor, site and .pth files included);
- ``regdoctor --version`` (argument parsing, no check);
- ``regdoctor check HOST:PORT/team/app:1.2`` of this tree (``python -m regdoctor``, the
  tree on ``PYTHONPATH``, with this machine's ``site``: its ``.pth`` files and the
  editable install's finder, as a developer here runs it);
- the same of ``--compare REF`` (exported with ``git archive``), unless ``--compare ''``;
- the installed check of the same registry **by name** (``registry.test``, answered by a
  loopback dnsmasq through ``--dns-server``): the IP-literal series skips the DNS phase,
  a user's check rarely does (informational: the target is the IP-literal figure);
- **as the README installs it**: each tree installed with ``pip install`` (not
  editable) into a fresh venv, run through its console script (``regdoctor`` on
  ``PATH``), beside that venv's ``python -c pass``. The venv has no system site
  packages; its dependencies come from one ``.pth`` that holds only the path of the
  interpreter's site-packages, so no other ``.pth`` file (this machine's sandbox hook,
  an editable install's finder) runs at start-up, as on a user's machine.

Each figure is the median wall time (fork to exit) and the median CPU time of the child
(user + system from ``wait4``: what the run costs when other work competes for the
CPUs). Every tree is byte-compiled first and children run without
``PYTHONDONTWRITEBYTECODE``, as an installed package would.

Then one ``python -X importtime`` run of the check per tree (as run here, and as
installed): self time summed per package (regdoctor per subpackage), top ten. With
``--layers``, the installed check of this tree is built up layer by layer (the
interpreter, asyncio and ssl, httpcore and h11, pyOpenSSL, Rich's text, regdoctor's own
modules, the whole check), each a fresh process, CPU medians: what its floor is made of.

Exit status: 0 when this tree's median wall time **as installed** is at most 200 ms (the
figure a user sees; the developer series is printed beside it), 1 when not, 3 when it
could not run.
"""

from __future__ import annotations

import argparse
import collections
import compileall
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGET_MS = 200.0
#: The label prefix of the series measured as the README installs regdoctor.
INSTALLED = "installed: "


def export_tree(ref: str, into: Path) -> Path:
    """``ref`` of this repository as a plain folder, ``regdoctor/rules`` -> its ``rules/``."""
    import io
    import tarfile

    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    link = into / "regdoctor" / "rules"
    if not link.exists():
        link.symlink_to(Path("..") / "rules")
    return into


def readme_install(tree: Path, venv: Path) -> Path:
    """``tree`` installed as the README says (``pip install``, not editable) into a new
    venv at ``venv`` whose only other entry on ``sys.path`` is this interpreter's
    site-packages (a ``.pth`` path line: no code runs, and the ``.pth`` files there are
    not processed). Returns the console script."""
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    (Path(purelib) / "_deps_from_the_interpreter.pth").write_text(
        sysconfig.get_paths(vars=base)["purelib"] + "\n"
    )
    # built from a copy: a build in the tree would leave build/ and *.egg-info there
    import shutil

    source = venv.with_name(venv.name + "-src")
    skip = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache")
    shutil.copytree(tree, source, ignore=shutil.ignore_patterns(*skip), symlinks=True)
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    subprocess.run(
        [*pip, "--no-deps", "--no-build-isolation", "--no-index", str(source)],
        check=True,
        capture_output=True,
    )
    return venv / "bin" / "regdoctor"


def isolated_env(root: Path, tree: Path, *, installed: bool = False) -> dict[str, str]:
    """No developer configuration, no proxies; regdoctor imported from ``tree`` (or, when
    ``installed``, from the venv the command runs in)."""
    home = root / "home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "DOCKER_CONFIG": str(home / ".docker"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(root / f"cache-{tree.name}{'-installed' if installed else ''}"),
        "XDG_RUNTIME_DIR": str(root / "run"),
        "REGISTRY_AUTH_FILE": str(root / "run" / "auth.json"),
        "REGDOCTOR_CONFIG_ROOT": str(root / "config-root"),
        "NO_COLOR": "1",
        "COLUMNS": "80",
    }
    if not installed:
        env["PYTHONPATH"] = str(tree)
    for key in ("HOME", "DOCKER_CONFIG", "XDG_RUNTIME_DIR", "REGDOCTOR_CONFIG_ROOT"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def mark_insecure(config_root: Path, *hostports: str) -> None:
    conf = config_root / "etc" / "containers" / "registries.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        "".join(f'[[registry]]\nlocation = "{h}"\ninsecure = true\n\n' for h in hostports)
    )


def _run_child(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int, str]:
    """(wall ms, CPU ms from the child's own rusage via ``wait4``, exit code, output)."""
    import time

    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = (out + err).decode(errors="replace")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, proc.returncode, text


def import_profile(
    argv: list[str], env: dict[str, str], cwd: Path, repeat: int = 5
) -> list[tuple[str, float]]:
    """Self time per package under ``-X importtime`` (ms, top ten): each module's minimum
    over ``repeat`` runs (a load spike inflates single figures), summed per package
    (regdoctor per subpackage). The profiler inflates every figure: read proportions."""
    least: dict[str, int] = {}
    for _ in range(repeat):
        proc = subprocess.run(
            [argv[0], "-X", "importtime", *argv[1:]],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+\d+ \| \s*(\S+)", line)
            if m:
                least[m[2]] = min(least.get(m[2], int(m[1])), int(m[1]))
    per_package: collections.Counter[str] = collections.Counter()
    for module, us in least.items():
        parts = module.split(".")
        per_package[".".join(parts[:2]) if parts[0] == "regdoctor" else parts[0]] += us
    total = sum(per_package.values())
    top = [(name, round(us / 1000, 1)) for name, us in per_package.most_common(10)]
    return [("(all imports)", round(total / 1000, 1)), *top]


def modules_imported(argv: list[str], env: dict[str, str], cwd: Path) -> int:
    # check as its own process ends with os._exit once its report is out (EXIT_AT_ONCE):
    # the count is printed there, or after main() returns (a tree without it)
    program = (
        "import os, sys, runpy\n"
        "_exit = os._exit\n"
        "def counted(code):\n"
        "    print(len(sys.modules), file=sys.stderr, flush=True)\n"
        "    _exit(code)\n"
        "os._exit = counted\n"
        f"sys.argv = {['regdoctor', *argv[3:]]!r}\n"
        "try:\n    runpy.run_module('regdoctor', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(len(sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [argv[0], "-c", program], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    return int(proc.stderr.strip().splitlines()[-1])


#: The floor of the installed check, layer by layer: each a fresh process of the installed
#: venv's python, which imports everything of the layers above it too.
LAYERS = (
    ("python -c pass (no site hooks)", ""),
    ("+ asyncio, ssl", "import asyncio, ssl"),
    ("+ httpcore, h11 (lean; no httpx)", "from regdoctor.net.lean_httpcore import httpcore"),
    ("+ pyOpenSSL (cryptography.x509 deferred)", "from regdoctor.net.lean_openssl import SSL"),
    # a piped check lays its report out without Rich since issue 16 (was rich.text, rich.cells)
    ("+ plain layout (render.plain_text, render.cells)", "import regdoctor.render.plain_text"),
    ("+ every regdoctor module the check imports", "REGDOCTOR"),
)


def layers(
    python: str, check_argv: list[str], env: dict[str, str], cwd: Path, runs: int
) -> list[tuple[str, float]]:
    """CPU median (ms) of each layer of :data:`LAYERS`, then of the whole check (the
    console script): what the installed check's time is made of."""
    listing = (
        "import sys\nfrom regdoctor.cli.main import main\n"
        f"try:\n    main({check_argv!r})\nexcept SystemExit:\n    pass\n"
        "print(' '.join(m for m in sys.modules if m.startswith('regdoctor')), file=sys.stderr)\n"
    )
    found = subprocess.run(
        [python, "-c", listing], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    own = found.stderr.strip().splitlines()[-1].split()
    programs: list[tuple[str, list[str]]] = []
    # the collector paused, as the check pauses it while it starts (cli/startup.py)
    code = "import gc; gc.disable()"
    for label, statement in LAYERS:
        if statement == "REGDOCTOR":
            statement = "import " + ", ".join(own)
        code = f"{code}\n{statement}" if statement else code
        programs.append((label, [python, "-c", code]))
    script = str(Path(python).parent / "regdoctor")
    programs.append(("the whole check (console script)", [script, *check_argv]))
    cpu: dict[str, list[float]] = {label: [] for label, _argv in programs}
    for _ in range(runs):
        for label, argv in programs:
            _wall, used, _code, _text = _run_child(argv, env, cwd)
            cpu[label].append(used)
    return [(label, round(statistics.median(times), 1)) for label, times in cpu.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--compare", default="main", help="a git ref to measure beside ('' = none)")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--layers",
        action="store_true",
        help="also measure the installed check layer by layer (what its floor is made of)",
    )
    args = parser.parse_args()

    from tests.harness.content import push_test_images
    from tests.harness.dns import DnsServer
    from tests.harness.registry import Registry, wait_all_ready

    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        root = Path(tmp)
        trees = {"this tree": REPO}
        if args.compare:
            trees[args.compare] = export_tree(args.compare, root / "compare")
        for tree in trees.values():
            compileall.compile_dir(tree / "regdoctor", quiet=1)
        scripts = {
            name: readme_install(tree, root / f"venv-{index}")
            for index, (name, tree) in enumerate(trees.items())
        }
        registry = Registry("plain", root / "registry", root / "storage")
        registry.start()
        # the same registry by name, through a loopback dnsmasq (--dns-server): what a
        # name costs a check (its DNS phase: dnspython, the A and AAAA queries)
        dns_server = DnsServer(root / "dns")
        dns_server.start()
        try:
            wait_all_ready([registry])
            import time

            deadline = time.monotonic() + 10
            while not dns_server.check_ready():
                if time.monotonic() > deadline:
                    raise RuntimeError("dnsmasq did not answer")
            push_test_images(registry.url)
            hostport = f"127.0.0.1:{registry.port}"
            named = f"registry.test:{registry.port}"
            envs = {name: isolated_env(root, tree) for name, tree in trees.items()}
            installed_env = {
                name: isolated_env(root, tree, installed=True) for name, tree in trees.items()
            }
            mark_insecure(root / "config-root", hostport, named)
            target = f"{hostport}/team/app:1.2"
            check = [py, "-m", "regdoctor", "check", target]
            series: dict[str, tuple[list[str], dict[str, str], Path]] = {
                "python -c pass": ([py, "-c", "pass"], envs["this tree"], REPO),
                "regdoctor --version": (
                    [py, "-m", "regdoctor", "--version"],
                    envs["this tree"],
                    REPO,
                ),
            }
            for name, tree in trees.items():
                series[f"regdoctor check ({name})"] = (check, envs[name], tree)
            venv_python = str(scripts["this tree"].parent / "python")
            series[f"{INSTALLED}python -c pass"] = (
                [venv_python, "-c", "pass"],
                installed_env["this tree"],
                root,
            )
            for name, script in scripts.items():
                series[f"{INSTALLED}regdoctor check ({name})"] = (
                    [str(script), "check", target],
                    installed_env[name],
                    root,
                )
            for name, script in scripts.items():
                series[f"{INSTALLED}check by name ({name})"] = (
                    [
                        str(script),
                        "check",
                        "--dns-server",
                        dns_server.server,
                        f"{named}/team/app:1.2",
                    ],
                    installed_env[name],
                    root,
                )
            for label, (argv, env, cwd) in series.items():  # warm-up, and a health check
                _wall, _cpu, code, text = _run_child(argv, env, cwd)
                if code != 0:
                    print(f"{label}: exit {code}\n{text[-2000:]}", file=sys.stderr)
                    return 3
            figures: dict[str, list[tuple[float, float]]] = {label: [] for label in series}
            for _ in range(args.runs):
                for label, (argv, env, cwd) in series.items():
                    wall, cpu, _code, _text = _run_child(argv, env, cwd)
                    figures[label].append((wall, cpu))
            results: dict[str, Any] = {"runs": args.runs, "series": {}, "imports": {}}
            for label, times in figures.items():
                results["series"][label] = {
                    "median_ms": round(statistics.median(w for w, _c in times), 1),
                    "min_ms": round(min(w for w, _c in times), 1),
                    "cpu_median_ms": round(statistics.median(c for _w, c in times), 1),
                }
            for name, tree in trees.items():
                results["imports"][name] = {
                    "modules": modules_imported(check, envs[name], tree),
                    "top": import_profile(check, envs[name], tree),
                }
                as_installed = [str(scripts[name].parent / "python"), *check[1:]]
                results["imports"][f"{INSTALLED}{name}"] = {
                    "modules": modules_imported(as_installed, installed_env[name], root),
                    "top": import_profile(as_installed, installed_env[name], root),
                }
            if args.layers:
                results["layers"] = layers(
                    venv_python, ["check", target], installed_env["this tree"], root, args.runs
                )
        finally:
            registry.stop()
            dns_server.stop()

    print(f"{'series':52s} {'median ms':>10s} {'min ms':>8s} {'CPU ms':>8s}")
    for label, row in results["series"].items():
        print(
            f"{label:52s} {row['median_ms']:10.1f} {row['min_ms']:8.1f} {row['cpu_median_ms']:8.1f}"
        )
    for name, data in results["imports"].items():
        print(f"\nimports, {name}: {data['modules']} modules in sys.modules; self ms per package")
        for package, ms in data["top"]:
            print(f"  {package:38s} {ms:8.1f}")
    if "layers" in results:
        print(f"\n{'installed check, layer by layer (CPU median)':52s} {'ms':>8s} {'added':>8s}")
        previous = 0.0
        for label, ms in results["layers"]:
            print(f"{label:52s} {ms:8.1f} {ms - previous:8.1f}")
            previous = ms
    developer = results["series"]["regdoctor check (this tree)"]["median_ms"]
    own = results["series"][f"{INSTALLED}regdoctor check (this tree)"]["median_ms"]
    met = own <= TARGET_MS
    print(
        f"\nwhole-process check, median: {developer:.1f} ms as this machine's developer "
        f"checkout runs it (its site hooks: sandbox .pth, editable finder); {own:.1f} ms "
        "as the README installs it: the verdict uses the installed figure, what a user's "
        f"`regdoctor` runs (target <= {TARGET_MS:.0f} ms: {'met' if met else 'MISSED'})"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
