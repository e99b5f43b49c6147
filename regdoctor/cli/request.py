"""From parsed arguments to a :class:`~regdoctor.check.request.CheckRequest`: the only
place that knows the argument names of the shared check options. ``check``, ``serve``,
``bundle``, ``tui``, ``tags`` and ``bench`` all build their request here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from regdoctor.check.request import NAMED_FILES, CheckRequest, UsageError
from regdoctor.model import Secret

__all__ = ["read_password", "request_from_args"]


def read_password(args: argparse.Namespace) -> Secret | None:
    """The password piped on standard input with ``--password-stdin`` (once per process:
    the value is kept on ``args`` so that a later usage error can mask it)."""
    if not getattr(args, "password_stdin", False):
        return None
    kept = getattr(args, "_password", None)
    if isinstance(kept, Secret):
        return kept
    if not getattr(args, "username", None):
        raise UsageError("--password-stdin needs --username")
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("--password-stdin: pipe the password on standard input")
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise UsageError("--password-stdin: standard input was empty")
    args._password = Secret(password)
    return args._password


def request_from_args(
    args: argparse.Namespace, *, targets: Sequence[str] | None = None
) -> CheckRequest:
    """The request the shared check options describe (absent options keep defaults)."""

    def text(name: str) -> str | None:
        value = getattr(args, name, None)
        return str(value) if value else None

    def texts(name: str) -> tuple[str, ...]:
        return tuple(str(v) for v in getattr(args, name, None) or ())

    return CheckRequest(
        targets=tuple(targets) if targets is not None else texts("targets"),
        timeout=getattr(args, "timeout", None),
        deadline=float(getattr(args, "deadline", 30.0)),
        dns_server=text("dns_server"),
        ca_files=texts("ca_file"),
        cert=text("cert"),
        key=text("key"),
        username=text("username"),
        password=read_password(args),
        platforms=texts("platform"),
        insecure=bool(getattr(args, "insecure", False)),
        root=text("root"),
        config_files={key: value for key in NAMED_FILES if (value := text(key))},
        runtime=text("runtime") or "",
        kube_manifests=texts("kube_manifests"),
        rules_dirs=texts("rules_dir"),
        no_config=bool(getattr(args, "no_config", False)),
        debug=bool(getattr(args, "debug", False)),
    )
