"""The one-line error every command prints before exiting 3: redacted, and escaped (an
exception text can quote a server, a file or a paste)."""

from __future__ import annotations

import sys


def say_error(command: str, message: object) -> None:
    from regdoctor.redact import redact
    from regdoctor.render.escape import safe_text

    text = safe_text(redact(str(message)), keep_newlines=False)
    print(f"regdoctor {command}: error: {text}", file=sys.stderr)
