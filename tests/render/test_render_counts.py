"""Counts in rendered text agree with their nouns: "1 line", "2 lines"."""

from __future__ import annotations

from regdoctor.check.catalog import catalog
from regdoctor.engine.explain import explain
from regdoctor.render.explain_markdown import render_explain_markdown


def test_explain_markdown_counts_one_line_as_a_line() -> None:
    nothing = render_explain_markdown([], lines_read=1)
    assert "(1 line read)" in nothing and "1 lines" not in nothing
    paste = 'Get "https://registry.test:5000/v2/": x509: certificate signed by unknown authority'
    matches = explain(catalog(), paste)
    text = render_explain_markdown(matches, lines_read=1)
    assert "1 registry error recognised in 1 line;" in text, text
    two = render_explain_markdown(matches, lines_read=2)
    assert "recognised in 2 lines;" in two
