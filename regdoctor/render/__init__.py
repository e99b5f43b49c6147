"""Renderers: present a :class:`~regdoctor.model.Report`; they never compute a verdict.

``RENDERERS`` is the explicit table the CLI's ``--format`` chooses from. Every entry has
the same shape, :class:`Renderer`: ``(report, console, *, verbose=False, redactor=None)``,
writing to ``console``. ``render_json`` (text out) and ``render_plain`` are importable on
their own for callers that want a string or a custom console.

Importing this package is cheap: each renderer's module (Rich, XML for JUnit, host
information for Markdown...) is imported when that renderer is first used, so that a
command needing one small module of this package (``regdoctor explain`` and
``regdoctor.escape``) does not pay for all of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console

    from regdoctor.model import Report, ReportContext
    from regdoctor.redact.secrets import Redactor
    from regdoctor.render.json_out import render_json
    from regdoctor.render.plain import render_plain

__all__ = ["RENDERERS", "Renderer", "render_json", "render_plain", "write_json"]


class Renderer(Protocol):
    """``context``: what the command collected beside the judgement (host, configuration
    files, environment); a renderer shows it or ignores it, never collects it."""

    def __call__(
        self,
        report: Report,
        console: Console,
        *,
        verbose: bool = False,
        redactor: Redactor | None = None,
        context: ReportContext | None = None,
    ) -> None: ...


def write_json(
    report: Report,
    console: Console,
    *,
    verbose: bool = False,
    redactor: Redactor | None = None,
    context: ReportContext | None = None,
) -> None:
    """Write the schema-v3 JSON document to ``console`` verbatim (no wrapping, no markup,
    no highlighting). ``verbose`` and ``context`` change nothing."""
    from regdoctor.render.json_out import render_json

    del verbose, context
    console.out(render_json(report, redactor=redactor), highlight=False)


def _lazy(module: str, name: str) -> Renderer:
    """A renderer that imports ``regdoctor.render.<module>`` on its first call."""

    def render(report: Report, console: Console, **kwargs: Any) -> None:
        function = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        function(report, console, **kwargs)

    render.__name__ = render.__qualname__ = name
    render.__doc__ = f"``regdoctor.render.{module}.{name}``, imported on first use."
    return render


RENDERERS: dict[str, Renderer] = {
    "plain": _lazy("plain", "render_plain"),
    "json": write_json,
    "markdown": _lazy("markdown", "render_markdown"),
    "prometheus": _lazy("prometheus", "render_prometheus"),
    "junit": _lazy("junit", "render_junit"),
}

_EXPORTS = {"render_json": "json_out", "render_plain": "plain"}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
