"""Arguments of ``regdoctor rules`` (kept apart so that --help stays import-light)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("list", "test"),
        help="list: the rules and what they match; test: run every rule's "
        "cases (its sibling *.cases.yaml)",
    )
    parser.add_argument(
        "-d",
        "--dir",
        dest="dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of your own rules, loaded beside the bundled catalog (repeatable)",
    )
    parser.add_argument(
        "--no-bundled", action="store_true", help="only the rules in DIR (for writing your own)"
    )
    parser.add_argument("--format", choices=("plain", "json"), default="plain")
    parser.add_argument("-v", "--verbose", action="store_true", help="test: list passing cases too")
