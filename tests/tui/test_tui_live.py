"""The TUI against the real registries of the testbed, driven with Textual's Pilot."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from textual.widgets import Button, Input, TextArea

from regdoctor.reference.targets import parse_target
from regdoctor.schemas import load_schema
from regdoctor.tui.app import RegdoctorApp
from regdoctor.tui.screens.detail import DetailScreen
from regdoctor.tui.screens.explain import ExplainScreen
from regdoctor.tui.screens.overview import OverviewScreen
from regdoctor.tui.widgets.command_line import CommandLine
from regdoctor.tui.widgets.finding_view import FindingView
from regdoctor.tui.widgets.match_view import MatchView
from regdoctor.tui.widgets.target_table import TargetTable
from tests.tui.conftest import options_for, row_texts, wait_until

SIZE = (100, 30)
pytestmark = pytest.mark.anyio


@pytest.fixture
def refs(testbed) -> dict[str, str]:  # type: ignore[no-untyped-def]
    app = testbed.images.app
    return {
        "healthy": app.ref(testbed.endpoints["plain"].hostport),
        "expired": app.ref(testbed.endpoints["tls_expired"].hostport),
    }


def make_app(testbed, raws, **kw) -> RegdoctorApp:  # type: ignore[no-untyped-def]
    options = options_for(testbed, **kw.pop("options", {}))
    return RegdoctorApp([parse_target(r) for r in raws], options, **kw)


def done(app: RegdoctorApp) -> bool:
    return all(e.runs > 0 and not e.running for e in app.session)


async def test_overview_shows_healthy_and_failing_with_category(testbed, refs):
    app = make_app(testbed, [refs["healthy"], refs["expired"]])
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: done(app))
        rows = row_texts(app)
        assert rows[refs["healthy"]][0] == "✓ ok"
        assert rows[refs["expired"]][0] == "✗ error"
        assert rows[refs["expired"]][2] == "tls.expired"
        # the same verdict the engine gave: the TUI only renders it
        report = app.session[refs["expired"]].report
        assert report is not None
        assert [f.category for f in report.findings if f.leading] == ["tls.expired"]
        await pilot.press("q")
    assert app.return_value == 2  # what `check` exits with for these two targets


async def test_opening_the_failing_target_shows_remediation(testbed, refs):
    app = make_app(testbed, [refs["healthy"], refs["expired"]])
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: done(app))
        table = app.screen.query_one(TargetTable)
        table.move_cursor(row=table.get_row_index(refs["expired"]))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        report = app.session[refs["expired"]].report
        assert report is not None
        leading = next(f for f in report.findings if f.leading)
        views = list(app.screen.query(FindingView))
        assert views and views[0].finding == leading
        commands = [c.command for c in app.screen.query(CommandLine)]
        expected = [
            cmd
            for step in leading.remediation
            for cmd in (*step.checks.values(), *step.commands.values())
        ]
        assert commands and set(commands) <= set(expected)
        # the first command has the focus: Enter copies it (and it is printed on exit)
        await pilot.press("enter")
        await pilot.pause()
        assert app.clipboard == commands[0]
        assert app.copied == [commands[0]]
        # the mouse works too: a click on the last command copies it
        await pilot.click(CommandLine, offset=(2, 0))
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_rerun_one_and_all(testbed, refs):
    app = make_app(testbed, [refs["healthy"], refs["expired"]])
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: done(app))
        table = app.screen.query_one(TargetTable)
        table.move_cursor(row=table.get_row_index(refs["expired"]))
        await pilot.press("r")
        await wait_until(pilot, lambda: app.session[refs["expired"]].runs == 2)
        assert app.session[refs["healthy"]].runs == 1
        assert row_texts(app)[refs["expired"]][2] == "tls.expired"
        await pilot.press("R")
        await wait_until(pilot, lambda: all(e.runs >= 2 for e in app.session) and done(app))
        assert app.session[refs["healthy"]].runs == 2
        assert row_texts(app)[refs["healthy"]][0] == "✓ ok"


async def test_blackholed_target_spins_while_the_others_finish(testbed, refs):
    blackhole = testbed.endpoints["blackhole"].hostport
    app = make_app(testbed, [refs["healthy"], blackhole], options={"timeout": 1.0, "deadline": 8.0})
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.session[refs["healthy"]].runs == 1)
        assert app.session[blackhole].running
        first = row_texts(app)[blackhole][0]
        assert first.endswith("running")
        await pilot.pause(0.3)
        assert row_texts(app)[blackhole][0] != first  # the spinner turns
        await wait_until(pilot, lambda: done(app), timeout=20)
        assert row_texts(app)[blackhole][0] == "✗ error"


async def test_explain_shows_the_category_and_checks_the_registry(testbed, test_catalog):
    expired = testbed.endpoints["tls_expired"].hostport
    paste = (
        "$ docker pull " + expired + "/team/app:1.0\n"
        f'Error response from daemon: Get "https://{expired}/v2/": '
        "x509: certificate has expired or is not yet valid\n"
    )
    app = make_app(testbed, [], catalog=test_catalog)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        assert isinstance(app.screen, ExplainScreen)
        app.screen.query_one(TextArea).text = paste
        await wait_until(pilot, lambda: app.screen.check_target is not None)
        matches = [v.match for v in app.screen.query(MatchView)]
        assert [m.category for m in matches if m.leading] == ["tls.expired"]
        button = app.screen.query_one("#check-named", Button)
        assert button.display and not button.disabled
        assert app.screen.check_target is not None
        assert expired in app.screen.check_target
        await pilot.pause()
        await pilot.click("#check-named")
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen))
        await wait_until(pilot, lambda: len(app.session) == 1 and done(app))
        (entry,) = list(app.session)
        assert row_texts(app)[entry.id][2] == "tls.expired"


async def test_export_writes_a_valid_json_report(testbed, refs, tmp_path):
    app = make_app(testbed, [refs["healthy"], refs["expired"]])
    out = tmp_path / "report.json"
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: done(app))
        await pilot.press("e")
        field = app.screen.query_one(Input)
        field.value = str(out)
        await pilot.press("enter")
        await wait_until(pilot, out.exists)
    document = json.loads(out.read_text())
    errors = list(Draft202012Validator(load_schema("check-v3")).iter_errors(document))
    assert not errors, [e.message for e in errors[:3]]
    assert [t["target"] for t in document["targets"]] == [refs["healthy"], refs["expired"]]
    assert document["exit_code"] == 2
    assert [f["category"] for f in document["findings"] if f["leading"]] == ["tls.expired"]


async def test_export_markdown(testbed, refs, tmp_path):
    app = make_app(testbed, [refs["expired"]])
    out = tmp_path / "report.md"
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: done(app))
        await pilot.press("e")
        app.screen.query_one(Input).value = str(out)
        await pilot.click("#export-save")
        await wait_until(pilot, out.exists)
    text = out.read_text()
    assert "tls.expired" in text
    assert not text.lstrip().startswith("{")


async def test_summary_counts_targets_not_configuration_files(testbed, refs):
    """Configuration files are listed, but the count names targets only (#14: "17
    targets" for 13)."""
    from textual.widgets import Static

    from regdoctor.discovery.observations import config_target

    app = make_app(testbed, [refs["healthy"], refs["expired"]])
    app.session.add(config_target("/etc/docker/daemon.json", "docker"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: done(app))
        summary = str(app.screen.query_one("#summary", Static).render())
        assert "2 targets" in summary and "3 targets" not in summary, summary
        assert "1 configuration file" in summary, summary
        await pilot.press("q")
