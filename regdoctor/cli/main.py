"""The ``regdoctor`` command: an explicit table of subcommands, each a module with
``add_arguments(parser)`` and ``run(args) -> int``.

Start-up stays lean: this module imports only argparse; a subcommand's module (and
with it httpcore, dnspython, pyOpenSSL) is imported only when that subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from collections.abc import Sequence
from typing import Any

from regdoctor import __version__

#: name -> (module, one-line help). Adding a command is one line here and one module.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("regdoctor.cli.check", "diagnose registries and images phase by phase"),
    "explain": ("regdoctor.cli.explain", "name the cause of a pasted error, offline, with the fix"),
    "config": ("regdoctor.cli.config", "effective configuration per runtime, with provenance"),
    "tags": ("regdoctor.cli.tags", "list a repository's tags by digest: aliases, drift, mirrors"),
    "bench": ("regdoctor.cli.bench", "pull speed per endpoint: upstream and mirrors, ranked"),
    "serve": ("regdoctor.cli.serve", "Prometheus exporter: check on a schedule, serve /metrics"),
    "bundle": ("regdoctor.cli.bundle", "one redacted archive to attach to a support ticket"),
    "tui": ("regdoctor.cli.tui", "interactive triage in the terminal: live checks, fixes, explain"),
    "rules": (
        "regdoctor.cli.rules",
        "list the rule catalog, or run its cases (and your own rules')",
    ),
}

EXIT_CODES = """\
exit codes:
  0  healthy: no finding above info
  1  warnings only
  2  errors found
  3  regdoctor itself could not run (bad arguments, unreadable file)
"""


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments; 2 means "errors found" here, so use 3."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(3, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def version_text() -> str:
    """``regdoctor 0.1.0 (120 rules)``. The rules are counted, not loaded: no YAML is parsed
    and the engine is not imported, so ``--version`` stays as cheap as ``--help``."""
    return f"regdoctor {__version__} ({bundled_rule_count()} rules)"


def bundled_rule_count() -> int:
    """The rule files of the bundled catalog (``regdoctor.rules``): ``<area>/<id>.yaml``,
    without the ``<id>.cases.yaml`` files, as :func:`regdoctor.engine.loader.rule_files`
    lists them (tests/cli/test_version.py keeps the two equal)."""
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("regdoctor.rules")  # finds the folder without importing the package
    if spec is None or not spec.submodule_search_locations:
        return 0
    count = 0
    for location in spec.submodule_search_locations:
        for path in Path(location).rglob("*.yaml"):
            if not path.name.endswith(".cases.yaml") and path.is_file():
                count += 1
    return count


class _VersionAction(argparse.Action):
    """``--version``: the text is made only when asked for (it counts files)."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str = argparse.SUPPRESS,
        default: str = argparse.SUPPRESS,
        help: str | None = None,
    ) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(version_text())  # stdout, as argparse's own version action
        parser.exit(0)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser. With ``only`` a command's name, only that subcommand is built, with
    its arguments: every start pays for one command module, not all (a subparser costs
    about half a millisecond to make, and parsing that command's arguments needs no
    other)."""
    parser = _Parser(
        prog="regdoctor",
        description="Diagnose why container images will not pull, or pull slowly, "
        "and say how to fix it.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="show the version and the number of rules in the bundled catalog, then exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        if only in COMMANDS and name != only:
            continue
        command = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if only is None or only == name:
            _describe(command, module_name)
    return parser


def _describe(parser: argparse.ArgumentParser, module_name: str) -> None:
    """A command module imports only argparse and the model at its top (its ``run`` imports
    the rest), so describing its arguments for --help loads no network code."""
    module = importlib.import_module(module_name)
    module.add_arguments(parser)


class _ClosedPipeSafe(io.RawIOBase):
    """Standard output that survives its reader leaving (``regdoctor check | head -1``):
    once a write fails with ``EPIPE`` the descriptor is pointed at ``/dev/null`` and the
    rest of the output is dropped, so the command finishes and its exit code (0, 1, 2)
    is the one the shell sees, instead of a crash or Rich's own ``exit(1)``."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self.broken = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: Any) -> int:
        size = len(memoryview(data))
        if self.broken:
            return size
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            self.broken = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._fd)
            os.close(devnull)
            return size


def _protect_stdout() -> None:
    stream = sys.stdout
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's capture)
    stream.flush()
    safe = io.TextIOWrapper(
        io.BufferedWriter(_ClosedPipeSafe(fd)),
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=bool(stream.line_buffering or os.isatty(fd)),
    )
    sys.stdout = safe


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if argv is None:
        from regdoctor.cli import dataclass_code, startup

        startup.own_process()
        dataclass_code.install()
    first = next((a for a in arguments if not a.startswith("-")), None)
    # no subcommand (--version, --help): no subcommand's arguments are needed at all
    parser = build_parser(first if first in COMMANDS else ("" if first is None else None))
    args = parser.parse_args(arguments)
    if args.command is None:
        parser.print_help()
        return 3
    module_name = COMMANDS[args.command][0]
    debug = bool(getattr(args, "debug", False))
    if args.command != "tui":  # the TUI owns the terminal
        _protect_stdout()
    try:
        module = importlib.import_module(module_name)
        code = int(module.run(args))
    except KeyboardInterrupt:
        print("regdoctor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `regdoctor ... | head`: the reader left, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if debug:
            raise
        from regdoctor.escape import safe_text
        from regdoctor.redact.secrets import redact

        first = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"regdoctor: error: {type(exc).__name__}: "
            f"{safe_text(redact(first), keep_newlines=False)} "
            "(run with --debug for a traceback)",
            file=sys.stderr,
        )
        return 3
    if argv is None:
        from regdoctor.cli import dataclass_code

        dataclass_code.save()
        if getattr(module, "EXIT_AT_ONCE", False):
            _exit_at_once(code)
    return code


def _exit_at_once(code: int) -> None:
    """End the process now: for a command that has written everything it writes and
    left nothing running (its module sets ``EXIT_AT_ONCE``), when regdoctor runs as its
    own process (``argv`` from ``sys.argv``, never a caller's ``main([...])``). The
    interpreter's teardown would free every object of the run one by one, about 35 ms
    of CPU after a 2,000-tag scan, and nobody sees it (benchmarks/bench_tags.py)."""
    sys.stdout.flush()  # a closed pipe is already harmless (_protect_stdout)
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
