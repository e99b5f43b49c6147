"""PlainConsole prints exactly what Rich's Console prints where Rich writes no style (a pipe,
a file): every pasted corpus entry, explained and rendered both ways, at several widths;
and it is chosen exactly where Rich would not treat the output as a terminal."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from regdoctor.engine import load_catalog
from regdoctor.engine.explain import explain
from regdoctor.render.explain_plain import render_explain_plain
from regdoctor.render.plain_console import PlainConsole, rich_width, rich_would_style
from tests.engine.test_explain_corpus import ENTRIES

#: Beside the corpus: wide characters, tabs, long unbroken words, combining marks,
#: escape sequences and a line longer than any terminal.
EXTRA = [
    'Error response from daemon: Get "https://レジストリ.example:5000/v2/": x509: '
    "certificate signed by unknown authority",
    "Error response from daemon: pull access denied for\tteam/app, repository does not "
    "exist or may require 'docker login': denied: requested access to the resource is denied",
    'failed to resolve reference "registry.example.com/team/' + "x" * 300 + ':1.0": '
    "unexpected status from HEAD request: 401 Unauthorized",
    "Error: initializing source docker://r.example/e\u0301te:1: reading manifest 1 in "
    "r.example/e\u0301te: manifest unknown",
    '\x1b[31mError response from daemon: Get "https://r.example/v2/": dial tcp '
    "192.0.2.7:443: connect: connection refused\x1b[0m",
    "nothing a registry would say, only words " * 12,
]


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


@pytest.fixture(autouse=True)
def _not_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


def _both(matches, width: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    rich_out = io.StringIO()
    render_explain_plain(
        matches, Console(file=rich_out, width=width, highlight=False), lines_read=3
    )
    plain_out = io.StringIO()
    render_explain_plain(matches, PlainConsole(plain_out, width), lines_read=3)
    return rich_out.getvalue(), plain_out.getvalue()


@pytest.mark.parametrize("width", [40, 80, 137])
def test_every_corpus_entry_prints_the_same(catalog, width):  # type: ignore[no-untyped-def]
    texts = [entry.text for entry in ENTRIES] + EXTRA
    assert len(texts) > 300
    for text in texts:
        rich_text, plain_text = _both(explain(catalog, text), width)
        assert plain_text == rich_text, text
    assert "\x1b" not in plain_text


def test_omitted_errors_and_the_summary_print_the_same(catalog):  # type: ignore[no-untyped-def]
    matches = explain(catalog, "\n".join(entry.text for entry in ENTRIES[:40]))
    for width in (40, 80):
        rich_out = io.StringIO()
        console = Console(file=rich_out, width=width, highlight=False)
        note = "12 more error line(s), at least 9 distinct error(s) beyond the first 40."
        render_explain_plain(matches, console, lines_read=1234, omitted=note)
        plain_out = io.StringIO()
        render_explain_plain(matches, PlainConsole(plain_out, width), lines_read=1234, omitted=note)
        assert plain_out.getvalue() == rich_out.getvalue()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"FORCE_COLOR": "1"},
        {"FORCE_COLOR": ""},
        {"TTY_COMPATIBLE": "0"},
        {"TTY_COMPATIBLE": "1"},
        {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"},
        {"TTY_COMPATIBLE": "2", "FORCE_COLOR": "1"},
        {"NO_COLOR": "1"},
    ],
)
@pytest.mark.parametrize("file_type", [io.StringIO, _Tty])
def test_styled_exactly_where_rich_sees_a_terminal(env, file_type, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    file = file_type()
    assert rich_would_style(file) == Console(file=file).is_terminal


@pytest.mark.parametrize("columns", [None, "57", "0", "wide"])
def test_the_width_rich_chooses(columns, monkeypatch):
    if columns is not None:
        monkeypatch.setenv("COLUMNS", columns)
    assert rich_width() == Console(file=io.StringIO()).width
    assert PlainConsole(io.StringIO()).width == rich_width()


def test_only_text_is_printed():
    with pytest.raises(TypeError):
        PlainConsole(io.StringIO(), 80).print("[bold]markup[/bold]")  # type: ignore[arg-type]


def test_writes_to_standard_output_at_print_time(capsys):
    from rich.text import Text

    console = PlainConsole(width=80)
    console.print(Text("one"))
    console.print()
    assert capsys.readouterr().out == "one\n\n"
    assert console.encoding == (getattr(sys.stdout, "encoding", "utf-8") or "utf-8").lower()
