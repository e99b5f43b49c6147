"""Arguments of ``regdoctor bench`` (kept apart so that --help stays import-light)."""

from __future__ import annotations

import argparse

from regdoctor.cli.tags_args import add_connection_arguments


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
