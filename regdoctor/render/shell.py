"""Shell commands as text: split at the spaces outside quotes, and wrapped with
``\\`` continuations that a shell reads back as the same command."""

from __future__ import annotations

import re
import textwrap

from regdoctor.render.cells import cell_len

__all__ = ["heredoc_lines", "shell_words", "shell_wrap"]

_OPENER = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([A-Za-z0-9_]+))")


def heredoc_lines(lines: list[str]) -> list[bool]:
    """For each line of a command: is it part of a heredoc (its body or its closing
    delimiter)? Such a line must reach the shell exactly as written: not indented, not
    wrapped."""
    inside: list[bool] = []
    pending: list[tuple[str, bool]] = []
    current: tuple[str, bool] | None = None
    for line in lines:
        if current is not None:
            inside.append(True)
            delimiter, dash = current
            if (line.lstrip("\t") if dash else line) == delimiter:
                current = pending.pop(0) if pending else None
            continue
        inside.append(False)
        words = shell_words(line)
        code = line if words is None else " ".join(w for w in words if w)
        if "#" in code:
            # a comment cannot open a heredoc
            code = re.split(r"(?:^|\s)#", code, maxsplit=1)[0]
        for m in _OPENER.finditer(code):
            if code[m.start() :].startswith("<<<"):
                continue
            delimiter = m.group(2) or m.group(3) or m.group(4) or ""
            pending.append((delimiter, bool(m.group(1))))
        if pending:
            current = pending.pop(0)
    return inside


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


def shell_wrap(line: str, width: int, *, long_words: bool = False) -> list[str] | None:
    """``line`` broken between words into lines of at most ``width`` cells, each but the
    last ending in `` \\`` (a POSIX shell line continuation), continuation lines indented
    by two spaces. ``None`` if that cannot be done without changing the command; with
    ``long_words``, a word wider than ``width`` goes on a line of its own instead (the
    command is kept; that line is wider)."""
    if cell_len(line) <= width:
        return [line]
    if line.lstrip().startswith("#"):
        # A comment line: quotes in it mean nothing to the shell.
        comment = line.lstrip().lstrip("#").strip()
        return [
            "# " + part
            for part in textwrap.wrap(
                comment, max(width - 2, 10), break_long_words=False, break_on_hyphens=False
            )
        ] or ["#"]
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
        below = shell_wrap(code, width, long_words=long_words)
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
        if cell_len(current) + 2 > width and not long_words:
            return None
    lines.append(current)
    if cell_len(lines[0]) > width and not long_words:
        return None
    return lines
