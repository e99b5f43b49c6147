"""``regdoctor bench``: per-endpoint latency and layer throughput, a ranking, and
``perf.slow`` findings (see docs/tags.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable

from regdoctor.cli.errors import say_error
from regdoctor.model import ExitCode, TargetReport, worst_status


def run(args: argparse.Namespace) -> int:
    from regdoctor.cli.check import UsageError, build_options
    from regdoctor.reference import ReferenceError

    try:
        options = build_options(args)
        platform = options.platforms[0] if options.platforms else "linux/amd64"
        from regdoctor.tags.bench import BenchOptions

        bench_options = BenchOptions(
            image=args.image,
            via=tuple(args.via),
            have=args.have,
            bytes=args.bytes,
            min_throughput_mbps=args.min_throughput,
            platform=platform,
        )
    except (UsageError, ReferenceError) as exc:
        say_error("bench", exc)
        return int(ExitCode.CANNOT_RUN)
    from rich.console import Console

    from regdoctor.tags.bench import observations, run_bench

    console = Console(highlight=False, stderr=True)
    show_progress = args.format == "plain" and not args.no_progress
    try:
        if show_progress:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=console,
                transient=False,
            ) as progress:

                def factory(name: str, total: int) -> Callable[[int], None]:
                    task = progress.add_task(name, total=total)
                    return lambda n: progress.advance(task, n)

                results = asyncio.run(
                    run_bench(
                        bench_options, options, insecure=args.insecure, progress_factory=factory
                    )
                )
        else:
            results = asyncio.run(run_bench(bench_options, options, insecure=args.insecure))
    except (ReferenceError, ValueError) as exc:
        say_error("bench", exc)
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.engine import evaluate, load_catalog

    catalog = load_catalog()
    reports = []
    for result, observation in zip(results, observations(results, bench_options), strict=True):
        session_obs = list(result.session.observations) if result.session else []
        all_obs = [*session_obs, observation]
        reports.append(
            TargetReport(
                target=result.target,
                endpoint={"role": result.role},
                phases=(),
                observations=tuple(all_obs),
                findings=tuple(evaluate(catalog, result.target, all_obs)),
                duration_ms=0.0,
            )
        )
    findings = [f for r in reports for f in r.findings]
    status = worst_status(findings)
    code = {"error": 2, "warning": 1, "ok": 0}[status]
    ranked = sorted(
        (r.observations[-1].facts for r in reports),
        key=lambda f: -(f.get("throughput_mbps") or 0.0),
    )
    if args.format == "json":
        from regdoctor.redact import redact

        document = {
            "schema": "regdoctor.bench/v1",
            "image": args.image,
            "status": status,
            "exit_code": code,
            "endpoints": [dict(r.observations[-1].facts) for r in reports],
            "ranking": [f["endpoint"] for f in ranked],
            "findings": [f.to_dict() for f in findings],
        }
        print(redact(json.dumps(document, indent=1)))
        return code
    _plain(Console(highlight=False), ranked, findings, reports)
    return code


def _plain(console, ranked, findings, reports) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from regdoctor.render.escape import text

    table = Table(title="pull speed, fastest first")
    for column in (
        "endpoint",
        "role",
        "connect ms",
        "ttfb ms",
        "manifest ms",
        "MB/s",
        "pull bytes",
    ):
        table.add_column(column)
    for facts in ranked:
        table.add_row(
            text(facts["endpoint"]),
            text(facts["role"]),
            text(facts.get("connect_ms")),
            text(facts.get("ttfb_ms")),
            text(facts.get("manifest_ms")),
            text(facts.get("throughput_mbps") if facts["outcome"] == "ok" else facts["outcome"]),
            text(facts.get("unshared_bytes")),
        )
    console.print(table)
    errors = [r for r in reports if r.observations and not r.observations[-1].ok]
    for report in errors:
        console.print(text(f"{report.target.registry}: {report.observations[-1].error}", "red"))
    for finding in findings:
        console.print(text(f"{finding.severity} [{finding.category}] {finding.title}"))
        console.print(text(f"    {finding.explanation.strip()}"))
