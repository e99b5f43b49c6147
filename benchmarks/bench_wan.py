#!/usr/bin/env python3
"""One image check over a slow link: ``regdoctor check`` beside ``skopeo inspect --raw``,
in one run, at 50 and 150 ms round trip.

Run from the repository root, as root (network namespaces)::

    PYTHONPATH=. python benchmarks/bench_wan.py [--runs 7] [--rtt-ms 50 150] [--json F]
                                                [--compare REF] [--developer]
                                                [--first-check]

Two network namespaces joined by a veth pair, a delaying TCP proxy in the registry's
namespace (``benchmarks/wan.py``: this kernel has no netem), and inside that namespace
real ``docker-registry`` processes and the harness's token server:

- ``plain``: an HTTP registry, no auth. regdoctor ``--insecure``; skopeo
  ``--tls-verify=false`` (both try HTTPS first, then plain HTTP, as the runtimes do).
- ``tls_token``: TLS (the test CA) and token auth whose realm is another name behind the
  same slow link. regdoctor ``--ca-file CA -u tester --password-stdin``; skopeo
  ``--cert-dir`` (the CA as ``ca.crt``) ``--creds``, an empty registries.conf.

Names (``wan.registry.test``, ``auth.registry.test``) resolve through a dnsmasq on
127.0.0.1:53 of the client namespace, which both clients reach through their own
``/etc/resolv.conf`` (a private mount namespace; ``/etc/hosts`` there names localhost
only). Every command runs through the same wrapper (``nsenter`` + ``unshare`` + ``sh``);
its cost is the ``wrapper floor`` row.

regdoctor runs as the README installs it: the tree ``pip install``-ed into a venv of its
own, its ``regdoctor`` console script (``bench_startup.readme_install``: the venv's site
runs no ``.pth`` hook, as on a user's machine; this machine's own site runs a sandbox
hook that costs ~30 ms at every interpreter start, and an editable finder). With
``--developer`` the checkout's ``python -m regdoctor`` with this machine's site runs too
(``regdoctor check (developer checkout), ...`` rows, ratio without a target).

With ``--compare REF`` (a commit, exported with ``git archive``), that tree's check runs
too, installed the same way, interleaved with the others (``regdoctor check (REF), ...``
rows, with their own ratio): a change's effect measured side by side, which a loaded
machine spoils less than two runs.

regdoctor's runs are checks made again (the warm-up is the first): the token realm the
registry named last time is reached beside the registry (``probes/realm_early.py``).
``--first-check`` removes that hint before every run (each run a first check).

For each round trip: one warm-up and health check of every command, then ``--runs``
rounds, interleaved (floor, regdoctor, skopeo per variant), medians, and the ratio
regdoctor / skopeo. The targets are against ``skopeo inspect --raw`` (the manifest
only); ``skopeo inspect --no-tags`` (the manifest and its config blob, what check also
reads since its blob-storage look) is run beside it with a ratio of its own, no target.
Also the TCP connections each command opened through the proxy, and each command's time
on the link (the proxy's first client byte to the last byte it delivered back; in round
trips too): the network part, which a loaded CPU inflates far
less than the whole process (its start-up), with its own ratio.

Exit status: 0 when every ratio meets its target (at most 1.2 at 50 ms, 1.0 at 150 ms;
other round trips are reported without a target), 1 when one is missed, 3 when it could
not run.
"""

from __future__ import annotations

import argparse
import compileall
import http.client
import json
import os
import secrets
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from wan import (  # noqa: E402
    REGISTRY_ADDRESS,
    DelayProxy,
    NetnsPair,
    dnsmasq_argv,
    in_netns,
    write_client_etc,
)

REGISTRY_NAME = "wan.registry.test"
AUTH_NAME = "auth.registry.test"
PLAIN_PORT, TLS_PORT, TOKEN_PORT = 5000, 5443, 5001
UPSTREAM = {PLAIN_PORT: 15000, TLS_PORT: 15443}
USERNAME = "tester"
TARGETS = {50: 1.2, 150: 1.0}
IMAGE = "team/app:1.2"


