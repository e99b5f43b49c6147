#!/usr/bin/env python3
"""Where one check's CPU falls on the critical path over a slow link: a timeline of the
regdoctor process in ``bench_wan.py``'s set-up (the same namespaces, delaying proxy,
registries, token server and dnsmasq), per window between two steps of the TLS + token
check.

Run from the repository root, as root (network namespaces)::

    PYTHONPATH=. python benchmarks/timeline_wan.py [--runs 9] [--rtt-ms 50] [--compare REF]
                                                   [--first-check]

Each run is ``python -c PROGRAM`` from the tree (its checkout, or ``REF`` exported with
``git archive``), with ``PYTHONPATH`` the tree, interleaved between the trees. PROGRAM
runs ``regdoctor check`` (``bench_wan``'s ``tls_token`` command) with two hooks: each
event-loop callback's CPU time (``time.thread_time``, its start on the wall clock) and
each ``send``/``recv`` on a socket (the port it talks to). Per run it writes them out
before the process ends, and the medians are printed per window:

- start-up and DNS: from the program's start to the last DNS answer before the
  ClientHello;
- DNS answer -> ClientHello (the TCP connect is in it: on this link the proxy holds the
  first bytes one round trip after the connect, so CPU spent here is free up to that);
- ServerHello -> the next bytes sent (Finished and ``GET /v2/``);
- the 401 -> the realm's ClientHello (its DNS and connect are in it);
- the realm's ServerHello -> the token request;
- the token -> the authenticated ``GET /v2/``;
- the last answer -> the end of the process (the verdicts, the report's rendering).

Without ``--first-check`` each run is a check made again: the realm named last time is
reached beside the registry (``probes/realm_early.py``), so the realm's windows may be
empty (its ClientHello before the 401). ``--first-check`` removes the realm hints before
every run.

Wall time per window, and the CPU of the loop's callbacks in it (a window whose wall time
is well above its callbacks' CPU waited: on the network, a DNS server, or the GIL a
worker thread held). Also the process's CPU split into the main thread's and the other
threads' (the idle worker, the trust store's loader, the warm import). Timings include
the hooks' own cost (a few percent).
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_wan as bw  # noqa: E402
from wan import DelayProxy, NetnsPair, write_client_etc  # noqa: E402

PROGRAM = r"""
import asyncio.events, json, socket, sys, time
T0, OUT, events = time.perf_counter(), sys.argv[1], []
MAIN0 = time.thread_time()
CPU0 = time.process_time()
sys.argv = ["regdoctor", *sys.argv[2:]]
run = asyncio.events.Handle._run
def timed(self):
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        return run(self)
    finally:
        events.append(("cb", wall - T0, time.thread_time() - cpu, ""))
