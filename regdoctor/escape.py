"""Untrusted text is data.

Anything a server, a config file or a paste says may contain terminal escape sequences
(``ESC ] 52`` writes the clipboard, ``ESC [ 2J`` clears the screen), carriage returns that
overwrite what was printed, bidirectional overrides that reorder it, or Rich markup
(``[bold red]``). Before such text reaches the terminal it goes through :func:`safe_text`,
which turns every such character into a visible escape (``\\x1b``, ``\\r``, ``\\u202e``),
and it is put into a :class:`rich.text.Text` (never parsed as markup); when a markup
string is really needed, :func:`rich.markup.escape` is the tool.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

__all__ = [
    "ELLIPSIS",
    "MAX_LINE",
    "MAX_LINES",
    "clip",
    "safe_lines",
    "safe_text",
    "text",
]

#: Default limit for one line of untrusted text on the terminal, in characters.
MAX_LINE = 300
#: Default limit for the number of lines of one untrusted value on the terminal.
MAX_LINES = 12
ELLIPSIS = "…"

# C0 controls except TAB and LF, DEL, C1 controls, bidi embeddings/overrides/isolates,
# LINE/PARAGRAPH SEPARATOR, BOM / zero-width no-break space, and the interlinear
# annotation characters.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
_UNSAFE_NO_NEWLINES = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(m: re.Match[str]) -> str:
    ch = m.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_text(
    s: object,
    *,
    keep_newlines: bool = True,
    max_chars: int | None = None,
) -> str:
    """Return ``s`` as text that is safe to show: no control character survives.

    Each C0/C1 control character, DEL and Unicode direction/line-separator character is
    replaced by a visible escape (``\\x1b``, ``\\r``, ``\\x9b``, ``\\u202e``); an escape
    sequence such as ``ESC [ 2 J`` therefore shows as the harmless text ``\\x1b[2J``.
    ``CRLF`` becomes ``LF``. Newlines and tabs are kept unless ``keep_newlines`` is false
    (then they show as ``\\n``/``\\t``). With ``max_chars``, the result is cut to at most
    that many characters, ending with an ellipsis. ``None`` gives ``""``; other objects
    are converted with ``str``.
    """
    if s is None:
        return ""
    value = s if isinstance(s, str) else str(s)
    if max_chars is not None and len(value) > 4 * max_chars + 8:
        # Escaping can only make text longer: no need to look at more than this.
        value = value[: 4 * max_chars + 8]
    if keep_newlines:
        value = value.replace("\r\n", "\n")
        value = _UNSAFE.sub(_escape_char, value)
    else:
        value = _UNSAFE_NO_NEWLINES.sub(_escape_char, value)
    if max_chars is not None:
        value = clip(value, max_chars)
    return value


def clip(value: str, max_chars: int, ellipsis: str = ELLIPSIS) -> str:
    """``value`` cut to at most ``max_chars`` characters, ending with ``ellipsis`` if cut."""
    if len(value) <= max_chars:
        return value
    keep = max(0, max_chars - len(ellipsis))
    return value[:keep] + ellipsis


def safe_lines(
    s: object,
    *,
    max_line: int = MAX_LINE,
    max_lines: int = MAX_LINES,
    ellipsis: str = ELLIPSIS,
) -> list[str]:
    """Split untrusted text into safe lines for the terminal.

    Each line is escaped (:func:`safe_text`) and clipped to ``max_line`` characters; at
    most ``max_lines`` lines are returned, the last one saying how many more there were.
    Tabs become spaces so that widths are right. Empty leading/trailing lines are dropped.
    """
    if s is None:
        return []
    value = (s if isinstance(s, str) else str(s)).replace("\r\n", "\n").strip("\n")
    parts = value.split("\n", max_lines)
    rest = parts.pop() if len(parts) > max_lines else ""
    lines = [
        clip(safe_text(part, max_chars=max_line).expandtabs(4), max_line, ellipsis)
        for part in parts
    ]
    if rest:
        more = rest.count("\n") + 1
        lines.append(f"{ellipsis} ({more} more line{'s' if more != 1 else ''})")
    return lines


def text(s: object, style: str = "", *, max_chars: int | None = None) -> Text:
    """A :class:`rich.text.Text` holding ``s`` made safe: data, never markup."""
    from rich.text import Text  # here, not at the top: JSON output needs no Rich

    return Text(safe_text(s, keep_newlines=False, max_chars=max_chars), style=style)
