"""``regdoctor bench``: per-endpoint latency and layer throughput, a ranking, and
``perf.slow`` findings (see docs/tags.md)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

from regdoctor.cli.errors import say_error
from regdoctor.cli.options import add_connection_arguments
from regdoctor.model import ExitCode


def _size(text: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    raw = text.strip().lower().rstrip("ib").rstrip("b") if text[-1:].isalpha() else text
    factor = 1
    if raw[-1:] in units:
        factor, raw = units[raw[-1]], raw[:-1]
    try:
        value = int(float(raw) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 64M)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE", help="host:5000/team/app:1.2")
    bench = parser.add_argument_group("bench")
    bench.add_argument(
        "--via",
        action="append",
        default=[],
        metavar="MIRROR",
        help="also measure through this mirror (repeatable)",
    )
    bench.add_argument(
        "--bytes", type=_size, metavar="N", help="download only N bytes of the layer (Range)"
    )
    bench.add_argument(
        "--have", metavar="IMAGE", help="a base image already present: layers it has are free"
    )
    bench.add_argument(
        "--min-throughput",
        type=_rate,
        metavar="MB/S",
        help="report endpoints slower than this (MB/s)",
    )
    bench.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="OS/ARCH",
        help="the platform of an index to measure (default linux/amd64)",
    )
    bench.add_argument(
        "--no-progress", action="store_true", help="no progress bar (also off with --format json)"
    )
    add_connection_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from regdoctor.check.plan import build_options
    from regdoctor.check.request import UsageError
    from regdoctor.cli.request import request_from_args
    from regdoctor.reference.targets import InvalidReference

    try:
        options = build_options(request_from_args(args, targets=()))
        platform = options.platforms[0] if options.platforms else "linux/amd64"
        from regdoctor.bench.measure import BenchOptions

        bench_options = BenchOptions(
            image=args.image,
            via=tuple(args.via),
            have=args.have,
            bytes=args.bytes,
            min_throughput_mbps=args.min_throughput,
            platform=platform,
        )
    except (UsageError, InvalidReference) as exc:
        say_error("bench", exc, args=args)
        return int(ExitCode.CANNOT_RUN)
    from rich.console import Console

    from regdoctor.bench.measure import run_bench

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
    except (InvalidReference, ValueError) as exc:
        say_error("bench", exc, args=args)
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.bench.judge import judge
    from regdoctor.check.exit import exit_code_of
    from regdoctor.render.bench import render_bench_json, render_bench_plain

    report = judge(results, bench_options, options.rule_dirs)
    code = exit_code_of(f.severity for f in report.findings)
    if args.format == "json":
        render_bench_json(report, code, Console(highlight=False, soft_wrap=True))
    else:
        render_bench_plain(report, Console(highlight=False))
    return code
