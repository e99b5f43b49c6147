"""regdoctor.escape: untrusted text is data."""

from __future__ import annotations

import io
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from regdoctor.escape import ELLIPSIS, clip, safe_lines, safe_text, text


def _printed(renderable: object) -> str:
    buf = io.StringIO()
    Console(file=buf, width=200, force_terminal=True, color_system="truecolor").print(renderable)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("\x1b]52;c;ZWNobyBwd25lZA==\x07", "\\x1b]52;c;ZWNobyBwd25lZA==\\x07"),
        ("fine\roverwritten", "fine\\roverwritten"),
        ("a\r\nb", "a\nb"),
        ("\x9b31m", "\\x9b31m"),
        ("\x00\x7f", "\\x00\\x7f"),
        ("left\u202eright", "left\\u202eright"),
        ("line\u2028sep", "line\\u2028sep"),
        ("tab\there", "tab\there"),
        ("[bold red]hi[/]", "[bold red]hi[/]"),
        ("ünïcödé ✓ 日本", "ünïcödé ✓ 日本"),
    ],
)
def test_safe_text(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown


def test_safe_text_single_line_mode() -> None:
    assert safe_text("a\nb\tc", keep_newlines=False) == "a\\nb\\tc"


def test_safe_text_none_and_objects() -> None:
    assert safe_text(None) == ""
    assert safe_text(42) == "42"


def test_truncation_of_a_megabyte() -> None:
    big = "x" * 1_000_000
    start = time.perf_counter()
    out = safe_text(big, max_chars=300)
    assert time.perf_counter() - start < 1
    assert len(out) == 300
    assert out.endswith(ELLIPSIS)
    hostile = "\x1b" * 1_000_000
    out = safe_text(hostile, max_chars=300)
    assert len(out) == 300 and "\x1b" not in out


def test_clip() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab" + ELLIPSIS
    assert clip("abcd", 3, "...") == "..."


def test_safe_lines() -> None:
    value = "\r\nfirst\r\n\tindented\n" + "y" * 1000 + "\n" + "\n".join(str(i) for i in range(50))
    lines = safe_lines(value, max_line=100, max_lines=4)
    assert lines[0] == "first"
    assert lines[1] == "    indented"
    assert len(lines[2]) == 100 and lines[2].endswith(ELLIPSIS)
    assert lines[-1] == f"{ELLIPSIS} (49 more lines)"
    assert len(lines) == 5
    assert safe_lines(None) == []
    assert safe_lines("x" * 1_000_000, max_line=300)[0] == "x" * 299 + ELLIPSIS


def test_text_is_never_markup() -> None:
    out = _printed(text("[bold red]hi[/] :smile: \x1b[31mred"))
    assert "[bold red]hi[/]" in out
    assert ":smile:" in out
    assert "\x1b[31mred" not in out
    assert "\\x1b[31mred" in out


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_no_control_character_survives(raw: str) -> None:
    for out in (safe_text(raw), safe_text(raw, keep_newlines=False), *safe_lines(raw)):
        bad = [c for c in out if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]
        assert not bad, (raw, out)
