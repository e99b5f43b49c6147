"""A piped ``explain`` lays out its answer with PlainText (no Rich imported): the bytes
are those Rich's Console writes for Rich's Text, for every tuned paste of the corpus
(``fixtures/pasted/*.yaml``; never the held-out ones) at several widths, and for pastes
with hostile text (wide characters, combining marks, long words, escapes)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from regdoctor.engine import load_catalog
from regdoctor.engine.explain import explain
from regdoctor.render.explain_plain import render_explain_plain
from regdoctor.render.plain_console import PlainConsole

PASTED = Path(__file__).resolve().parents[2] / "fixtures" / "pasted"
WIDTHS = (40, 100)
HOSTILE = (
    'Error response from daemon: Get "https://レジストリ.example:5000/v2/": x509: '
    'certificate signed by unknown authority (possibly because of "crypto/rsa: verification '
    'error" while trying to verify candidate authority certificate "e\u0301tcd-ca")',
    'failed to pull image "r.example/a:b": rpc error: code = NotFound desc = failed to '
    "resolve reference sha256:" + "0123456789abcdef" * 4 + "\tnot found \x1b]52;c;aGk=\x07",
    "pull access denied for " + "x" * 150 + ", repository does not exist or may require "
    "'docker login': denied: requested access to the resource is denied 😀",
)


def _tuned_texts() -> list[str]:
    texts = []
    for path in sorted(PASTED.glob("*.yaml")):  # the tuned files only: heldout/ is a folder
        texts += [e["text"] for e in yaml.safe_load(path.read_text())["entries"]]
    return texts


def _printed(console_for, matches, lines_read: int) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    render_explain_plain(matches, console_for(out), lines_read=lines_read)
    return out.getvalue()


@pytest.fixture(scope="module")
def answers():  # type: ignore[no-untyped-def]
    catalog = load_catalog()
    texts = [*_tuned_texts(), *HOSTILE]
    assert len(texts) > 500
    return [(explain(catalog, text), text.count("\n") + 1) for text in texts]


@pytest.mark.parametrize("width", WIDTHS)
def test_piped_explain_prints_what_rich_prints(answers, width: int) -> None:  # type: ignore[no-untyped-def]
    for matches, lines_read in answers:
        rich = _printed(
            lambda out: Console(file=out, width=width, highlight=False, color_system=None),
            matches,
            lines_read,
        )
        plain = _printed(lambda out: PlainConsole(out, width), matches, lines_read)
        assert rich and plain == rich
