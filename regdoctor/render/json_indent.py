"""``json.dumps(value, indent=1)``, byte for byte, about three times faster.

The standard library's C encoder only writes compact JSON; with ``indent`` it falls back
to a pure-Python encoder built from nested generators, which spent more time on a
2,000-tag scan's half-megabyte document than the scan's own bookkeeping. This writer
appends to one list and uses the C string escaper. It covers the types a document built
from ``to_dict()`` holds (dict with string keys, list, tuple, str, int, float, bool,
None); anything else goes to ``json.dumps`` itself, so the result never differs.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

__all__ = ["dumps_indent1"]

_INF = float("inf")


class _Unsupported(Exception):
    pass


def dumps_indent1(value: Any) -> str:
    """The same text as ``json.dumps(value, indent=1)``."""
    out: list[str] = []
    try:
        _write(value, out, "\n")
    except (_Unsupported, RecursionError):
        return json.dumps(value, indent=1)
    return "".join(out)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    return float.__repr__(value)


def _write(value: Any, out: list[str], newline: str) -> None:
    # ``newline`` is "\n" and the current indentation: one space per level
    if isinstance(value, str):
        out.append(encode_basestring_ascii(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + " "
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Unsupported  # json.dumps converts such keys: let it
            kind = type(item)
            if kind is str:  # the common leaves, written in one piece
                out.append(
                    f"{separator}{encode_basestring_ascii(key)}: {encode_basestring_ascii(item)}"
                )
            elif item is None:
                out.append(f"{separator}{encode_basestring_ascii(key)}: null")
            elif kind is int:
                out.append(f"{separator}{encode_basestring_ascii(key)}: {int.__repr__(item)}")
            else:
                out.append(f"{separator}{encode_basestring_ascii(key)}: ")
                _write(item, out, inner)
            separator = "," + inner
        out.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = newline + " "
        separator = "[" + inner
        for item in value:
            if type(item) is str:
                out.append(separator + encode_basestring_ascii(item))
            else:
                out.append(separator)
                _write(item, out, inner)
            separator = "," + inner
        out.append(newline + "]")
    else:
        raise _Unsupported
