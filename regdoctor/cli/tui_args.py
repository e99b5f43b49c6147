"""Arguments of ``regdoctor tui``: the targets and configuration options of ``check``
(the same ``add_arguments``), without the report format, plus the theme."""

from __future__ import annotations

import argparse

from regdoctor.cli import check_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    check_args.add_arguments(parser, report_format=False)
    ui = parser.add_argument_group("terminal")
    ui.add_argument(
        "--theme",
        choices=("dark", "light"),
        default="dark",
        help="colour theme (t switches while running; NO_COLOR is respected)",
    )
