"""``regdoctor explain``, plain: for a person at a terminal (Rich), or piped (no Rich).

Pasted text is untrusted: the engine has already redacted it (``regdoctor.redact.secrets``), and
every value taken from it goes through :func:`~regdoctor.escape.safe_text` here
(control characters and escape sequences become visible text) and into the renderer's
``Text`` objects (Rich's, or on a :class:`~regdoctor.render.plain_console.PlainConsole`
the same layout without Rich: :mod:`regdoctor.render.plain_text`), never into markup.

Plain layout, per recognised error (readable at 80 columns and with ``NO_COLOR``)::

    [error] tls.unknown_authority  The certificate of r.example:5000 is not signed …
        (tls-unknown-authority, likely cause)  line 3
        seen: Error response from daemon: Get "https://r.example:5000/v2/": x509: …
        found: registry=r.example:5000 host=r.example
        The client could not verify the certificate that … (the explanation)
        1. Get the CA certificate that signed …
             docker:     sudo mkdir -p /etc/docker/certs.d/r.example:5000
        check it live: regdoctor check r.example:5000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from regdoctor.engine.explain import TextMatch
from regdoctor.render.explain_common import excerpt, lines_text, ordered_fields
from regdoctor.render.plain import _PlainRenderer
from regdoctor.render.plain_console import PlainConsole

if TYPE_CHECKING:
    from rich.console import Console

    from regdoctor.render.plain_console import TextConsole

__all__ = ["render_explain_plain"]

_SEVERITY_STYLE = {"error": "red bold", "warning": "yellow bold", "info": "cyan"}


class _ExplainRenderer(_PlainRenderer):
    def explain(
        self, matches: Sequence[TextMatch], lines_read: int, omitted: str | None = None
    ) -> None:
        for i, match in enumerate(matches):
            if i:
                self.emit()
            self.match(match)
        self.emit()
        if omitted:
            self.wrap_hanging(
                self.Text(self.clean(omitted, max_chars=300), style="yellow"), indent=4
            )
        self.explain_summary(matches, lines_read)
        self.flush()

    def match(self, m: TextMatch) -> None:
        severity = str(m.severity)
        head = self.Text("")
        head.append(f"[{severity}]", style=_SEVERITY_STYLE.get(severity, ""))
        head.append(" ")
        body = self.Text()
        body.append(self.clean(m.category, max_chars=60), style="bold")
        body.append("  ")
        body.append(self.clean(m.title))
        self.hang(head, body, indent=4)

        meta = [self.clean(m.rule, max_chars=80)]
        if m.leading and m.recognised:
            meta.append("likely cause")
        if m.confidence and m.confidence != "high":
            meta.append(f"confidence {self.clean(m.confidence, max_chars=20)}")
        if m.fallback:
            meta.append("a guess: no rule matched")
        where = self.Text(" " * 4)
        where.append(f"({', '.join(meta)})", style="dim")
        lines = lines_text(m)
        if lines:
            where.append("  ")
            where.append(lines)
        self.hang(self.Text(""), where, indent=4)

        if m.line:
            shown, start, end = excerpt(self.clean(m.line, max_chars=None), m.span)
            seen = self.Text(shown)
            if end > start:
                seen.stylize("bold underline", start, end)
            prefix = self.Text(" " * 4)
            prefix.append("seen:", style="dim")
            prefix.append(" ")
            self.hang(prefix, seen, indent=6)
        fields = ordered_fields(m.fields)
        if fields:
            prefix = self.Text(" " * 4)
            prefix.append("found:", style="dim")
            prefix.append(" ")
            parts = " ".join(
                f"{self.clean(k, max_chars=30)}={self.clean(v, max_chars=120)}" for k, v in fields
            )
            self.hang(prefix, self.Text(parts), indent=6)

        for line in self.lines_of(m.explanation, max_lines=40, max_line=3000):
            self.para(self.Text(line), indent=4)
        if m.alternatives:
            self.para(
                self.Text("The text cannot tell which of these it is (likelier first):"), indent=4
            )
            for alt in m.alternatives:
                prefix = self.Text("    - ")
                body = self.Text()
                body.append(self.clean(alt.category, max_chars=60), style="bold")
                body.append(": " + self.clean(alt.reason, max_chars=1000))
                self.hang(prefix, body, indent=6)
        for number, step in enumerate(m.remediation, start=1):
            prefix = self.Text(f"    {number}. ")
            self.hang(prefix, self.Text(self.clean(step.text, max_chars=3000)), indent=7)
            self.commands(step, indent=prefix.cell_len)
        for ref in m.references:
            self.reference(ref)
        if m.check:
            prefix = self.Text(" " * 4)
            prefix.append("check it live:", style="dim")
            prefix.append(" ")
            self.hang(prefix, self.Text(self.clean(m.check, max_chars=300), style="bold"), indent=6)

    def explain_summary(self, matches: Sequence[TextMatch], lines_read: int) -> None:
        recognised = [m for m in matches if m.recognised]
        read = f"{lines_read} line{'s' if lines_read != 1 else ''} read"
        line = self.Text()
        if not recognised:
            line.append("No known registry error", style="bold")
            line.append(f" in the text ({read}; exit code 0)")
        else:
            errors = sum(1 for m in recognised if str(m.severity) == "error")
            warnings = sum(1 for m in recognised if str(m.severity) == "warning")
            code = 2 if errors else (1 if warnings else 0)
            parts = []
            if errors:
                parts.append(f"{errors} error{'s' if errors != 1 else ''}")
            if warnings:
                parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
            infos = len(recognised) - errors - warnings
            if infos:
                parts.append(f"{infos} note{'s' if infos != 1 else ''}")
            style = "red bold" if errors else "yellow bold"
            line.append(" and ".join(parts) + " explained", style=style)
            lead = next((m for m in recognised if m.leading), None)
            if lead is not None:
                line.append(f", likely cause {self.clean(lead.category, max_chars=60)}")
            line.append(f" ({read}; exit code {code})")
        self.wrap_hanging(line, indent=4)


def render_explain_plain(
    matches: Sequence[TextMatch],
    console: TextConsole,
    *,
    lines_read: int,
    omitted: str | None = None,
) -> None:
    """Print ``matches`` for a person (see the module docstring for the layout);
    ``omitted``: one sentence on the errors left out past the cap."""
    # A PlainConsole offers what the renderer calls of a Console (see plain_console).
    renderer = _ExplainRenderer(
        cast("Console", console),
        verbose=False,
        redactor=None,
        plain_text=isinstance(console, PlainConsole),
    )
    renderer.explain(matches, lines_read, omitted)
