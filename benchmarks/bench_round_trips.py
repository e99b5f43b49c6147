#!/usr/bin/env python3
"""Round trips and connections of one healthy image check, regdoctor beside skopeo.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_round_trips.py [--runs N] [--json FILE]

For the harness's plain-HTTP, TLS and token registries (each behind a relay on
127.0.0.1 that counts the connections it accepts), it runs ``regdoctor check --format
json`` and ``skopeo inspect --raw`` on the same image, interleaved, ``--runs`` times
each, and prints per registry: regdoctor's critical path (``targets[].timing``: how
many round trips, which), the connections each client opened to the registry, and the
medians of regdoctor's in-process check time (``targets[].duration_ms``, start-up
excluded) and of both whole processes. Targets are IP addresses: no DNS wait (a name
adds one, A and AAAA together).

The token registry's first run is a first check (the realm hints file,
``net/realm_hints.py``, is removed before it): the realm's TCP and TLS come after the
registry's 401. Every later run is a check made again, which reaches the realm the 401
named last time beside the registry (``probes/realm_early.py``); both are printed.

Only 127.0.0.1 is dialled. Exit status: 0 when the critical path and the connection
counts are what the issue asks (plain 3 + DNS, TLS 4 + DNS, token at most 7, checked
again at most 6), the
blob storage look's one round trip included (its config blob's GET, which names a
storage host every runtime would fail at; the manifest is asked for with GET, not HEAD,
so its body names the blob without a second manifest request; the image here is
single-platform, an index's entry would cost one more): the manifest request goes beside
the first ``GET /v2/`` (anonymous; with a token, beside the authenticated one), on a
spare connected with the TCP phase's connection. At most the spare connections opened
beside it (that early spare, two where a fallback to ``http://`` may happen: the TLS
target here, on loopback; one for the optional Harbor probe; one more for that
fallback; none early with credentials: the token target), 1 otherwise, 3 when the
testbed could not start.
"""

from __future__ import annotations

import argparse
import json
import os
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

#: registry -> (the critical path expected, most regdoctor connections to it: the TCP
#: phase's and its spares, net/handover.py)
#: The blob storage look after a found single-platform manifest (probes/blob_storage.py):
#: its config blob's GET, whose redirect would name the storage host.
BLOB_LOOK = ["GET blob"]
EXPECTED: dict[str, tuple[list[str], int]] = {
    "plain": (["tcp connect", "GET /v2/", "GET manifest (beside GET /v2/)", *BLOB_LOOK], 3),
    "tls": (
        ["tcp connect", "tls handshake", "GET /v2/", "GET manifest (beside GET /v2/)", *BLOB_LOOK],
        5,
    ),
    "token": (
        [
            "tcp connect",
            "GET /v2/",
            "tcp connect",
            "tls handshake",
            "token",
            "GET /v2/ (authenticated)",
            "GET manifest (beside the authenticated GET /v2/)",
            *BLOB_LOOK,
        ],
        2,
    ),
}

#: The token registry checked again: the realm its 401 named last time (net/realm_hints.py)
#: is reached beside the registry (probes/realm_early.py). Its DNS, TCP and TLS are on
#: the path only as far as the auth probe waits for them: one entry, at most one round
#: trip (on loopback the realm's handshake is CPU, ~35 ms, and may outlast GET /v2/).
WARM_TOKEN = [
    "tcp connect",
    "GET /v2/",
    "(realm early)",
    "token",
    "GET /v2/ (authenticated)",
    "GET manifest (beside the authenticated GET /v2/)",
    *BLOB_LOOK,
]

#: With a token (and credentials: no anonymous manifest request beside the first ping),
#: the manifest GET goes out beside the authenticated ping (no round trip of its own),
#: unless the Harbor probe held a connection then (on loopback it may).
BESIDE = "GET manifest (beside the authenticated GET /v2/)"


def _early(step: str) -> bool:
    return "realm" in step and "early" in step


def _warm_path(path: list[str]) -> list[str]:
    """``path`` with the realm's early steps (``... (realm, begun early)``, ``... (realm,
    early)``, ``token realm (... reached early)``) as one ``(realm early)``."""
    out: list[str] = []
    for step in path:
        name = "(realm early)" if _early(step) else step
        if not (name == "(realm early)" and out and out[-1] == name):
            out.append(name)
    return out


def _same_path(path: list[str], expected: list[str]) -> bool:
    return path == expected or (
        BESIDE in expected and path == ["GET manifest" if s == BESIDE else s for s in expected]
    )


