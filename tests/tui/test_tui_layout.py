"""The overview uses the terminal's width: at 80x24 and at 200x50 the finding column
holds its category uncut, the target column takes the rest (cut in the middle when it
must be, so the registry and the tag stay visible), the selected target is shown in
full with each runtime's verdict, and the real program judges per runtime as ``check``
does."""

from __future__ import annotations

from dataclasses import replace

import pytest

from regdoctor.model import RuntimeVerdict
from regdoctor.reference.targets import parse_target
from regdoctor.tui.app import RegdoctorApp
from regdoctor.tui.widgets.target_table import TargetTable, column_widths, middle_cut
from tests.tui.conftest import wait_until
from tests.tui.fakes import FixedClock, expired

pytestmark = pytest.mark.anyio

LONG = "registry.example.test:5000/platform/team-payments/ledger-service:2024.05.01-rc3"
OTHER = "registry.example.test:5000/platform/team-payments/ledger-service:2024.05.02-rc1"
CATEGORY = "image.manifest_unknown"


def _report(raw: str, runtimes: dict[str, RuntimeVerdict] | None = None):  # type: ignore[no-untyped-def]
    target = parse_target(raw)
    base = expired(target)
    finding = replace(base.findings[0], category=CATEGORY)
    return replace(base, findings=(finding,), runtimes=runtimes or {})


VERDICTS = {
    "docker": RuntimeVerdict("docker", "error", "ledger-service:2024.05.01-rc3 does not exist"),
    "podman": RuntimeVerdict("podman", "ok", "pulls from https://registry.example.test:5000/v2/"),
}


async def _checker(target):  # type: ignore[no-untyped-def]
    return _report(target.raw, VERDICTS)


def _app() -> RegdoctorApp:
    return RegdoctorApp(
        [parse_target(LONG), parse_target(OTHER)], checker=_checker, clock=FixedClock()
    )


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_columns_use_the_width(size: tuple[int, int]) -> None:
    app = _app()
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: all(e.report for e in app.session))
        await pilot.pause()
        table = app.screen.query_one(TargetTable)
        widths = {str(k.value): c.width for k, c in table.columns.items()}
        total = sum(c.get_render_width(table) for c in table.columns.values())
        assert total <= size[0]
        assert widths["finding"] >= len(CATEGORY)  # never "image.manifest_unknow"
        cells = {str(k.value): table.get_row(k)[1].plain for k in table.rows}
        if size[0] >= 120:
            assert widths["target"] >= len(LONG)
            assert cells == {LONG: LONG, OTHER: OTHER}
        else:
            # cut in the middle: both keep the start of the registry and their own tag
            assert cells[LONG] != cells[OTHER]
            for raw, shown in cells.items():
                assert shown.startswith("registry.") and "…" in shown
                assert shown.endswith(raw[-6:]) and len(shown) <= widths["target"]
        selected = str(app.screen.query_one("#selected").render())
        assert LONG in selected  # the selected target in full, whatever the width
        assert "docker: ledger-service:2024.05.01-rc3 does not exist" in selected
        assert "podman: pulls from" in selected
        await pilot.press("down")
        await pilot.pause()
        assert OTHER in str(app.screen.query_one("#selected").render())


async def test_detail_lists_the_runtimes() -> None:
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: all(e.report for e in app.session))
        app.open_detail(LONG)
        await pilot.pause()
        text = str(app.screen.query_one("#runtimes").render())
        assert "✗ docker: ledger-service" in text and "✓ podman: pulls from" in text


def test_column_widths_and_the_middle_cut() -> None:
    assert column_widths(80, len(CATEGORY)) == {"target": 24, "finding": 22}
    assert column_widths(200, len(CATEGORY))["target"] == 144
    assert column_widths(60, 40) == {"target": 16, "finding": 10 + 2}
    assert middle_cut("short", 10) == "short"
    assert middle_cut("registry.test:5000/team/app:1.2", 24) == "registry.test:5000/…:1.2"
    assert len(middle_cut("a-very-long-registry-name.test/x/y:z", 12)) == 12


async def test_the_real_program_judges_per_runtime(testbed) -> None:  # type: ignore[no-untyped-def]
    """The App gets the plan's routes: each report has a verdict per runtime in scope,
    the same as ``regdoctor check --runtime all`` gives."""
    from regdoctor.check.plan import plan
    from regdoctor.check.request import CheckRequest

    image = testbed.images.app.ref(testbed.endpoints["tls"].hostport)
    run_plan = plan(
        CheckRequest(
            targets=(image,),
            ca_files=(str(testbed.ca_file),),
            dns_server=testbed.dns_server,
            runtime="all",
            no_config=True,
        )
    )
    app = RegdoctorApp(
        run_plan.targets, run_plan.options, preset=run_plan.preset, routes=run_plan.routes
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: all(e.runs and not e.running for e in app.session))
        report = app.session[image].report
        assert report is not None
        assert set(report.runtimes) == {"docker", "containerd", "podman", "kubernetes"}
        assert report.runtimes["podman"].status == "ok"
        selected = str(app.screen.query_one("#selected").render())
        assert "podman: pulls from https://" in selected
        await pilot.press("q")


async def test_the_export_note_counts_one_target_as_a_target() -> None:
    from regdoctor.tui.screens.export import ExportScreen
    from tests.tui.fakes import HEALTHY, SLOW, fake_app

    app = fake_app(targets=[parse_target(HEALTHY), parse_target(SLOW)])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session[HEALTHY].report is not None)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        assert app.screen.note == "1 target still running: not in the export."
