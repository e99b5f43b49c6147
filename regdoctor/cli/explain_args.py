"""Arguments of ``regdoctor explain`` (kept apart so that --help stays import-light)."""

from __future__ import annotations

import argparse

FORMATS = ("plain", "json", "markdown")

EPILOG = """\
examples:
  regdoctor explain 'Get "https://r.example/v2/": x509: certificate signed by unknown authority'
  kubectl describe pod web-0 | regdoctor explain -
  regdoctor explain --file ci-job.log --format markdown
  regdoctor explain --check --file pull.log     # then check every registry it names, live

exit codes:
  0  no registry error recognised in the text
  1  only warnings recognised
  2  errors explained (with --check: or found by the live check)
  3  regdoctor itself could not run (bad arguments, unreadable file, empty input)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument(
        "text",
        nargs="?",
        metavar="TEXT",
        help="the pasted error (one line or a whole log); '-' reads standard input",
    )
    parser.add_argument(
        "-f",
        "--file",
        metavar="LOG",
        help="read the text from this file (a log of any length)",
    )
    from regdoctor.cli.check_args import add_rules_dir_argument

    add_rules_dir_argument(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=FORMATS, default="plain")
    output.add_argument(
        "--debug", action="store_true", help="tracebacks instead of one-line errors"
    )
    live = parser.add_argument_group("live check (--check)")
    live.add_argument(
        "--check",
        action="store_true",
        help="then run `regdoctor check` on every registry (or image) the text names",
    )
    live.add_argument(
        "--timeout",
        type=_seconds,
        default=5.0,
        metavar="S",
        help="timeout of each network phase of the check (default: 5)",
    )
    live.add_argument(
        "--deadline",
        type=_seconds,
        default=30.0,
        metavar="S",
        help="the whole check ends by then (default: 30)",
    )
    live.add_argument(
        "--dns-server",
        metavar="HOST[:PORT]",
        help="resolve through this DNS server only (never the system resolver)",
    )
    live.add_argument(
        "--ca-file",
        action="append",
        default=[],
        metavar="PEM",
        help="trust this CA bundle too (repeatable)",
    )
    live.add_argument(
        "--insecure",
        action="store_true",
        help="treat the registries as insecure: allow plain HTTP, skip TLS verification",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds: {text!r}")
    return value