def _regdoctor(args: list[str], stdin: str, home: Path) -> tuple[float, dict[str, Any]]:
    env = dict(
        os.environ,
        HOME=str(home),
        NO_COLOR="1",
        DOCKER_CONFIG=str(home / "docker"),
        XDG_CACHE_HOME=str(home / ".cache"),  # where the realm hints are removed
    )
    env.pop("REGDOCTOR_NO_CACHE", None)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "regdoctor", "check", "--format", "json", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    wall = (time.monotonic() - start) * 1000
    return wall, json.loads(proc.stdout)["targets"][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write every figure as JSON")
    args = parser.parse_args(argv)

    from tests.harness.skopeo import run_skopeo_inspect
    from tests.harness.tcp_forward import Forwarder
    from tests.harness.testbed import PASSWORD, USERNAME, start_testbed

    results: dict[str, Any] = {}
    met = True
    with tempfile.TemporaryDirectory() as work, start_testbed(Path(work) / "bed") as bed:
        home = Path(work) / "home"
        cert_dir = bed.make_cert_dir(Path(work) / "certs")
        for name, (expected, max_connections) in EXPECTED.items():
            relay = Forwarder(bed.endpoints[name].port)
            ref = bed.images.app.ref(f"127.0.0.1:{relay.port}")
            reg_args = ["--ca-file", str(bed.ca_file)]
            stdin, creds = "", None
            if name == "token":
                reg_args += ["-u", USERNAME, "--password-stdin"]
                stdin, creds = PASSWORD, (USERNAME, PASSWORD)
            reg_args.append(f"http://{ref}" if name in ("plain", "token") else ref)
            figures: dict[str, list[Any]] = {
                "regdoctor_wall_ms": [],
                "regdoctor_check_ms": [],
                "regdoctor_connections": [],
                "skopeo_wall_ms": [],
                "skopeo_connections": [],
                "round_trips": [],
                "critical_path": [],
                "critical_path_steps": [],
            }
            (home / ".cache" / "regdoctor" / "realm-hints.json").unlink(missing_ok=True)
            for _ in range(args.runs):
                before = relay.accepted
                wall, target = _regdoctor(reg_args, stdin, home)
                figures["regdoctor_connections"].append(relay.accepted - before)
                figures["regdoctor_wall_ms"].append(wall)
                figures["regdoctor_check_ms"].append(target["duration_ms"])
                figures["round_trips"].append(target["timing"]["round_trips"])
                figures["critical_path"].append(
                    [s["what"] for s in target["timing"]["critical_path"]]
                )
                figures["critical_path_steps"].append(target["timing"]["critical_path"])
                before = relay.accepted
                start = time.monotonic()
                code, _ = run_skopeo_inspect(
                    ref,
                    tls_verify=name == "tls",
                    cert_dir=cert_dir if name == "tls" else None,
                    creds=creds,
                    timeout_s=20,
                )
                figures["skopeo_wall_ms"].append((time.monotonic() - start) * 1000)
                figures["skopeo_connections"].append(relay.accepted - before)
                if code != 0:
                    print(f"skopeo failed on {name}", file=sys.stderr)
                    met = False
            relay.close()
            results[name] = figures
            path = figures["critical_path"][0]
            paths = figures["critical_path"]
            warm = [_warm_path(p) for p in paths[1:]] if name == "token" else []
            ok = (
                all(_same_path(p, expected) for p in (paths[:1] if warm else paths))
                and all(_same_path(p, WARM_TOKEN) for p in warm)
                and all(c <= max_connections for c in figures["regdoctor_connections"])
            )
            met &= ok
            if warm:
                # the first run had no hint (the file was removed before it): as a first check
                trips = figures["round_trips"]
                realm = [
                    sum(s["round_trips"] for s in steps if _early(s["what"]))
                    for steps in figures["critical_path_steps"][1:]
                ]
                print(
                    f"{name:6s} first check (no hint): round trips {trips[0]} ({', '.join(path)})"
                )
                print(
                    f"{name:6s} checked again: round trips {statistics.median(trips[1:]):g} "
                    f"(the realm's early steps: {sorted(set(realm))} round trips on the path; "
                    f"{', '.join(paths[1])})"
                )
                path = paths[1]
            print(
                f"{name:6s} round trips {statistics.median(figures['round_trips']):g} "
                f"({', '.join(path)}); connections regdoctor "
                f"{sorted(set(figures['regdoctor_connections']))} skopeo "
                f"{sorted(set(figures['skopeo_connections']))}; medians ms: regdoctor check "
                f"{statistics.median(figures['regdoctor_check_ms']):.1f}, process "
                f"{statistics.median(figures['regdoctor_wall_ms']):.1f}; skopeo process "
                f"{statistics.median(figures['skopeo_wall_ms']):.1f}"
                + ("" if ok else "  <- MISSED")
            )
    results["load_average"] = os.getloadavg()
    print(f"1-min load average at the end: {results['load_average'][0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0 if met else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RuntimeError) as exc:
        print(f"bench_round_trips: cannot run: {exc}", file=sys.stderr)
        sys.exit(3)