asyncio.events.Handle._run = timed
def hook(name):
    real = getattr(socket.socket, name)
    def traced(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        try:
            peer = self.getpeername()
            where = str(peer[1]) if isinstance(peer, tuple) else "unix"
        except (OSError, IndexError):
            where = "?"
        events.append((name, time.perf_counter() - T0, 0.0, where))
        return out
    setattr(socket.socket, name, traced)
for name in ("send", "recv", "recv_into", "sendto", "recvfrom"):
    hook(name)
import regdoctor.cli.main as cli
exit_at_once = cli._exit_at_once
def done(code):
    with open(OUT, "w") as f:
        json.dump({"wall": time.perf_counter() - T0, "cpu": time.process_time() - CPU0,
                   "main": time.thread_time() - MAIN0, "events": events}, f)
    exit_at_once(code)
cli._exit_at_once = done
cli.main()
"""

WINDOWS = (
    "start-up and DNS",
    "DNS answer -> ClientHello",
    "ServerHello -> Finished + GET /v2/",
    "401 -> realm ClientHello",
    "realm ServerHello -> token request",
    "token -> authenticated GET /v2/",
    "last answer -> exit",
)


def windows(run: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """(wall ms, loop callbacks' CPU ms) per window of one run."""
    registry, realm = str(bw.TLS_PORT), str(bw.TOKEN_PORT)
    io = [(t, kind, where) for kind, t, _cpu, where in run["events"] if kind != "cb"]

    def first(kinds: tuple[str, ...], port: str, after: float) -> float:
        return next(t for t, kind, where in io if t > after and kind in kinds and where == port)

    sent, got = ("send",), ("recv", "recv_into")
    hello = first(sent, registry, -1.0)
    dns = max(t for t, kind, _ in io if kind == "recvfrom" and t < hello)
    server_hello = first(got, registry, hello)
    finished = first(sent, registry, server_hello)
    # the first answer after GET /v2/ is the 401 (the token variant has credentials:
    # no manifest request beside it)
    unauthorized = first(got, registry, finished)
    # a check made again reached the realm early: its handshake may precede the 401
    realm_hello = first(sent, realm, -1.0)
    realm_server_hello = first(got, realm, realm_hello)
    realm_hello = max(realm_hello, unauthorized)
    realm_server_hello = max(realm_server_hello, unauthorized)
    token_request = first(sent, realm, realm_server_hello)
    token = first(got, realm, token_request)
    authenticated = first(sent, registry, token)
    last = max(t for t, kind, where in io if kind in got and where == registry)
    spans = (
        (0.0, dns),
        (dns, hello),
        (server_hello, finished),
        (unauthorized, realm_hello),
        (realm_server_hello, token_request),
        (token, authenticated),
        (last, run["wall"]),
    )
    out = {}
    for name, (start, end) in zip(WINDOWS, spans, strict=True):
        cpu = sum(c for kind, t, c, _ in run["events"] if kind == "cb" and start <= t < end)
        out[name] = ((end - start) * 1000, cpu * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    parser.add_argument("--compare", metavar="REF", help="also this commit's check, interleaved")
    parser.add_argument(
        "--first-check",
        action="store_true",
        help="remove the realm hints (net/realm_hints.py) before every run",
    )
    args = parser.parse_args(argv)
    missing = bw.tools_missing()
    if missing:
        print(f"timeline_wan: cannot run, missing: {', '.join(missing)}", file=sys.stderr)
        return 3
    password = secrets.token_urlsafe(12)
    pair = NetnsPair()
    processes: list[Any] = []
    token = proxy = None
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="timeline-wan-") as tmp:
            root = Path(tmp)
            pair.open()
            processes, token, ca_file = bw.start_peers(root, pair, password)
            routes = {port: bw.UPSTREAM[port] for port in (bw.PLAIN_PORT, bw.TLS_PORT)}
            proxy = DelayProxy(pair.registry, {**routes, bw.TOKEN_PORT: token.port})
            proxy.start()
            proxy.rtt_s = args.rtt_ms / 1000
            trees = {"this tree": REPO}
            if args.compare:
                from bench_startup import export_tree

                trees[args.compare] = export_tree(args.compare, root / "compare")
            etc = write_client_etc(root / "client-etc")
            image = f"{bw.REGISTRY_NAME}:{bw.TLS_PORT}/{bw.IMAGE}"
            check = ["check", "--format", "json", "--timeout", "10", "--ca-file", str(ca_file)]
            check += ["-u", bw.USERNAME, "--password-stdin", image]
            for round_ in range(args.runs + 1):  # the first round fills the rule caches
                for label, tree in trees.items():
                    out = root / f"run-{len(results.get(label, []))}-{tree.name}.json"
                    argv_ = [sys.executable, "-c", PROGRAM, str(out), *check]
                    env = bw.regdoctor_env(root, tree)
                    if args.first_check:
                        hints = Path(env["XDG_CACHE_HOME"]) / "regdoctor" / "realm-hints.json"
                        hints.unlink(missing_ok=True)
                    proc = subprocess.run(
                        pair.client_argv(argv_, etc),
                        input=password.encode(),
                        env=env,
                        cwd=tree,
                        capture_output=True,
                        timeout=120,
                        check=False,
                    )
                    problem = bw.healthy(
                        bw.Command(f"regdoctor {label}", "tls_token", [], {}),
                        proc.returncode,
                        proc.stdout.decode(errors="replace"),
                    )
                    if problem is not None:
                        raise RuntimeError(f"{label}: not a healthy check: {problem}")
                    if round_:
                        results.setdefault(label, []).append(json.loads(out.read_text()))
                time.sleep(0.05)
    except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as exc:
        print(f"timeline_wan: cannot run: {exc}", file=sys.stderr)
        return 3
    finally:
        bw.stop_peers(proxy, token, processes, pair)
    for label, runs in results.items():
        wall = statistics.median(r["wall"] for r in runs) * 1000
        cpu = statistics.median(r["cpu"] for r in runs) * 1000
        main_ = statistics.median(r["main"] for r in runs) * 1000
        other = statistics.median(r["cpu"] - r["main"] for r in runs) * 1000
        print(
            f"{label} ({len(runs)} runs at {args.rtt_ms:g} ms, medians): {wall:.1f} ms from "
            f"the program's start to its end, CPU {cpu:.1f} ms = main thread {main_:.1f} "
            f"+ other threads {other:.1f}"
        )
        per = [windows(r) for r in runs]
        for name in WINDOWS:
            w = statistics.median(p[name][0] for p in per)
            c = statistics.median(p[name][1] for p in per)
            print(f"  {name:36s} wall {w:6.1f} ms   loop callbacks' CPU {c:6.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
