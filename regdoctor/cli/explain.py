"""``regdoctor explain``: name the cause of a pasted error, offline, with the fix.

Reads TEXT, standard input (``-``) or ``--file LOG``; explains every distinct registry
error in it (``regdoctor.engine.explain``); prints plain text, explain-v1 JSON or Markdown.
``--check`` then runs the live check on every registry the text names.

Exit codes: 0 no registry error recognised, 1 only warnings, 2 errors explained (or, with
``--check``, found live), 3 regdoctor could not run (bad arguments, unreadable or empty
input). Start-up stays light: no network, TLS or UI library is imported unless ``--check``
is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from regdoctor.cli.errors import say_error

#: Larger inputs are refused (a log this size is not a paste; cut it first).
MAX_INPUT_BYTES = 256 * 1024 * 1024
CANNOT_RUN = 3


class InputError(Exception):
    """The text could not be read: one line, exit code 3."""


def _decode(data: bytes) -> str:
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")  # PowerShell's `>` writes UTF-16
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def read_input(args: argparse.Namespace) -> tuple[str, str]:
    """The text to explain and where it came from."""
    if args.file and args.text is not None:
        raise InputError("give either TEXT (or -) or --file LOG, not both")
    if args.file:
        path = Path(args.file)
        if path.is_dir():
            raise InputError(f"--file {args.file}: is a directory, expected a file")
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"--file {args.file}: {exc.strerror or exc}") from None
        source = str(path)
    elif args.text == "-":
        if sys.stdin is None:
            raise InputError("-: there is no standard input")
        if sys.stdin.isatty():
            print("regdoctor explain: paste the error, then Ctrl-D", file=sys.stderr)
        stream = getattr(sys.stdin, "buffer", None)
        try:
            if stream is not None:
                data = stream.read(MAX_INPUT_BYTES + 1)
            else:
                data = sys.stdin.read(MAX_INPUT_BYTES + 1).encode("utf-8", "surrogateescape")
        except OSError as exc:
            raise InputError(f"-: cannot read standard input: {exc.strerror or exc}") from None
        source = "standard input"
    elif args.text is not None:
        data = args.text.encode("utf-8", "surrogateescape")
        source = "the command line"
    else:
        raise InputError("nothing to explain: give TEXT, - (standard input) or --file LOG")
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{source}: more than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
    text = _decode(data)
    if not text.strip():
        raise InputError(f"nothing to explain: {source} is empty")
    return text, source


def _check_namespace(args: argparse.Namespace, targets: list[str]) -> argparse.Namespace:
    """What ``regdoctor.cli.check.build_options`` expects, from explain's arguments."""
    values: dict[str, Any] = {
        "targets": targets,
        "format": "json" if args.format == "json" else "plain",
        "verbose": False,
        "debug": args.debug,
        "timeout": args.timeout,
        "deadline": args.deadline,
        "dns_server": args.dns_server,
        "insecure": args.insecure,
        "ca_file": list(args.ca_file),
        "cert": None,
        "key": None,
        "username": None,
        "password_stdin": False,
        "platform": [],
    }
    return argparse.Namespace(**values)


def check_targets(matches: list[Any]) -> list[str]:
    """Every registry the matches name, once, as an image when one was named (a live
    check of an image also checks its manifest), in order."""
    from regdoctor.engine.explain import registry_of

    chosen: dict[str, str] = {}
    for match in matches:
        registry = registry_of(match)
        if not registry or "****" in registry:
            continue
        image = match.fields.get("image")
        if registry not in chosen or (image and chosen[registry] == registry):
            chosen[registry] = image if image and "****" not in image else registry
    return list(chosen.values())


def _live_check(args: argparse.Namespace, matches: list[Any]) -> Any | None:
    targets = check_targets(matches)
    if not targets:
        print("regdoctor explain: --check: the text names no registry to check", file=sys.stderr)
        return None
    from regdoctor.cli import check as check_cli
    from regdoctor.reference import ReferenceError, parse_target

    namespace = _check_namespace(args, targets)
    parsed = []
    for raw in targets:
        try:
            parsed.append(parse_target(raw, insecure=args.insecure))
        except ReferenceError as exc:
            print(f"regdoctor explain: --check: skipping {raw!r}: {exc}", file=sys.stderr)
    if not parsed:
        return None
    options = check_cli.build_options(namespace)
    from regdoctor.runner import check

    return check(parsed, options, command=["regdoctor", *sys.argv[1:]])


def _validate_check_options(args: argparse.Namespace) -> None:
    """The --check options are checked even without --check: a typo should not wait
    for the day someone adds --check."""
    from regdoctor.cli import check as check_cli

    check_cli._dns_server(getattr(args, "dns_server", None))
    for value in getattr(args, "ca_file", None) or []:
        check_cli._readable_file(value, "--ca-file")


def run(args: argparse.Namespace) -> int:
    from regdoctor.cli.check import UsageError, rule_dirs

    try:
        _validate_check_options(args)
        _rule_dirs = rule_dirs(args)
        text, _source = read_input(args)
    except (InputError, UsageError) as exc:
        say_error("explain", exc)
        return CANNOT_RUN
    from regdoctor.engine.cache import load_catalog_cached
    from regdoctor.engine.explain import exit_code, explain

    catalog = load_catalog_cached(_rule_dirs, text_only=True)
    matches = explain(catalog, text)
    code = exit_code(matches)
    lines_read = text.count("\n") + (0 if text.endswith("\n") else 1)

    report = None
    if args.check:
        from regdoctor.cli.check import UsageError
        from regdoctor.reference import ReferenceError

        try:
            report = _live_check(args, matches)
        except (UsageError, ReferenceError) as exc:
            say_error("explain", exc)
            return CANNOT_RUN
        if report is not None:
            code = max(code, int(report.exit_code))

    if args.format == "json":
        from regdoctor.render.explain_json import render_explain_json

        sys.stdout.write(render_explain_json(matches, report) + "\n")
    elif args.format == "markdown":
        from regdoctor.render.explain_markdown import render_explain_markdown

        live = _report_markdown(report) if report is not None else None
        answer = render_explain_markdown(matches, lines_read=lines_read, report_markdown=live)
        sys.stdout.write(answer)
    else:
        from rich.console import Console

        from regdoctor.render.explain_plain import render_explain_plain

        console = Console(highlight=False)
        render_explain_plain(matches, console, lines_read=lines_read)
        if report is not None:
            from regdoctor.render import render_plain

            console.print()
            console.print("Live check of the registries the text names:", style="bold")
            render_plain(report, console)
    sys.stdout.flush()
    return code


def _report_markdown(report: Any) -> str | None:
    """The live check as Markdown, when the Markdown report renderer is available."""
    try:
        from regdoctor.render import markdown as md

        text = getattr(md, "markdown_text", None)
        if text is not None:
            return str(text(report))
    except Exception:  # the explanation is the answer; the live part is a bonus
        return None
    return None