@dataclass
class Command:
    label: str
    variant: str
    argv: list[str]
    env: dict[str, str]
    stdin: bytes | None = None
    #: where it runs: ``python -m`` puts the working directory first on ``sys.path``, so
    #: a --compare tree's check runs from that tree
    cwd: Path = REPO


def tools_missing() -> list[str]:
    needed = ("ip", "nsenter", "unshare", "dnsmasq", "skopeo", "docker-registry")
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root (network namespaces)")
    return missing


def _answers(port: int, tls: bool) -> bool:
    conn: http.client.HTTPConnection
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=1, context=ctx)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/v2/")
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _resolves(pair: NetnsPair) -> bool:
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.lifetime = 0.5
    try:
        with in_netns(pair.client):
            answer = resolver.resolve(REGISTRY_NAME, "A")
    except dns.exception.DNSException:
        return False
    return any(r.address == REGISTRY_ADDRESS for r in answer)


def start_peers(root: Path, pair: NetnsPair, password: str) -> tuple[list[Any], Any, Path]:
    """Registries and token server in the registry namespace, dnsmasq in the client's.
    Returns (processes, token server, CA file)."""
    from tests.harness import procs
    from tests.harness.content import push_test_images
    from tests.harness.pki import generate_pki
    from tests.harness.registry import RegistryOptions, TokenAuthConfig, build_config
    from tests.harness.token_server import ISSUER, SERVICE, TokenServer, make_signing_key

    pki = generate_pki(root / "pki")
    signing = make_signing_key(root / "token")
    token = TokenServer(
        tls=pki.leaves["valid"], signing=signing, username=USERNAME, password=password
    )
    with in_netns(pair.registry):  # its listening socket lives there
        token.start()
    realm = f"https://{AUTH_NAME}:{TOKEN_PORT}/token"
    options = {
        PLAIN_PORT: RegistryOptions(),
        TLS_PORT: RegistryOptions(
            tls=pki.leaves["valid"],
            token=TokenAuthConfig(
                realm=realm, service=SERVICE, issuer=ISSUER, rootcertbundle=signing.rootcertbundle
            ),
        ),
    }
    processes = []
    for port, opts in options.items():
        workdir = root / f"registry-{port}"
        workdir.mkdir()
        config = workdir / "config.yml"
        config.write_text(
            yaml.safe_dump(build_config(UPSTREAM[port], root / "storage", opts), sort_keys=False)
        )
        argv = pair.exec_argv(pair.registry, ["docker-registry", "serve", str(config)])
        processes.append(procs.spawn(argv, workdir / "registry.log", procs.clean_env(workdir)))
    dns_dir = root / "dns"
    dns_dir.mkdir()
    records = {REGISTRY_NAME: REGISTRY_ADDRESS, AUTH_NAME: REGISTRY_ADDRESS}
    processes.append(
        procs.spawn(
            pair.exec_argv(pair.client, dnsmasq_argv(dns_dir, records)),
            dns_dir / "dnsmasq.log",
            procs.clean_env(dns_dir),
        )
    )

    def ready(port: int) -> bool:
        with in_netns(pair.registry):
            return _answers(UPSTREAM[port], tls=port == TLS_PORT)

    procs.poll_all(
        {
            "plain registry": lambda: ready(PLAIN_PORT),
            "TLS token registry": lambda: ready(TLS_PORT),
            "dnsmasq": lambda: _resolves(pair),
        },
        timeout_s=20,
    )
    with in_netns(pair.registry):  # both registries share the storage
        push_test_images(f"http://127.0.0.1:{UPSTREAM[PLAIN_PORT]}")
    return processes, token, pki.ca_file


