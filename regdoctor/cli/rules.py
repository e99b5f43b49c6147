"""``regdoctor rules list|test [--dir DIR ...]``: the catalog, and its cases run the way the
project's own catalog test runs them, for people writing their own rules.

Exit codes: 0 every case passes (or the list was printed), 2 a case fails, 3 a rule file
could not be loaded or a DIR is not a folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from regdoctor.cli.errors import say_error
from regdoctor.model import ExitCode


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


def _catalog(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from regdoctor.engine import load_catalog

    dirs = [Path(d) for d in args.dirs]
    for directory in dirs:
        if not directory.is_dir():
            raise NotADirectoryError(f"{directory}: not a folder of rule files")
    return load_catalog(dirs, bundled=not args.no_bundled)


def run(args: argparse.Namespace) -> int:
    try:
        catalog = _catalog(args)
    except NotADirectoryError as exc:
        say_error("rules", exc)
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.escape import safe_text

    for error in catalog.errors:
        problems = "; ".join(error.problems)[:2000]
        print(
            safe_text(f"invalid rule file {error.path}: {problems}", keep_newlines=False),
            file=sys.stderr,
        )
    if args.action == "list":
        rules = [
            {
                "id": r.id,
                "category": r.category,
                "severity": str(r.severity),
                "title": r.title,
                "path": str(r.path),
            }
            for r in catalog.rules
        ]
        if args.format == "json":
            print(json.dumps(rules, indent=2))
        else:
            for rule in rules:
                print(
                    safe_text(
                        f"{rule['id']:<36} {rule['category']:<26} {rule['severity']:<8}"
                        f" {rule['title']}",
                        keep_newlines=False,
                    )
                )
        return int(ExitCode.CANNOT_RUN) if catalog.errors else int(ExitCode.HEALTHY)
    from regdoctor.engine import run_catalog_cases

    results = run_catalog_cases(catalog)
    failed = [r for r in results if not r.passed and not r.skipped]
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "rule": r.rule,
                        "case": r.case,
                        "expect": r.expect,
                        "passed": r.passed,
                        "skipped": r.skipped,
                        "message": r.message,
                    }
                    for r in results
                ],
                indent=2,
            )
        )
    else:
        for result in results:
            if args.verbose or (not result.passed and not result.skipped):
                print(safe_text(str(result), keep_newlines=False))
        passed = sum(r.passed for r in results)
        skipped = sum(r.skipped for r in results)
        print(
            f"{len(catalog.rules)} rules: {passed} passed, {len(failed)} failed"
            + (f", {skipped} skipped" if skipped else "")
        )
    if catalog.errors:
        return int(ExitCode.CANNOT_RUN)
    return int(ExitCode.ERRORS) if failed else int(ExitCode.HEALTHY)
