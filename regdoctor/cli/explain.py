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
import codecs
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from regdoctor.cli.errors import say_error
from regdoctor.cli.options import (
    add_network_arguments,
    add_rules_dir_argument,
    add_time_arguments,
)

if TYPE_CHECKING:
    from regdoctor.check.request import CheckRequest

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


#: Larger inputs are refused (a log this size is not a paste; cut it first).
MAX_INPUT_BYTES = 256 * 1024 * 1024
#: Files and standard input are read in pieces of this many bytes.
CHUNK_BYTES = 1 << 20
CANNOT_RUN = 3


class InputError(Exception):
    """The text could not be read: one line, exit code 3."""


class Input:
    """The text to explain, as decoded chunks read one at a time (a 200 MB log is never
    held whole), and where it came from. ``saw_text`` tells, once read, whether there was
    anything but white space."""

    def __init__(self, source: str, chunks: Iterator[bytes]) -> None:
        self.source = source
        self._chunks = chunks
        self.saw_text = False
        self.size = 0

    def __iter__(self) -> Iterator[str]:
        decoder: codecs.IncrementalDecoder | None = None
        first = True
        for data in self._chunks:
            self.size += len(data)
            if self.size > MAX_INPUT_BYTES:
                raise InputError(f"{self.source}: more than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
            if decoder is None:
                # PowerShell's `>` writes UTF-16 with a byte order mark.
                utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
                decoder = codecs.getincrementaldecoder("utf-16" if utf16 else "utf-8")("replace")
            text = decoder.decode(data)
            if first and text:
                text = text.lstrip("\ufeff")
                first = False
            if not self.saw_text and text.strip():
                self.saw_text = True
            yield text
        if decoder is not None:
            tail = decoder.decode(b"", final=True)
            if tail:
                self.saw_text = self.saw_text or bool(tail.strip())
                yield tail


def _read_stream(handle: BinaryIO) -> Iterator[bytes]:
    while True:
        data = handle.read(CHUNK_BYTES)
        if not data:
            return
        yield data


def _read_file(path: Path, name: str) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            yield from _read_stream(handle)
    except OSError as exc:
        raise InputError(f"--file {name}: {exc.strerror or exc}") from None


def read_input(args: argparse.Namespace) -> Input:
    """Where the text comes from; nothing is read yet (but a missing file is reported)."""
    if args.file and args.text is not None:
        raise InputError("give either TEXT (or -) or --file LOG, not both")
    if args.file:
        path = Path(args.file)
        if path.is_dir():
            raise InputError(f"--file {args.file}: is a directory, expected a file")
        try:
            path.open("rb").close()
        except OSError as exc:
            raise InputError(f"--file {args.file}: {exc.strerror or exc}") from None
        return Input(str(path), _read_file(path, args.file))
    if args.text == "-":
        if sys.stdin is None:
            raise InputError("-: there is no standard input")
        if sys.stdin.isatty():
            print("regdoctor explain: paste the error, then Ctrl-D", file=sys.stderr)
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            text = sys.stdin.read(MAX_INPUT_BYTES + 1)
            return Input("standard input", iter([text.encode("utf-8", "surrogateescape")]))
        return Input("standard input", _read_stdin(stream))
    if args.text is not None:
        return Input("the command line", iter([args.text.encode("utf-8", "surrogateescape")]))
    raise InputError("nothing to explain: give TEXT, - (standard input) or --file LOG")


def _read_stdin(stream: BinaryIO) -> Iterator[bytes]:
    try:
        yield from _read_stream(stream)
    except OSError as exc:
        raise InputError(f"-: cannot read standard input: {exc.strerror or exc}") from None


def _check_request(args: argparse.Namespace, targets: list[str]) -> CheckRequest:
    """The live check ``--check`` asks for: the registries the text names, with explain's
    time, network and rule options (no configuration is read: the text names the
    registries, not this host's files)."""
    from regdoctor.check.request import CheckRequest

    return CheckRequest(
        targets=tuple(targets),
        timeout=args.timeout,
        deadline=args.deadline,
        dns_server=args.dns_server,
        insecure=args.insecure,
        ca_files=tuple(args.ca_file),
        rules_dirs=tuple(args.rules_dir),
        no_config=True,
        debug=args.debug,
    )


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
    from regdoctor.check.plan import plan
    from regdoctor.reference.targets import InvalidReference, parse_target

    usable = []
    for raw in targets:
        try:
            parse_target(raw, insecure=args.insecure)
            usable.append(raw)
        except InvalidReference as exc:
            print(f"regdoctor explain: --check: skipping {raw!r}: {exc}", file=sys.stderr)
    if not usable:
        return None
    return plan(_check_request(args, usable)).run_sync(["regdoctor", *sys.argv[1:]])


def _validate_check_options(args: argparse.Namespace) -> tuple[Path, ...]:
    """The --check options are checked even without --check: a typo should not wait
    for the day someone adds --check. Returns the ``--rules-dir`` folders. (The check's
    modules are imported only when one of these options is given: a plain ``explain``
    starts without them.)"""
    if not (args.dns_server or args.ca_file or args.rules_dir):
        return ()
    from regdoctor.check.plan import dns_server, readable_file, rule_dirs
    from regdoctor.check.request import UsageError

    try:
        dns_server(args.dns_server)
        for value in args.ca_file:
            readable_file(value, "--ca-file")
        return rule_dirs(_check_request(args, []))
    except UsageError as exc:
        raise InputError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    try:
        _rule_dirs = _validate_check_options(args)
        source = read_input(args)
    except InputError as exc:
        say_error("explain", exc)
        return CANNOT_RUN
    from regdoctor.check.exit import explain_exit_code
    from regdoctor.engine.cache import load_index_cached
    from regdoctor.engine.explain import explain_report

    index = load_index_cached(_rule_dirs)
    try:
        explained = explain_report(index, source)
    except InputError as exc:
        say_error("explain", exc)
        return CANNOT_RUN
    if not source.saw_text:
        say_error("explain", InputError(f"nothing to explain: {source.source} is empty"))
        return CANNOT_RUN
    matches = explained.matches
    code = explain_exit_code(matches)
    lines_read = explained.lines

    report = None
    if args.check:
        from regdoctor.check.request import UsageError
        from regdoctor.reference.targets import InvalidReference

        try:
            report = _live_check(args, matches)
        except (UsageError, InvalidReference) as exc:
            say_error("explain", exc)
            return CANNOT_RUN
        if report is not None:
            from regdoctor.check.exit import exit_code

            code = max(code, exit_code(report))

    if args.format == "json":
        from regdoctor.render.explain_json import render_explain_json

        omitted = explained.omitted_match()
        sys.stdout.write(render_explain_json(matches, report, omitted) + "\n")
    elif args.format == "markdown":
        from regdoctor.render.explain_markdown import render_explain_markdown

        live = _report_markdown(report) if report is not None else None
        answer = render_explain_markdown(
            matches, lines_read=lines_read, report_markdown=live, omitted=explained.omitted_text
        )
        sys.stdout.write(answer)
    else:
        from regdoctor.render.explain_plain import render_explain_plain
        from regdoctor.render.plain_console import stdout_console

        # a live check's heading is printed with a style: Rich's Console then
        console = stdout_console(rich=report is not None)
        render_explain_plain(
            matches, console, lines_read=lines_read, omitted=explained.omitted_text
        )
        if report is not None:
            from regdoctor.render import render_plain

            console.print()
            console.print("Live check of the registries the text names:", style="bold")
            render_plain(report, console)  # type: ignore[arg-type]  # Rich's, with a live check
    sys.stdout.flush()
    return code


def _report_markdown(report: Any) -> str | None:
    """The live check as Markdown."""
    from regdoctor.render.markdown import markdown_text

    return markdown_text(report)