def regdoctor_env(root: Path, tree: Path = REPO, *, installed: bool = False) -> dict[str, str]:
    home = root / "rd-home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "DOCKER_CONFIG": str(home / ".docker"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        # one rule cache per tree: two trees' catalogs would replace each other's
        # cache file on every run and each would compile its rules every time
        # (and one for an installed copy: its rule files' paths differ from the checkout's)
        "XDG_CACHE_HOME": str(
            home
            / ((".cache" if tree == REPO else f".cache-{tree.name}") + ("-installed" * installed))
        ),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "REGISTRY_AUTH_FILE": str(home / "run" / "auth.json"),
        "REGDOCTOR_CONFIG_ROOT": str(root / "rd-config-root"),
        "NO_COLOR": "1",
    }
    if not installed:
        env["PYTHONPATH"] = str(tree)
    for key in ("DOCKER_CONFIG", "XDG_RUNTIME_DIR", "REGDOCTOR_CONFIG_ROOT"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def commands(
    root: Path,
    pair: NetnsPair,
    ca_file: Path,
    password: str,
    scripts: dict[str, tuple[Path, Path]],
    developer: bool,
) -> list[Command]:
    """``scripts``: label ("" for this tree, else the --compare REF) -> (the tree, its
    console script as the README installs it)."""
    from tests.harness import procs
    from tests.harness.skopeo import skopeo_argv

    etc = write_client_etc(root / "client-etc")
    rd_env = regdoctor_env(root)
    check = ["check", "--format", "json", "--timeout", "10"]
    cert_dir = root / "skopeo-certs"
    cert_dir.mkdir()
    shutil.copy(ca_file, cert_dir / "ca.crt")
    out: list[Command] = [Command("wrapper floor", "-", ["true"], rd_env)]
    for variant, port in (("plain", PLAIN_PORT), ("tls_token", TLS_PORT)):
        image = f"{REGISTRY_NAME}:{port}/{IMAGE}"
        if variant == "plain":
            rd = [*check, "--insecure", image]
            stdin = None
        else:
            rd = [*check, "--ca-file", str(ca_file), "-u", USERNAME, "--password-stdin", image]
            stdin = password.encode()
        home = root / f"skopeo-{variant}"
        (home / "run").mkdir(parents=True, mode=0o700)
        skopeo = skopeo_argv(
            home,
            ["inspect", "--raw", f"docker://{image}"],
            tls_verify=variant != "plain",
            cert_dir=None if variant == "plain" else cert_dir,
            creds=None if variant == "plain" else (USERNAME, password),
            timeout_s=30,
        )
        sk_env = procs.clean_env(
            home,
            {
                "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_RUNTIME_DIR": str(home / "run"),
                "XDG_CACHE_HOME": str(home / ".cache"),
                "DOCKER_CONFIG": str(home / ".docker"),
                "REGISTRY_AUTH_FILE": str(home / "auth.json"),
            },
        )
        for ref, (tree, script) in scripts.items():
            label = f"regdoctor check ({ref}), {variant}" if ref else f"regdoctor check, {variant}"
            env = regdoctor_env(root, tree, installed=True)
            out.append(Command(label, variant, [str(script), *rd], env, stdin, root))
        if developer:  # python -m from the checkout, with this machine's site (.pth hooks)
            label = f"regdoctor check (developer checkout), {variant}"
            argv = [sys.executable, "-m", "regdoctor", *rd]
            out.append(Command(label, variant, argv, rd_env, stdin))
        out.append(Command(f"skopeo inspect --raw, {variant}", variant, skopeo, sk_env))
        # the same manifest plus the config blob (what check reads since its blob-storage
        # look): a peer doing the same work, beside the issue's --raw
        config = skopeo_argv(
            home,
            ["inspect", "--no-tags", f"docker://{image}"],
            tls_verify=variant != "plain",
            cert_dir=None if variant == "plain" else cert_dir,
            creds=None if variant == "plain" else (USERNAME, password),
            timeout_s=30,
        )
        out.append(Command(f"skopeo inspect --no-tags, {variant}", variant, config, sk_env))
    for command in out:
        command.argv = pair.client_argv(command.argv, etc)
    return out


#: ``--first-check``: every regdoctor run is a first check of the registry (its realm
#: hints file removed before it), not one made again.
FIRST_CHECK = False


def forget_realms(command: Command) -> None:
    """Remove the realm hints (net/realm_hints.py) a regdoctor command would read."""
    cache = command.env.get("XDG_CACHE_HOME")
    if cache and command.label.startswith("regdoctor"):
        (Path(cache) / "regdoctor" / "realm-hints.json").unlink(missing_ok=True)


def run_once(command: Command) -> tuple[float, int, str, float]:
    """(wall ms, exit code, stdout + stderr, CPU ms) of one run. The CPU time is the
    user + system time of the command and its wrapper (``resource``'s children)."""
    import resource

    if FIRST_CHECK:
        forget_realms(command)

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        command.argv,
        input=command.stdin,
        env=command.env,
        cwd=command.cwd,
        capture_output=True,
        timeout=120,
        check=False,
    )
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime) * 1000
    return wall, proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace"), cpu


