"""SVG snapshots of every screen at 80x24 (pytest-textual-snapshot).

The App gets a fixed report (tests/tui/fakes.py) and a fixed clock: no real timings, no
ports, no dates, so the pictures are the same on every run. Update them after a
deliberate change with ``pytest tests/tui --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

import pytest
from textual.widgets import TextArea

from tests.tui.conftest import RULES
from tests.tui.fakes import EXPIRED, fake_app

SIZE = (80, 24)
PASTE = (
    "$ docker pull registry.example.test:5000/team/app:1.0\n"
    'Error response from daemon: Get "https://registry.example.test:5000/v2/": '
    "x509: certificate has expired or is not yet valid\n"
)


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await pilot.pause()


async def _open_expired(pilot) -> None:  # type: ignore[no-untyped-def]
    await _settle(pilot)
    pilot.app.open_detail(EXPIRED)
    await _settle(pilot)


def test_overview(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_settle)


def test_overview_light_theme(snap_compare):
    assert snap_compare(fake_app(theme="light"), terminal_size=SIZE, run_before=_settle)


def test_overview_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_settle)


def test_detail(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_open_expired)


def test_help(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, press=["question_mark"], run_before=_settle)


@pytest.fixture
def explain_app():  # type: ignore[no-untyped-def]
    """Only the test rule: the picture does not change when the bundled wording does."""
    from regdoctor.engine import load_catalog

    return fake_app(catalog=load_catalog(extra_dirs=[RULES], bundled=False))


def test_explain(snap_compare, explain_app):
    async def paste(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("x")
        await _settle(pilot)
        screen = pilot.app.screen
        area = screen.query_one(TextArea)
        area.text = PASTE
        await screen.update_matches()
        area.cursor_blink = False
        await _settle(pilot)

    assert snap_compare(explain_app, terminal_size=SIZE, run_before=paste)
