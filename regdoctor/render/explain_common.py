"""What the ``regdoctor explain`` renderers share (no Rich, no network: imported by the
JSON output too)."""

from __future__ import annotations

from collections.abc import Mapping

from regdoctor.engine.explain import TextMatch

__all__ = ["FIELD_ORDER", "SCHEMA_NAME", "excerpt", "lines_text", "ordered_fields"]

SCHEMA_NAME = "explain-v1"
#: The order extracted fields are shown in (others follow, sorted).
FIELD_ORDER = (
    "registry",
    "image",
    "repository",
    "tag",
    "digest",
    "host",
    "port",
    "address",
    "resolver",
    "realm_host",
    "proxy",
    "status",
    "code",
    "platform",
)
_SEEN_CHARS = 240


def ordered_fields(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    keys = [k for k in FIELD_ORDER if fields.get(k)]
    keys += sorted(k for k in fields if k not in FIELD_ORDER and fields.get(k) and k != "url")
    return [(k, str(fields[k])) for k in keys]


def lines_text(match: TextMatch) -> str:
    if not match.lines:
        return ""
    shown = ", ".join(str(n) for n in match.lines[:8])
    more = ""
    if match.count > 8:
        more = f" … ({match.count} lines)"
    word = "line" if len(match.lines) == 1 else "lines"
    return f"{word} {shown}{more}"


def excerpt(line: str, span: tuple[int, int], width: int = _SEEN_CHARS) -> tuple[str, int, int]:
    """At most ``width`` characters of ``line`` around ``span``; the span moved with it."""
    start, end = span
    if len(line) <= width:
        return line, start, end
    if end - start >= width - 2:
        cut = line[start : start + width - 1] + "…"
        return cut, 0, width - 1
    room = width - (end - start)
    left = max(0, min(start - room // 3, len(line) - width))
    right = left + width
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(line) else ""
    body = line[left + len(prefix) : right - len(suffix)]
    offset = left + len(prefix) - len(prefix)
    return prefix + body + suffix, start - offset, end - offset
