"""What the issue-13 judgement and bounds cost: manifest validation, bounded YAML, and a
whole ``regdoctor check`` against a registry answering HTML for the manifest, beside
curl and skopeo doing the same request in the same run.

    PYTHONPATH=. python3 benchmarks/bench_validate.py

``validate``: :func:`regdoctor.probes.manifest_body.validate` on a typical Docker
manifest, a 30-platform OCI index, a 4 MiB manifest of 20,000 layers and 5 MiB of
garbage (truncated at the cap); the JSON parse alone (``json.loads``) is the peer.

``yaml``: :func:`regdoctor.bounded.yaml_documents_bounded` on a 200 KiB Kubernetes
file against PyYAML's own ``load_all`` (the cost of the bound), and on a billion-laughs
document (refused; PyYAML alone is not run on it: it would take minutes and GBs).

``check``: ``regdoctor check`` of an image whose manifest answer is an HTML page (a
hostile server on 127.0.0.1), against ``curl`` and ``skopeo inspect --raw`` fetching the
same manifest; wall time of each, median of 5.

Exit 0 when every validation judged as expected and the billion laughs was refused in
under a second.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any


def _best(fn: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def _descriptor(n: int) -> dict[str, Any]:
    return {
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
        "size": n,
        "digest": "sha256:" + f"{n:064x}",
    }


def bench_validate() -> bool:
    from regdoctor.probes import manifest_body as mb

    docker = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mb.DOCKER_MANIFEST,
            "config": _descriptor(1),
            "layers": [_descriptor(i) for i in range(8)],
        }
    )
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mb.OCI_INDEX,
            "manifests": [
                {**_descriptor(i), "platform": {"os": "linux", "architecture": f"a{i}"}}
                for i in range(30)
            ],
        }
    )
    big = {
        "schemaVersion": 2,
        "mediaType": mb.OCI_MANIFEST,
        "config": _descriptor(1),
        "layers": [_descriptor(i) for i in range(20_000)],
    }
    big_text = json.dumps(big)
    garbage = os.urandom(4 * 1024 * 1024)
    cases = [
        ("docker manifest, 8 layers", mb.DOCKER_MANIFEST, docker.encode(), False, True),
        ("OCI index, 30 platforms", mb.OCI_INDEX, index.encode(), False, True),
        (
            f"OCI manifest, 20,000 layers ({len(big_text) // 1024} KiB)",
            mb.OCI_MANIFEST,
            big_text.encode(),
            False,
            True,
        ),
        ("5 MiB of garbage (4 MiB read, truncated)", mb.DOCKER_MANIFEST, garbage, True, False),
        ("4 MiB of garbage, not truncated", mb.DOCKER_MANIFEST, garbage, False, False),
    ]
    ok = True
    print("| manifest answer | validate | json.loads alone | verdict |")
    print("|---|---|---|---|")
    for name, ctype, body, truncated, expected in cases:
        result = mb.validate(ctype, body, truncated=truncated)
        ok &= result.valid is expected
        took = _best(functools.partial(mb.validate, ctype, body, truncated=truncated))
        try:
            peer = f"{_best(functools.partial(json.loads, body)):.2f} ms"
        except ValueError:
            peer = "raises"
        verdict = result.kind if result.valid else result.problem
        print(f"| {name} | {took:.2f} ms | {peer} | {verdict} |")
    return ok


def bench_yaml() -> bool:
    import yaml

    from regdoctor.bounded import yaml_documents_bounded

    container = "      - {name: app%d, image: registry.test/team/app:%d, args: [a, b, c]}\n"
    doc = "kind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
    doc += "      containers:\n"
    text = "---\n".join(doc + "".join(container % (i, i) for i in range(40)) for _ in range(60))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    bounded = _best(lambda: yaml_documents_bounded(text), 3)
    plain = _best(lambda: list(yaml.load_all(text, Loader=loader)), 3)
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    laughs = "\n".join(lines) + "\n"
    start = time.perf_counter()
    try:
        yaml_documents_bounded(laughs)
        refused = False
    except yaml.YAMLError:
        refused = True
    laughs_ms = (time.perf_counter() - start) * 1000
    print()
    print("| YAML | bounded | PyYAML load_all (peer) |")
    print("|---|---|---|")
    print(f"| {len(text) // 1024} KiB, 60 Deployments | {bounded:.1f} ms | {plain:.1f} ms |")
    print(
        f"| billion laughs (9^9 strings) | {'refused' if refused else 'ACCEPTED'} in "
        f"{laughs_ms:.2f} ms | not run (minutes, GBs) |"
    )
    return refused and laughs_ms < 1000


def bench_check() -> None:
    from tests.harness import hostile

    page = b"<!DOCTYPE html><html><body>Sign in</body></html>"
    handler = hostile.on_path(
        {"/v2/team/app/manifests/": hostile.body(200, page, {"Content-Type": "text/html"})}
    )
    server = hostile.HostileServer(handler).start()
    url = f"http://{server.hostport}/v2/team/app/manifests/1"
    runs: dict[str, list[float]] = {"regdoctor check": [], "curl": [], "skopeo inspect --raw": []}
    commands = {
        "regdoctor check": [
            sys.executable,
            "-m",
            "regdoctor",
            "check",
            "--format",
            "json",
            f"http://{server.hostport}/team/app:1",
        ],
        "curl": ["curl", "-s", "-o", "/dev/null", url],
        "skopeo inspect --raw": [
            "skopeo",
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{server.hostport}/team/app:1",
        ],
    }
    codes = {}
    try:
        for _ in range(5):
            for name, argv in commands.items():
                if shutil.which(argv[0]) is None and argv[0] != sys.executable:
                    continue
                start = time.perf_counter()
                proc = subprocess.run(argv, capture_output=True, timeout=60, check=False)
                runs[name].append((time.perf_counter() - start) * 1000)
                codes[name] = proc.returncode
    finally:
        server.stop()
    print()
    print("| HTML manifest answer | wall time (median of 5) | exit | says |")
    print("|---|---|---|---|")
    says = {
        "regdoctor check": "image-manifest-invalid (error)",
        "curl": "(the page, 200)",
        "skopeo inspect --raw": "(the page; skopeo inspect without --raw fails)",
    }
    for name, times in runs.items():
        if times:
            print(f"| {name} | {statistics.median(times):.0f} ms | {codes[name]} | {says[name]} |")


def main() -> int:
    ok = bench_validate()
    ok &= bench_yaml()
    bench_check()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
