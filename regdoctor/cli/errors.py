"""The one-line error every command prints before exiting 3: redacted, and escaped (an
exception text can quote a server, a file or a paste)."""

from __future__ import annotations

import argparse
import functools
import re
import sys


@functools.cache
def _userinfo() -> re.Pattern[str]:
    return re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*?:([^/@]+)@")


def say_error(command: str, message: object, *, args: argparse.Namespace | None = None) -> None:
    """Print ``regdoctor COMMAND: error: MESSAGE``. With ``args``, the password read from
    standard input and any ``user:password@`` of a TARGET are masked too (a usage error
    may quote them)."""
    from regdoctor.escape import safe_text
    from regdoctor.redact.secrets import Redactor

    redactor = Redactor()
    if args is not None:
        password = getattr(args, "_password", None)
        if password is not None:
            redactor.add(password)
        for raw in getattr(args, "targets", None) or []:
            userinfo = _userinfo().match(str(raw))
            if userinfo:  # a pasted https://user:password@host: the error quotes it
                redactor.add(userinfo.group(1))
    text = safe_text(redactor.redact(str(message)), keep_newlines=False)
    print(f"regdoctor {command}: error: {text}", file=sys.stderr)
