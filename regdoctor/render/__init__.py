"""Renderers: present a :class:`~regdoctor.model.Report`; they never compute a verdict.

``RENDERERS`` is the explicit table the CLI's ``--format`` chooses from. Every entry has
the same shape, :class:`Renderer`: ``(report, console, *, verbose=False, redactor=None)``,
writing to ``console``. ``render_json`` (text out) and ``render_plain`` are importable on
their own for callers that want a string or a custom console.
"""

from __future__ import annotations

from typing import Protocol

from rich.console import Console

from regdoctor.model import Report
from regdoctor.redact import Redactor
from regdoctor.render.json_out import render_json
from regdoctor.render.plain import render_plain

__all__ = ["RENDERERS", "Renderer", "render_json", "render_plain", "write_json"]


class Renderer(Protocol):
    def __call__(
        self,
        report: Report,
        console: Console,
        *,
        verbose: bool = False,
        redactor: Redactor | None = None,
    ) -> None: ...


def write_json(
    report: Report,
    console: Console,
    *,
    verbose: bool = False,
    redactor: Redactor | None = None,
) -> None:
    """Write the schema-v1 JSON document to ``console`` verbatim (no wrapping, no markup,
    no highlighting). ``verbose`` changes nothing: the document is always complete."""
    del verbose
    console.out(render_json(report, redactor=redactor), highlight=False)


RENDERERS: dict[str, Renderer] = {
    "plain": render_plain,
    "json": write_json,
}
