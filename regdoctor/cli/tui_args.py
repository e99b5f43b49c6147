"""Arguments of ``regdoctor tui``: the targets and configuration options of ``check``
(the same ``add_arguments``), minus the output format, plus the theme."""

from __future__ import annotations

import argparse

from regdoctor.cli import check_args

#: Options of ``check`` that mean nothing in the TUI (hidden from its --help).
_NOT_HERE = ("format", "verbose")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    check_args.add_arguments(parser)
    for action in parser._actions:
        if action.dest in _NOT_HERE:
            action.help = argparse.SUPPRESS
    ui = parser.add_argument_group("terminal")
    ui.add_argument(
        "--theme",
        choices=("dark", "light"),
        default="dark",
        help="colour theme (t switches while running; NO_COLOR is respected)",
    )
