"""Arguments of ``regdoctor serve`` (kept apart so that --help stays import-light)."""

from __future__ import annotations

import argparse

from regdoctor.cli.reporting import add_check_options

DEFAULT_LISTEN = "127.0.0.1:9877"
DEFAULT_INTERVAL = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    exporter = parser.add_argument_group("exporter")
    exporter.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        type=listen_address,
        help=f"where to serve /metrics, /healthz and /report.json (default: {DEFAULT_LISTEN}, "
        "loopback only; port 0 picks a free port)",
    )
    exporter.add_argument(
        "--interval",
        type=interval_seconds,
        default=DEFAULT_INTERVAL,
        metavar="S",
        help="seconds between two checks; scrapes never trigger more checks "
        f"(default: {DEFAULT_INTERVAL:g})",
    )
    add_check_options(parser, exclude=("format", "verbose", "fail_on"))


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (loopback)."""
    value = text.strip()
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected [ADDRESS]:PORT, not {text!r}")
    else:
        host, sep, port = value.rpartition(":")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port: {port!r}")
    return host or "127.0.0.1", int(port)


def interval_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0.5 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"must be between 0.5 and 86400 seconds: {text!r}")
    return value
