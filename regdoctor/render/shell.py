"""Shell commands as text: split at the spaces outside quotes, and wrapped with
``\\`` continuations that a shell reads back as the same command."""

from __future__ import annotations

import textwrap

from rich.cells import cell_len

__all__ = ["shell_words", "shell_wrap"]


def shell_words(line: str) -> list[str] | None:
    """Split a shell command at the spaces outside quotes, keeping every character."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    escaped = False
    for ch in line:
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == " ":
            words.append("".join(current))
            current = []
            continue
        current.append(ch)
    if quote or escaped:
        return None
    words.append("".join(current))
    return words


def shell_wrap(line: str, width: int) -> list[str] | None:
    """``line`` broken between words into lines of at most ``width`` cells, each but the
    last ending in `` \\`` (a POSIX shell line continuation), continuation lines indented
    by two spaces. ``None`` if that cannot be done without changing the command."""
    if cell_len(line) <= width:
        return [line]
    words = shell_words(line)
    if words is None:
        return None  # unbalanced quotes: do not guess
    # Runs of spaces outside quotes mean the same to a shell as one space.
    words = [w for w in words if w]
    if not words:
        return None
    comment_at = next((i for i, w in enumerate(words) if w.startswith("#")), None)
    if comment_at is not None:
        # A continuation inside a comment would end the command: the comment goes on its
        # own lines above the command instead (the same thing to a shell).
        comment = " ".join(words[comment_at:]).lstrip("#").strip()
        code = " ".join(words[:comment_at]).rstrip()
        above = [
            "# " + part
            for part in textwrap.wrap(
                comment, max(width - 2, 10), break_long_words=True, break_on_hyphens=False
            )
        ] or ["#"]
        if not code:
            return above
        below = shell_wrap(code, width)
        return None if below is None else above + below
    lines: list[str] = []
    current = words[0]
    for word in words[1:]:
        candidate = f"{current} {word}"
        if cell_len(candidate) + 2 <= width:
            current = candidate
            continue
        lines.append(current + " \\")
        current = "  " + word
        if cell_len(current) + 2 > width:
            return None
    lines.append(current)
    if cell_len(lines[0]) > width:
        return None
    return lines
