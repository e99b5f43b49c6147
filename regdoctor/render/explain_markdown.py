"""``regdoctor explain --format markdown``: an answer to paste into a ticket.

Pasted text only appears inside code spans or fenced blocks whose fence is longer than any
backtick run in it, and prose built from it is escaped, so a paste cannot add links,
images, HTML or headings to the ticket. Control characters are made visible
(``regdoctor.escape.safe_text``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from regdoctor.engine.explain import TextMatch
from regdoctor.engine.template import plural
from regdoctor.escape import clip, safe_text
from regdoctor.render.commands import markdown_remediation
from regdoctor.render.explain_common import lines_text, ordered_fields

__all__ = ["md_block", "md_code", "md_prose", "md_text", "render_explain_markdown"]


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_LIVE = re.compile(r"([\\\[\]<>&])")
_MD_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])")
_CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def md_text(value: object, max_chars: int = 3000) -> str:
    """Untrusted text as Markdown prose: control characters made visible, the characters
    that start emphasis, links, images, HTML, tables or code backslash-escaped, and a
    heading or list marker at the start neutralised. One line."""
    text = safe_text(value, keep_newlines=False, max_chars=max_chars)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(r"\1\\\2", text)


def md_prose(value: object, max_chars: int = 4000) -> str:
    """A rule's sentence (with values from the paste filled in) as Markdown: its code
    spans are kept (they render literally, whatever is inside), and outside them
    everything that could make a link, an image, HTML or an entity is escaped, as is a
    heading or list marker at the start. Emphasis characters are left alone: they can
    only change how the text looks. One line."""
    text = safe_text(value, keep_newlines=False, max_chars=max_chars)
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_MD_LIVE.sub(r"\\\1", text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_MD_LIVE.sub(r"\\\1", text[pos:]))
    return _MD_LINE_START.sub(r"\1\\\2", "".join(out))


def md_code(value: object, max_chars: int = 500) -> str:
    """Untrusted text as an inline code span (a fence longer than its backtick runs)."""
    text = safe_text(value, keep_newlines=False, max_chars=max_chars)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_block(value: object, info: str = "text", max_chars: int = 4000) -> list[str]:
    """Untrusted text as a fenced block whose fence no backtick run in it can close."""
    text = safe_text(value, keep_newlines=True, max_chars=max_chars)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *text.split("\n"), fence]


def render_explain_markdown(
    matches: Sequence[TextMatch],
    *,
    lines_read: int,
    report_markdown: str | None = None,
    omitted: str | None = None,
) -> str:
    """A ticket-ready Markdown answer."""
    recognised = [m for m in matches if m.recognised]
    out = ["## regdoctor explain", ""]
    if not recognised:
        out.append(
            f"No known registry error in the pasted text ({plural(lines_read, 'line')} read)."
        )
    else:
        lead = next((m for m in recognised if m.leading), recognised[0])
        out.append(
            f"{plural(len(recognised), 'registry error')} "
            f"recognised in {plural(lines_read, 'line')}; likely cause: {md_code(lead.category)}."
        )
    if omitted:
        out.append(md_text(omitted))
    out.append("")
    for i, m in enumerate(matches, start=1):
        marker = " (likely cause)" if m.leading and m.recognised else ""
        out.append(f"### {i}. {md_code(m.category)} {md_text(m.title)}{marker}")
        out.append("")
        meta = [f"rule {md_code(m.rule)}", f"severity {m.severity}", f"confidence {m.confidence}"]
        if m.fallback:
            meta.append("a guess: no rule matched")
        if m.lines:
            meta.append(md_text(lines_text(m)))
        out.append("- " + ", ".join(meta))
        fields = ordered_fields(m.fields)
        if fields:
            out.append("- found: " + ", ".join(f"{k} {md_code(v)}" for k, v in fields))
        if m.check:
            out.append(f"- check it live: {md_code(m.check)}")
        out.append("")
        if m.line:
            out += md_block(clip(m.line, 2000))
            out.append("")
        out.append(md_prose(" ".join(m.explanation.split()), max_chars=4000))
        out.append("")
        if m.alternatives:
            out.append("The text cannot tell which of these it is (likelier first):")
            out.append("")
            for alt in m.alternatives:
                out.append(f"- {md_code(alt.category)}: {md_prose(alt.reason, max_chars=1000)}")
            out.append("")
        if m.remediation:
            out.append("**Fix**")
            out.append("")
            out += markdown_remediation(
                m.remediation,
                clean_prose=lambda text: " ".join(text.split()),
                clean_command=lambda command: safe_text(command, max_chars=16000),  # never cut
            )
        if m.references:
            out.append("See: " + ", ".join(md_code(r) for r in m.references))
            out.append("")
    if report_markdown:
        out += ["---", "", report_markdown.rstrip("\n"), ""]
    out.append("<sub>Generated by `regdoctor explain`; secrets in the paste were masked.</sub>")
    return "\n".join(out).rstrip("\n") + "\n"