def healthy(command: Command, code: int, text: str) -> str | None:
    """Why a warm-up run does not count as a healthy check (None when it does)."""
    if command.label.startswith("regdoctor"):
        try:
            report = json.loads(text[: text.rindex("}") + 1])
        except ValueError:
            return f"exit {code}, no JSON: {text[-1500:]}"
        statuses = {t["target"]: t["status"] for t in report.get("targets", [])}
        image_ok = any(
            p.get("name") == "image" and p.get("status") == "ok"
            for t in report.get("targets", [])
            for p in t.get("phases", [])
        )
        if "error" in statuses.values() or not image_ok:
            return f"exit {code}, statuses {statuses}, image phase ok: {image_ok}"
        return None
    return None if code == 0 else f"exit {code}: {text[-1500:]}"


def critical_path(text: str) -> tuple[int, list[str]]:
    """regdoctor's critical path from its JSON: round trips, and each wait with its own."""
    report = json.loads(text[: text.rindex("}") + 1])
    timing = report["targets"][0]["timing"]
    steps = [f"{s['what']} ({s['round_trips']})" for s in timing["critical_path"]]
    return int(timing["round_trips"]), steps


def phase_durations(text: str) -> dict[str, float]:
    """regdoctor's own per-phase durations (ms) from its JSON, and its in-process total."""
    report = json.loads(text[: text.rindex("}") + 1])
    target = report["targets"][0]
    phases = {p["name"]: round(p["duration_ms"], 1) for p in target["phases"]}
    return {**phases, "in-process total": round(report["duration_ms"], 1)}


