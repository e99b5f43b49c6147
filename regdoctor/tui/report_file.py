"""Write the report to a file: the renderers of ``regdoctor check``, nothing new.

``.md``/``.markdown`` → :func:`regdoctor.render.markdown.markdown_text`; anything else →
:func:`regdoctor.render.json_out.render_json` (schema v3). Redaction is the renderers'.
"""

from __future__ import annotations

import os
from pathlib import Path

from regdoctor.model import Report
from regdoctor.options import CheckOptions
from regdoctor.redact.secrets import Redactor

MARKDOWN_SUFFIXES = (".md", ".markdown")


def format_of(path: Path) -> str:
    return "markdown" if path.suffix.lower() in MARKDOWN_SUFFIXES else "json"


def write_report(report: Report, path: Path, options: CheckOptions | None = None) -> str:
    """Write ``report`` to ``path`` (atomically) and return the format written, masked by
    the run's redactor (which knows the secrets met during the run)."""
    redactor = options.redactor if options is not None else None
    if redactor is None:
        credentials = options.credentials if options is not None else None
        redactor = Redactor([credentials.password] if credentials else [])
    fmt = format_of(path)
    if fmt == "markdown":
        from regdoctor.render.markdown import markdown_text

        text = markdown_text(report, redactor=redactor)
    else:
        from regdoctor.render.json_out import render_json

        text = render_json(report, redactor=redactor)
    path = path.expanduser()
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    return fmt
