"""Arguments of ``regdoctor bundle`` (kept apart so that --help stays import-light)."""

from __future__ import annotations

import argparse

from regdoctor.cli.reporting import add_check_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE.tar.gz",
        help="where to write the archive (default: regdoctor-bundle-DATE.tar.gz here)",
    )
    add_check_options(parser, exclude=("format",))
