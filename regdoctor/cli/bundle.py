"""``regdoctor bundle``: one archive to attach to a support ticket or a public issue.

It runs the same check as ``regdoctor check`` and writes ``FILE.tar.gz`` holding::

    regdoctor-bundle/
      report.md          the ticket report (regdoctor check --format markdown)
      report.json        the machine report (JSON schema v3)
      versions.json      regdoctor, Python, OS, container runtimes and their daemons
      config/...         redacted copies of the configuration files found, at their paths
      provenance.json    for each file: where it was, why it was read, what was masked;
                         the pull-relevant environment variables (redacted)
      SUMMARY.txt        what was included and what was masked (also printed at the end)

Every text goes through the run's redactor (and ``--redact-hosts``); configuration files
are masked by structure and by pattern (:mod:`regdoctor.discovery.files`); private keys are
never copied; tar headers carry no local user or group name.

Exit code: that of the check (0, 1, 2, see ``--fail-on``) once the archive is written;
3 when it could not be written.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import stat
import sys
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regdoctor.cli.errors import say_error
from regdoctor.cli.options import add_check_arguments
from regdoctor.model import ExitCode, ReportContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE.tar.gz",
        help="where to write the archive (default: regdoctor-bundle-DATE.tar.gz here)",
    )
    add_check_arguments(parser, report_format=False)


__all__ = ["build_bundle", "run"]

ROOT = "regdoctor-bundle"


def _member(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(f"{ROOT}/{name}")
    info.size = len(data)
    info.mode = 0o644
    info.mtime = int(mtime)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def build_bundle(
    report: Any, redactor: Any, *, context: ReportContext, root: Path, effective: Any = None
) -> tuple[dict[str, bytes], list[str]]:
    """The archive's files (name -> bytes) and the summary lines. No I/O but reading
    the configuration files below ``root``."""
    from regdoctor.discovery.files import config_sources, environment, redact_config
    from regdoctor.render.json_out import render_json
    from regdoctor.render.markdown import markdown_text

    files: dict[str, bytes] = {}
    files["report.md"] = markdown_text(report, redactor=redactor, context=context).encode("utf-8")
    files["report.json"] = (render_json(report, redactor=redactor) + "\n").encode("utf-8")
    host = context.host.to_dict() if context.host is not None else {}
    versions = redactor.redact_obj(host)
    files["versions.json"] = (json.dumps(versions, indent=2) + "\n").encode("utf-8")

    included: list[str] = []
    left_out: list[str] = []
    provenance: list[dict[str, Any]] = []
    masked_total = 0
    confined = str(root) not in ("", "/")
    for source in config_sources(root, effective=effective):
        if not source.exists:
            continue
        if confined and not _below(source.path, root):
            # With --root, this host's own files (a $DOCKER_CONFIG, /etc/containerd...)
            # are never mixed into another machine's bundle.
            left_out.append(f"{redactor.redact(str(source.path))}: outside --root, not read")
            continue
        result = redact_config(source, redactor, root=root if confined else None)
        shown = redactor.redact(source.display)
        entry: dict[str, Any] = {
            "path": shown,
            "read_by": source.kind,
            "why": source.provenance,
            "masked_values": result.masked,
            "note": result.note,
        }
        masked_total += result.masked
        if result.text is None:
            entry["included_as"] = None
            left_out.append(f"{shown}: {result.note}")
        else:
            name = "config/" + shown.lstrip("/")
            entry["included_as"] = name
            files[name] = redactor.redact(result.text).encode("utf-8")
            included.append(f"{name}  ({source.kind}; {result.masked} value(s) masked)")
        provenance.append(entry)
    env = {k: redactor.redact(v) for k, v in environment().items()}
    env_masked = sum(1 for k, v in environment().items() if env[k] != v)
    files["provenance.json"] = (
        json.dumps(
            {
                "config_root": redactor.redact(str(root)),
                "files": provenance,
                "environment": env,
            },
            indent=2,
        )
        + "\n"
    ).encode("utf-8")

    summary = ["included:"]
    summary += [
        f"  {name}" for name in ("report.md", "report.json", "versions.json", "provenance.json")
    ]
    summary += [f"  {line}" for line in included] or ["  (no configuration file was found)"]
    if left_out:
        summary.append("not included:")
        summary += [f"  {line}" for line in left_out]
    summary.append("masked:")
    summary.append(f"  {masked_total} value(s) in configuration files")
    summary.append(f"  {env_masked} environment variable value(s)")
    literal = len(redactor) if hasattr(redactor, "__len__") else 0
    summary.append(
        f"  secrets of this run ({literal} registered form(s)), tokens, Authorization "
        "headers, URL passwords and signed query strings: everywhere"
    )
    names = getattr(redactor, "masked_names", None)
    if names is None:
        summary.append("  host and user names: kept (use --redact-hosts to mask them)")
    else:
        summary.append(f"  host and user names: {names} masked (--redact-hosts)")
    files["SUMMARY.txt"] = ("\n".join(summary) + "\n").encode("utf-8")
    return files, summary


def _refuse_output(output: Path) -> str | None:
    """Why ``output`` cannot be the archive's path, or None. Only a regular file is
    ever replaced: a directory, a device (``/dev/null``), a FIFO, a socket or a symlink
    (to anything) is refused, and the directory must exist."""
    try:
        mode = os.lstat(output).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        return f"{output}: {exc.strerror or exc}"
    if mode is not None:
        if stat.S_ISLNK(mode):
            return f"{output} is a symbolic link: refusing to replace it (name the file itself)"
        if stat.S_ISDIR(mode):
            return f"{output} is a directory"
        if not stat.S_ISREG(mode):
            return (
                f"{output} is not a regular file (a device, FIFO or socket): refusing to replace it"
            )
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        return f"{output}: directory {parent} does not exist"
    return None


def write_archive(output: Path, files: dict[str, bytes], mtime: float, temporary: list[str]) -> int:
    """Write the archive to a new file with a random name in ``output``'s directory
    (``O_CREAT|O_EXCL|O_NOFOLLOW``: never a planted file or link), flush it to disk, then
    rename it over ``output`` in one step. Two bundles writing the same path each write
    their own complete archive; the last rename wins and neither is ever mixed. The
    temporary name is appended to ``temporary`` (the caller removes it on failure)."""
    import secrets as random

    parent = output.parent if str(output.parent) else Path(".")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(16):
        name = str(parent / f".{output.name}.{random.token_hex(8)}.tmp")
        try:
            fd = os.open(name, flags, 0o600)
            break
        except FileExistsError:
            continue
    else:
        raise OSError(17, "cannot create a temporary file")
    temporary.append(name)
    with os.fdopen(fd, "wb") as handle:
        with tarfile.open(fileobj=handle, mode="w:gz") as tar:
            for member, data in files.items():
                _member(tar, member, data, mtime)
        handle.flush()
        os.fsync(handle.fileno())
        size = os.fstat(handle.fileno()).st_size
    refused = _refuse_output(output)  # re-checked: a link or device planted meanwhile
    if refused:
        raise OSError(1, refused)
    os.rename(name, output)
    temporary.remove(name)
    return size


def _cleanup_on_signals() -> dict[int, Any]:
    """SIGTERM and SIGHUP end the run like Ctrl-C does (through ``finally`` blocks), so
    the temporary archive is removed; returns the previous handlers."""

    def stop(signum: int, frame: object) -> None:
        del frame
        raise SystemExit(128 + signum)

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[sig] = signal.signal(sig, stop)
        except (ValueError, OSError):  # not the main thread
            pass
    return previous


def _below(path: Path, root: Path) -> bool:
    import os

    base = os.path.abspath(root)
    return os.path.commonpath([base, os.path.abspath(path)]) == base


def _default_output() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(f"regdoctor-bundle-{stamp}.tar.gz")


def run(args: argparse.Namespace) -> int:
    from regdoctor.check.exit import exit_code
    from regdoctor.check.output import output_redactor
    from regdoctor.check.plan import plan as plan_run
    from regdoctor.check.request import UsageError
    from regdoctor.cli.request import request_from_args
    from regdoctor.reference.targets import InvalidReference

    try:
        plan = plan_run(request_from_args(args))
    except (UsageError, InvalidReference) as exc:
        say_error("bundle", exc, args=args)
        return int(ExitCode.CANNOT_RUN)
    output = Path(args.output) if args.output else _default_output()
    refused = _refuse_output(output)
    if refused:
        print(f"regdoctor bundle: error: {refused}", file=sys.stderr)
        return int(ExitCode.CANNOT_RUN)
    temporary: list[str] = []  # the temporary file, removed on any exit but success
    previous = _cleanup_on_signals()
    try:
        report = plan.run_sync(["regdoctor", *sys.argv[1:]])
        redactor = output_redactor(
            report,
            plan.redactor,
            redact_hosts=bool(getattr(args, "redact_hosts", False)),
            usernames=plan.usernames,
        )
        files, summary = build_bundle(
            report,
            redactor,
            context=plan.context(),
            root=plan.options.config_root,
            effective=plan.effective,
        )
        try:
            size = write_archive(output, files, time.time(), temporary)
        except OSError as exc:
            print(
                f"regdoctor bundle: cannot write {output}: {exc.strerror or exc}", file=sys.stderr
            )
            return int(ExitCode.CANNOT_RUN)
    finally:
        for name in temporary:
            with contextlib.suppress(OSError):
                os.unlink(name)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"regdoctor bundle: wrote {output} ({size / 1024:.1f} KiB), status {report.status}")
    for line in summary:
        print(line)
    return exit_code(report, getattr(args, "fail_on", None) or "warning")
