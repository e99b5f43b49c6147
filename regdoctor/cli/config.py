"""``regdoctor config``: what each runtime will really use, with where every value came
from. Reads files only: no network, no credential helper is run.

Exit codes: 0 every file read is valid, 1 some settings are ignored (warnings), 2 a file
its runtime refuses, 3 regdoctor could not run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from regdoctor.cli.errors import say_error
from regdoctor.cli.options import add_discovery_arguments
from regdoctor.model import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "images",
        nargs="*",
        metavar="IMAGE",
        help="an image or registry; default: every registry the configuration names",
    )
    parser.add_argument("--format", choices=("plain", "json"), default="plain")
    parser.add_argument(
        "--sources", action="store_true", help="also list every file read and what it says"
    )
    parser.add_argument("--debug", action="store_true", help="tracebacks on errors")
    add_discovery_arguments(parser)


def _images(args: argparse.Namespace, effective: Any) -> list[str]:
    from regdoctor.check.request import DEFAULT_TARGET

    if args.images:
        return list(args.images)
    names = list(dict.fromkeys(name for _rt, name, _src in effective.registries()))
    return names or [DEFAULT_TARGET]


def build(args: argparse.Namespace) -> dict[str, Any]:
    from regdoctor.check.plan import discover
    from regdoctor.cli.request import request_from_args
    from regdoctor.reference.targets import InvalidReference

    effective = discover(request_from_args(args, targets=()))
    plans = []
    problems = []
    for image in _images(args, effective):
        for runtime in effective.runtimes:
            try:
                plans.append(effective.plan(image, runtime).to_dict())
            except (InvalidReference, ValueError) as exc:
                problems.append({"image": image, "error": str(exc)})
                break
    files = [f for f in effective.files() if f.exists]
    issues = [i.to_dict() for f in files for i in f.issues]
    errors = sum(1 for i in issues if i["fatal"])
    status = "error" if errors else ("warning" if issues else "ok")
    return {
        "regdoctor_config": 1,
        "root": str(effective.paths.root),
        "runtimes": list(effective.runtimes),
        "status": status,
        "files": [
            {
                "file": f.file,
                "source": f.source,
                "runtime": f.runtime,
                "parsed": f.parsed,
                "errors": sum(1 for i in f.issues if i.fatal),
                "warnings": sum(1 for i in f.issues if not i.fatal),
            }
            for f in files
        ],
        "issues": issues,
        "plans": plans,
        "unparsable": problems,
        "sources": effective.to_dict(),
    }


def run(args: argparse.Namespace) -> int:
    from regdoctor.check.request import UsageError

    try:
        document = build(args)
    except UsageError as exc:
        say_error("config", exc)
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.redact.secrets import redact_obj

    document = redact_obj(document)
    if args.format == "json":
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")
    else:
        render_plain(document, verbose=args.sources)
    return {"ok": 0, "warning": 1, "error": 2}[document["status"]]


def render_plain(document: dict[str, Any], *, verbose: bool) -> None:
    from rich.console import Console
    from rich.text import Text

    from regdoctor.escape import safe_text

    console = Console(highlight=False)

    def clean(value: Any) -> str:
        return safe_text(str(value), keep_newlines=False) if value is not None else "-"

    def line(*parts: tuple[str, str] | str) -> None:
        text = Text()
        for part in parts:
            if isinstance(part, tuple):
                text.append(part[0], style=part[1])
            else:
                text.append(part)
        console.print(text, soft_wrap=True)

    line(
        ("configuration root: ", "bold"),
        clean(document["root"]),
        "  runtimes: ",
        clean(", ".join(document["runtimes"])),
    )
    line()
    line(("files read", "bold"))
    if not document["files"]:
        line("  (none found)")
    issues_by_file: dict[str, list[dict[str, Any]]] = {}
    for issue in document["issues"]:
        issues_by_file.setdefault(issue["file"], []).append(issue)
    for f in document["files"]:
        mark, style = (
            ("x", "red") if f["errors"] else (("!", "yellow") if f["warnings"] else ("+", "green"))
        )
        line("  ", (mark, style), " ", clean(f["file"]), ("  " + clean(f["source"]), "dim"))
        for issue in issues_by_file.get(f["file"], []):
            where = []
            if issue["line"] is not None:
                where.append(f"line {issue['line']}")
                if issue["column"] is not None:
                    where.append(f"column {issue['column']}")
            if issue["key"]:
                where.append(clean(issue["key"]))
            label = "error" if issue["fatal"] else "warning"
            line(
                "      ",
                (label, style),
                " ",
                clean(", ".join(where)),
                ": ",
                clean(issue["message"]),
            )
    for plan in document["plans"]:
        line()
        line(
            (clean(plan["image"]), "bold"),
            ("  " + clean(plan["runtime"]), "cyan"),
            ("  registry " + clean(plan["registry"]), "dim"),
        )
        for number, ep in enumerate(plan["endpoints"], start=1):
            verify = {True: "verify", False: "NO VERIFY", None: "plain http"}[ep["tls_verify"]]
            used = "" if ep["used"] else "  (not used)"
            line(
                f"  {number}. ",
                (f"{ep['role']:<8}", "bold"),
                " ",
                clean(ep["url"]),
                f"  tls: {verify}",
                (used, "yellow"),
            )
            line("       from ", clean(ep["source"]))
            if ep["insecure_source"]:
                line("       insecure: ", clean(ep["insecure_source"]))
            for ca in ep["ca_files"]:
                line("       CA: ", clean(ca["path"]))
            if ep["client_cert"]:
                line("       client cert: ", clean(ep["client_cert"]["cert"]))
            if ep["proxy"] or ep["proxy_source"]:
                line(
                    "       proxy: ",
                    clean(ep["proxy"] or "none (bypassed)"),
                    ("  " + clean(ep["proxy_source"]), "dim"),
                )
            credential = ep["credential"]
            line("       credential: ", clean(credential["source"]) if credential else "none")
            if ep["note"]:
                line(("       note: " + clean(ep["note"]), "dim"))
        for note in plan["notes"]:
            line(("  note: " + clean(note), "dim"))
    for problem in document["unparsable"]:
        line(("cannot read image ", "red"), clean(problem["image"]), ": ", clean(problem["error"]))
    if verbose:
        line()
        line(("sources", "bold"))
        for text in json.dumps(document["sources"], indent=2).splitlines():
            line("  ", clean(text))
