"""Arguments of ``regdoctor explain`` (kept apart so that --help stays import-light)."""

from __future__ import annotations

import argparse

from regdoctor.cli.check_args import (
    add_network_arguments,
    add_rules_dir_argument,
    add_time_arguments,
)

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
    add_rules_dir_argument(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=FORMATS, default="plain")
    output.add_argument(
        "--debug", action="store_true", help="tracebacks instead of one-line errors"
    )
    live = add_time_arguments(
        parser, title="live check (--check)", what="each network phase of the check"
    )
    live.add_argument(
        "--check",
        action="store_true",
        help="then run `regdoctor check` on every registry (or image) the text names",
    )
    add_network_arguments(live, client_cert=False)
