"""PlainText lays text out exactly as rich.text.Text does: Text.wrap at every width and
overflow, and PlainConsole printing PlainText writes what Rich's Console writes for the
same Text (chosen hostile text: wide characters, combining marks, a digest and a URL
longer than the width, tabs, escapes a server sent; and random text)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from regdoctor.escape import safe_lines, safe_text
from regdoctor.render.plain_console import PlainConsole
from regdoctor.render.plain_text import PlainText

DIGEST = "sha256:" + "0123456789abcdef" * 4
URL = "https://registry.example.com:5000/v2/team/app/manifests/" + DIGEST + "?scope=pull"
TEXTS = (
    "",
    " ",
    "   leading and trailing spaces   ",
    "manifest unknown: tag 1.2 (repository exists)",
    f"digest {DIGEST} not found",
    f"see {URL} for more",
    URL,
    "レジストリ.example:5000 の証明書は期限切れです。更新してください。" * 2,
    "中文错误信息\uff1a证书已过期 x509: certificate has expired",
    "e\u0301te\u0301 re\u0301fe\u0301rence\u0300 ca\u0327a \u0915\u093f\u0924\u093e\u092c",
    "\ud55c\uad6d\uc5b4 \u1100\u1161\u11a8 \uff71\uff72\uff73 \uff21\uff22\uff23 wide",
    "tab\tseparated\tcolumns\t\tend",
    "\tleading tab",
    "zero\u200bwidth\u200bspaces and a fam\U0001f468\u200d\U0001f469\u200d\U0001f467ily",
    "\u2764\ufe0f heart and \U0001fa76 newer than Python 3.11's Unicode",
    "two\n\nparagraphs\nand a trailing newline\n",
    safe_text(
        "\x1b[31mred\x1b[0m \x1b]52;c;SGVsbG8=\x07 \r overwrite \u202egnp.exe", keep_newlines=False
    ),
    *safe_lines("line one\r\nline\ttwo\x1b[2J\nline three " + "x" * 120),
    "✓ OK  r.example  pulls from http://r.example:5000 · ✗ ERROR … \u2013 ·",
    "word " * 40,
    "a" * 200,
)
WIDTHS = (1, 2, 3, 7, 10, 23, 40, 80, 137)
OVERFLOWS = ("fold", "crop", "ellipsis", "ignore")


def _rich_lines(text: str, width: int, **options: object) -> list[str]:
    console = Console(file=io.StringIO(), width=200)
    return [line.plain for line in Text(text).wrap(console, width, **options)]  # type: ignore[arg-type]


def _plain_lines(text: str, width: int, **options: object) -> list[str]:
    return [line.plain for line in PlainText(text).wrap(None, width, **options)]  # type: ignore[arg-type]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_wrap_is_rich_wrap(text: str) -> None:
    for width in WIDTHS:
        for overflow in OVERFLOWS:
            for no_wrap in (False, True):
                options = {"overflow": overflow, "no_wrap": no_wrap}
                expected = _rich_lines(text, width, **options)
                assert _plain_lines(text, width, **options) == expected, (width, options)


ALPHABET = (
    "abcdefghij  --//::..\t\u00e9\u0301\u4e2d\u6587\uff71\u2713\u2026\u200d\u200b"
    "\u1160\uac00\u2630\U0001f600\ufe0f"
)


@given(
    st.text(alphabet=st.sampled_from(ALPHABET), max_size=120),
    st.integers(min_value=1, max_value=50),
    st.sampled_from(OVERFLOWS),
    st.booleans(),
)
def test_random_text_wraps_as_rich_wraps(
    text: str, width: int, overflow: str, no_wrap: bool
) -> None:
    options = {"overflow": overflow, "no_wrap": no_wrap}
    assert _plain_lines(text, width, **options) == _rich_lines(text, width, **options)


def test_building_lines_is_rich_building_lines() -> None:
    """What the renderer does with its lines: append (styles dropped), +, join, rstrip,
    cell_len; control codes Text removes are removed."""
    for kind in (Text, PlainText):
        line = kind("  ")
        line.append("✓", style="green")
        line.append(" docker: ", style="bold")
        line.append(kind("pulls 中文\x07\r"))
        line = line + kind("  ") + "x\x0b  "
        joined = kind("\n").join([line, kind("two", style="dim")])
        joined.rstrip()
        if kind is Text:
            expected = (joined.plain, joined.cell_len, len(joined), bool(kind()))
        else:
            assert (joined.plain, joined.cell_len, len(joined), bool(kind())) == expected


PRINTS = (
    {},
    {"no_wrap": True, "overflow": "fold", "crop": False},
    {"no_wrap": True, "overflow": "ignore", "crop": False},
    {"soft_wrap": True, "highlight": False},
    {"overflow": "ellipsis"},
)


@pytest.mark.parametrize("options", PRINTS, ids=[str(o) for o in PRINTS])
def test_plain_console_prints_plain_text_as_rich_prints_text(options: dict[str, object]) -> None:
    for width in (10, 40, 80):
        for text in TEXTS:
            rich_out, plain_out = io.StringIO(), io.StringIO()
            Console(file=rich_out, width=width, highlight=False).print(
                Text(text, style="bold"), Text("second"), **options
            )
            PlainConsole(plain_out, width).print(
                PlainText(text, style="bold"), PlainText("second"), **options
            )
            assert plain_out.getvalue() == rich_out.getvalue(), (width, text)


def test_plain_console_prints_text_only() -> None:
    with pytest.raises(TypeError):
        PlainConsole(io.StringIO(), 40).print("[bold]markup[/bold]")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        PlainConsole(io.StringIO(), 40).print(PlainText("a"), Text("b"))  # type: ignore[arg-type]
