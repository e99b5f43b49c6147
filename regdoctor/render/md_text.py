"""Text made safe for Markdown (GitHub/GitLab-flavoured, CommonMark): code spans and
fenced blocks that hold anything literally, table cells, prose that stays prose (no
link, image, HTML, heading or table can come out of it), and links.
"""

from __future__ import annotations

import re

__all__ = ["cell", "code", "fence", "link", "prose"]


def _backtick_run(text: str) -> int:
    runs = [len(m) for m in re.findall(r"`+", text)]
    return max(runs, default=0)


def code(text: str) -> str:
    """An inline code span holding ``text`` literally (not in a table: see :func:`cell`)."""
    text = text.replace("\n", " ")
    if not text.strip():
        return ""
    ticks = "`" * (_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def cell(text: str) -> str:
    """An inline code span for a table cell: a ``|`` is escaped as GFM wants it there
    (``\\|``, also inside code), so that it neither ends the cell nor changes."""
    return code(text).replace("|", "\\|")


#: Characters with a meaning anywhere in a CommonMark/GFM line.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~!])")
#: What a line must not start with (a heading, a list, a quote, a rule, a table, HTML).
_BLOCK_START = re.compile(r"^(\s*(?:\d{1,9})?)(>|[#+-](?=\s|$)|(?<=\d)[.)](?=\s|$))")
#: What a GFM renderer would turn into a link (anywhere in a word): shown as code.
_LINKISH = re.compile(r"(\w+://[^\s`]+|www\.[^\s`]+|[\w.+-]+@[\w-]+\.[\w.-]+)")


def prose(text: str) -> str:
    """``text`` as one Markdown paragraph that shows it literally: `backtick spans` as
    code spans, URL-like words as code spans, Markdown punctuation escaped, ``&`` as an
    entity. Nothing in it can become a link, an image, HTML, a heading or a table."""
    out: list[str] = []
    for i, part in enumerate(re.split(r"(`[^`\n]+`)", " ".join(text.split()))):
        if i % 2:
            out.append(code(part[1:-1]))
            continue
        for j, piece in enumerate(_LINKISH.split(part)):
            if j % 2:
                core = piece.rstrip(".,;:)]\"'")
                out.append(code(core) + _escape_inline(piece[len(core) :]))
            else:
                out.append(_escape_inline(piece))
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), "".join(out), count=1)


def _escape_inline(text: str) -> str:
    return _INLINE_SPECIAL.sub(r"\\\1", text.replace("&", "&amp;"))


_SAFE_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~/%?=&+#:@!$,;-]*)?$")


def link(url: str) -> str:
    """A web address as an autolink when it is a plain one, else as code."""
    return f"<{url}>" if _SAFE_URL.match(url) else code(url)


def fence(text: str, info: str = "") -> list[str]:
    """A fenced code block holding ``text`` literally."""
    ticks = "`" * max(3, _backtick_run(text) + 1)
    return [f"{ticks}{info}", *text.splitlines(), ticks]