def measure(cmds: list[Command], proxy: DelayProxy, rtt_ms: float, runs: int) -> dict[str, Any]:
    proxy.rtt_s = rtt_ms / 1000
    rows: dict[str, Any] = {}
    for command in cmds:  # warm-up and health check
        before = proxy.connections
        _wall, code, text, _cpu = run_once(command)
        problem = healthy(command, code, text)
        if problem is not None:
            raise RuntimeError(
                f"{command.label} at {rtt_ms:g} ms is not a healthy check: {problem}"
            )
        rows[command.label] = {"walls": [], "cpus": [], "connections": proxy.connections - before}
        if command.label.startswith("regdoctor"):
            rows[command.label]["phases_ms"] = phase_durations(text)
    in_process: dict[str, list[float]] = {c.label: [] for c in cmds}
    paths: dict[str, list[tuple[int, list[str]]]] = {c.label: [] for c in cmds}
    spans: dict[str, list[float]] = {c.label: [] for c in cmds}
    for _ in range(runs):
        for command in cmds:
            proxy.mark()
            wall, _code, text, cpu = run_once(command)
            rows[command.label]["walls"].append(wall)
            rows[command.label]["cpus"].append(cpu)
            span = proxy.span_ms()
            if span is not None:
                spans[command.label].append(span)
            if command.label.startswith("regdoctor"):
                in_process[command.label].append(phase_durations(text)["in-process total"])
                paths[command.label].append(critical_path(text))
    for label, row in rows.items():
        row["median_ms"] = round(statistics.median(row["walls"]), 1)
        row["walls"] = [round(w, 1) for w in row["walls"]]
        # user + system CPU of the process (and its wrapper: see the floor row)
        row["cpu_median_ms"] = round(statistics.median(row.pop("cpus")), 1)
        if in_process[label]:
            # regdoctor's own duration_ms: the check without interpreter start and imports
            row["in_process_median_ms"] = round(statistics.median(in_process[label]), 1)
            # by name (DNS included), on the slow link: what the issue's targets count
            row["critical_path_round_trips"] = [trips for trips, _ in paths[label]]
            row["critical_path_last"] = paths[label][-1][1]
        if spans[label]:
            # first byte in to last byte out at the proxy: the time on the link, in
            # round trips, what a loaded CPU inflates least
            row["link_span_median_ms"] = round(statistics.median(spans[label]), 1)
            row["link_span_rtts"] = round(row["link_span_median_ms"] / rtt_ms, 2)
    for variant in ("plain", "tls_token"):
        sk_row = rows[f"skopeo inspect --raw, {variant}"]
        for label, rd_row in rows.items():
            if not (label.startswith("regdoctor check") and label.endswith(f", {variant}")):
                continue
            rd_row["ratio"] = round(rd_row["median_ms"] / sk_row["median_ms"], 2)
            same_work = rows.get(f"skopeo inspect --no-tags, {variant}")
            if same_work is not None:
                rd_row["ratio_config"] = round(rd_row["median_ms"] / same_work["median_ms"], 2)
            if "link_span_median_ms" in rd_row and "link_span_median_ms" in sk_row:
                rd_row["link_span_ratio"] = round(
                    rd_row["link_span_median_ms"] / sk_row["link_span_median_ms"], 2
                )
    return rows


def print_table(results: dict[str, Any]) -> None:
    print(
        f"{'RTT':>5s}  {'command':34s} {'median ms':>10s} {'cpu ms':>7s} {'conns':>6s} "
        f"{'ratio':>6s}  target"
    )
    for rtt, rows in results["rtt"].items():
        target = TARGETS.get(int(float(rtt)))
        load = results.get("load_average", {}).get(rtt)
        for label, row in rows.items():
            ratio = row.get("ratio")
            verdict = ""
            if ratio is not None and target is not None:
                verdict = f"<= {target}: {'met' if ratio <= target else 'MISSED'}"
            ratio_s = f"{ratio:.2f}" if ratio is not None else ""
            print(
                f"{rtt:>5s}  {label:34s} {row['median_ms']:10.1f} {row['cpu_median_ms']:7.1f} "
                f"{row['connections']:6d} {ratio_s:>6s}  {verdict}"
            )
            if "link_span_median_ms" in row:
                versus = (
                    f", {row['link_span_ratio']:.2f}x skopeo's" if "link_span_ratio" in row else ""
                )
                print(
                    f"{'':7s}  (on the link, first byte in to last byte out, median: "
                    f"{row['link_span_median_ms']:g} ms = {row['link_span_rtts']:g} round trips"
                    f"{versus})"
                )
            if "ratio_config" in row:
                print(
                    f"{'':7s}  (vs skopeo inspect --no-tags, the manifest and its config "
                    f"blob: {row['ratio_config']:.2f}x)"
                )
            if "in_process_median_ms" in row:
                print(f"{'':7s}  (in-process duration_ms, median: {row['in_process_median_ms']:g})")
            if row.get("critical_path_round_trips"):
                trips = row["critical_path_round_trips"]
                print(
                    f"{'':7s}  (critical path by name, round trips per run: "
                    f"{', '.join(map(str, trips))}; the last: "
                    f"{', '.join(row['critical_path_last'])})"
                )
            if "phases_ms" in row:
                phases = ", ".join(f"{k} {v:g}" for k, v in row["phases_ms"].items())
                print(f"{'':7s}  (warm-up phases, ms: {phases})")
        if load:
            print(f"{'':7s}  (1-min load average before and after: {load[0]}, {load[1]})")


