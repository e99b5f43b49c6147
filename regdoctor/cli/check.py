"""``regdoctor check``: run the probes, judge, render, and exit with a trustworthy code."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from regdoctor.model import Credentials, ExitCode, Secret

DEFAULT_TARGET = "docker.io"


class UsageError(Exception):
    """A problem with the arguments: one line, exit code 3."""


def _readable_file(value: str, flag: str) -> Path:
    path = Path(value)
    if path.is_dir():
        raise UsageError(f"{flag} {value}: is a directory, expected a file")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise UsageError(f"{flag} {value}: {exc.strerror or exc}") from None
    return path


def _dns_server(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    from regdoctor.reference import ReferenceError, split_hostport

    try:
        hp = split_hostport(value)
    except ReferenceError as exc:
        raise UsageError(f"--dns-server: {exc}") from None
    from regdoctor.probes.net import is_ip

    if not is_ip(hp.host):
        raise UsageError(f"--dns-server needs an IP address, not {hp.host!r}")
    return hp.host, hp.port or 53


def _credentials(args: argparse.Namespace) -> Credentials | None:
    if args.password_stdin and not args.username:
        raise UsageError("--password-stdin needs --username")
    if not args.username:
        return None
    if not args.password_stdin:
        raise UsageError(
            "--username needs --password-stdin (passwords are never taken as arguments)"
        )
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("--password-stdin: pipe the password on standard input")
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise UsageError("--password-stdin: standard input was empty")
    return Credentials(args.username, Secret(password), source="--username/--password-stdin")


def build_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from regdoctor.probes.base import CheckOptions
    from regdoctor.redact import Redactor

    if bool(args.cert) != bool(args.key):
        raise UsageError("--cert and --key go together")
    credentials = _credentials(args)
    trace = None
    if args.debug:
        redactor = Redactor([credentials.password] if credentials else [])

        def trace(message: str) -> None:
            print(f"debug: {redactor.redact(message)}", file=sys.stderr)

    return CheckOptions(
        timeout=args.timeout,
        deadline=args.deadline,
        dns_server=_dns_server(args.dns_server),
        ca_files=tuple(_readable_file(p, "--ca-file") for p in args.ca_file),
        client_cert=_readable_file(args.cert, "--cert") if args.cert else None,
        client_key=_readable_file(args.key, "--key") if args.key else None,
        credentials=credentials,
        platforms=tuple(_platform(p) for p in args.platform),
        insecure=args.insecure,
        config_root=Path(os.environ.get("REGDOCTOR_CONFIG_ROOT") or "/"),
        trace=trace,
    )


def _platform(value: str) -> str:
    parts = value.strip().lower().split("/")
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise UsageError(f"--platform {value!r}: expected OS/ARCH or OS/ARCH/VARIANT")
    return "/".join(parts)


def run(args: argparse.Namespace) -> int:
    from regdoctor.reference import ReferenceError, parse_target

    try:
        raw_targets = args.targets or [DEFAULT_TARGET]
        targets = [parse_target(t, insecure=args.insecure) for t in raw_targets]
        options = build_options(args)
    except (UsageError, ReferenceError) as exc:
        print(f"regdoctor check: error: {exc}", file=sys.stderr)
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.runner import check

    report = check(targets, options, command=["regdoctor", *sys.argv[1:]])
    from rich.console import Console

    from regdoctor.redact import Redactor
    from regdoctor.render import RENDERERS

    redactor = Redactor([options.credentials.password] if options.credentials else [])
    console = Console(highlight=False, soft_wrap=args.format == "json")
    RENDERERS[args.format](report, console, verbose=args.verbose, redactor=redactor)
    return int(report.exit_code)