def stop_peers(proxy: Any, token: Any, processes: list[Any], pair: NetnsPair) -> None:
    """Stop what :func:`start_peers` and the delay proxy started, and remove the
    namespaces (each of ``proxy`` and ``token`` may be None: not started)."""
    from tests.harness import procs

    if proxy is not None:
        proxy.stop()
    if token is not None:
        token.stop()
    for proc in processes:
        procs.stop(proc)
    pair.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rtt-ms", type=float, nargs="+", default=[50.0, 150.0])
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--compare", metavar="REF", help="also run this commit's check, interleaved (no target)"
    )
    parser.add_argument(
        "--developer",
        action="store_true",
        help="also run this checkout's `python -m regdoctor` (this machine's site and its"
        " .pth hooks), interleaved (no target)",
    )
    parser.add_argument(
        "--first-check",
        action="store_true",
        help="every regdoctor run a first check of the registry: its realm hints"
        " (net/realm_hints.py) removed before each run (default: checked again, the"
        " realm the registry named last time reached beside it)",
    )
    args = parser.parse_args(argv)
    global FIRST_CHECK
    FIRST_CHECK = args.first_check
    missing = tools_missing()
    if missing:
        print(f"bench_wan: cannot run, missing: {', '.join(missing)}", file=sys.stderr)
        return 3
    compileall.compile_dir(REPO / "regdoctor", quiet=1)
    password = secrets.token_urlsafe(12)
    pair = NetnsPair()
    processes: list[Any] = []
    token = proxy = None
    results: dict[str, Any] = {"runs": args.runs, "rtt": {}, "load_average": {}}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-wan-") as tmp:
            root = Path(tmp)
            pair.open()
            processes, token, ca_file = start_peers(root, pair, password)
            proxy = DelayProxy(
                pair.registry,
                {PLAIN_PORT: UPSTREAM[PLAIN_PORT], TLS_PORT: UPSTREAM[TLS_PORT],
                 TOKEN_PORT: token.port},
            )  # fmt: skip
            proxy.start()
            from bench_startup import export_tree, readme_install

            # each tree as the README installs it (its console script, in a venv whose
            # site runs no .pth hook: what a user's `regdoctor` runs)
            scripts = {"": (REPO, readme_install(REPO, root / "venv-this"))}
            if args.compare:
                tree = export_tree(args.compare, root / "compare")
                scripts[args.compare] = (tree, readme_install(tree, root / "venv-compare"))
            cmds = commands(root, pair, ca_file, password, scripts, args.developer)
            for rtt in args.rtt_ms:
                load = os.getloadavg()[0]
                results["rtt"][f"{rtt:g}"] = measure(cmds, proxy, rtt, args.runs)
                # the 1-min load average before and after the round trip's rows
                results["load_average"][f"{rtt:g}"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as exc:
        print(f"bench_wan: cannot run: {exc}", file=sys.stderr)
        return 3
    finally:
        stop_peers(proxy, token, processes, pair)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    missed = [
        f"{rtt} ms {label}"
        for rtt, rows in results["rtt"].items()
        for label, row in rows.items()
        if "ratio" in row
        and label.startswith("regdoctor check,")  # this tree's, not --compare's
        and int(float(rtt)) in TARGETS
        and row["ratio"] > TARGETS[int(float(rtt))]
    ]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
