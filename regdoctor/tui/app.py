"""The App: bindings that work everywhere, one worker per target check, the screens.

Thin on purpose: state is in :class:`~regdoctor.tui.session.Session`, checks go through
:mod:`~regdoctor.tui.engine_bridge`, pastes through :mod:`~regdoctor.tui.explain_adapter`,
and each screen renders what it is given.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker

from regdoctor.model import Observation, Target
from regdoctor.options import CheckOptions, Clock
from regdoctor.tui.engine_bridge import Checker, EngineChecker, now_iso
from regdoctor.tui.session import Session

if TYPE_CHECKING:
    from regdoctor.check.routes import Routes
    from regdoctor.engine.loader import Catalog

#: When set to a file name, the App writes the seconds from process start to its first
#: frame there (see docs/tui.md); used to measure start-up.
FIRST_FRAME_ENV = "REGDOCTOR_TUI_FIRST_FRAME"
THEMES = {"dark": "textual-dark", "light": "textual-light"}


class RegdoctorApp(App[int]):
    """``regdoctor tui``. Returns the exit code ``check`` would give for the results."""

    CSS_PATH = "app.tcss"
    TITLE = "regdoctor"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("R", "rerun_all", "Re-run all"),
        Binding("e", "export", "Export"),
        Binding("x", "explain", "Explain", show=False),
        Binding("t", "toggle_theme", "Theme", show=False),
    ]

    def __init__(
        self,
        targets: Sequence[Target],
        options: CheckOptions | None = None,
        *,
        checker: Checker | None = None,
        clock: Clock | None = None,
        command: Sequence[str] = (),
        theme: str = "dark",
        autostart: bool = True,
        catalog: Catalog | None = None,
        preset: Mapping[str, Sequence[Observation]] | None = None,
        routes: Routes | None = None,
    ) -> None:
        super().__init__()
        self.options = options or CheckOptions()
        self.clock = clock
        self._engine = (
            EngineChecker(self.options, clock, preset, routes) if checker is None else None
        )
        self.checker: Checker = checker or self._engine  # type: ignore[assignment]
        self.session = Session.of(targets, command)
        self.autostart = autostart
        self.theme = THEMES.get(theme, theme)
        #: Every command copied, printed on exit (the clipboard may not reach the user).
        self.copied: list[str] = []
        self._check_workers: dict[str, Worker[None]] = {}
        self._catalog = catalog
        self._catalog_task: asyncio.Future[Catalog] | None = None

    # -- start ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        from regdoctor.tui.screens.overview import OverviewScreen

        self.push_screen(OverviewScreen())
        if os.environ.get(FIRST_FRAME_ENV):
            self.call_after_refresh(self._record_first_frame)
        if self.autostart:
            self.call_after_refresh(self.run_all)

    def _record_first_frame(self) -> None:
        import time

        import psutil

        elapsed = time.time() - psutil.Process().create_time()
        # wall-clock seconds since the process started, then the CPU seconds it used
        Path(os.environ[FIRST_FRAME_ENV]).write_text(
            f"{elapsed:.3f} {time.process_time():.3f}\n", encoding="utf-8"
        )

    # -- checks --------------------------------------------------------------------------

    def run_all(self) -> None:
        self.run_targets([e.id for e in self.session])

    def run_targets(self, target_ids: Sequence[str]) -> None:
        """Start (or restart) the check of each target, each in its own worker."""
        if not self.session.started_at:
            self.session.started_at = now_iso(self.clock)
        for target_id in target_ids:
            old = self._check_workers.pop(target_id, None)
            if old is not None and not old.is_finished:
                old.cancel()
            self.session.start(target_id)
            self._check_workers[target_id] = self.run_worker(
                self._check(target_id), name=target_id, group="checks", exit_on_error=False
            )
            self._changed(target_id)

    async def _check(self, target_id: str) -> None:
        entry = self.session[target_id]
        try:
            report = await self.checker(entry.target)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a crash is a result: shown on the row, not a traceback
            self.session.fail(target_id, f"{type(exc).__name__}: {exc}")
        else:
            self.session.finish(report)
        await self._changed_async(target_id)

    def _changed(self, target_id: str) -> None:
        self.call_later(self._changed_async, target_id)

    async def _changed_async(self, target_id: str) -> None:
        for screen in list(self.screen_stack):
            update = getattr(screen, "target_updated", None)
            if update is not None:
                result = update(target_id)
                if asyncio.iscoroutine(result):
                    await result

    def add_target(self, raw: str) -> str:
        from regdoctor.reference.targets import parse_target

        target = parse_target(raw, insecure=self.options.insecure)
        return self.session.add(target).id

    def check_named(self, raw: str) -> None:
        """From the Explain screen: add the registry a paste names, check it, show it."""
        from regdoctor.reference.targets import InvalidReference

        try:
            target_id = self.add_target(raw)
        except (InvalidReference, ValueError) as exc:
            self.notify(f"cannot check {raw!r}: {exc}", severity="error", markup=False)
            return
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.run_targets([target_id])

    # -- explain ----------------------------------------------------------------------------

    async def explain_catalog(self) -> Catalog:
        if self._catalog is None:
            if self._catalog_task is None:
                from regdoctor.tui import explain_adapter

                self._catalog_task = asyncio.ensure_future(
                    asyncio.to_thread(explain_adapter.load_catalog)
                )
            self._catalog = await self._catalog_task
        return self._catalog

    # -- actions ---------------------------------------------------------------------------

    def open_detail(self, target_id: str) -> None:
        from regdoctor.tui.screens.detail import DetailScreen

        self.push_screen(DetailScreen(target_id))

    def action_rerun_all(self) -> None:
        self.run_all()

    def action_help(self) -> None:
        from regdoctor.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_explain(self) -> None:
        from regdoctor.tui.screens.explain import ExplainScreen

        if not isinstance(self.screen, ExplainScreen):
            self.push_screen(ExplainScreen())

    def action_toggle_theme(self) -> None:
        self.theme = THEMES["light"] if self.theme == THEMES["dark"] else THEMES["dark"]

    def action_export(self) -> None:
        from regdoctor.engine.template import plural
        from regdoctor.tui.screens.export import ExportScreen

        if isinstance(self.screen, ExportScreen):
            return
        pending = len(self.session.running)
        note = f"{plural(pending, 'target')} still running: not in the export." if pending else ""
        self.push_screen(ExportScreen(note=note), self._export_to)

    def _export_to(self, path: Path | None) -> None:
        if path is not None:
            self.run_worker(self._export(path), group="export", exit_on_error=False)

    async def _export(self, path: Path) -> None:
        from regdoctor.tui.report_file import write_report

        report = self.session.report(now_iso(self.clock) if not self.session.started_at else "")
        try:
            fmt = await asyncio.to_thread(write_report, report, path, self.options)
        except OSError as exc:
            self.notify(
                f"could not write {path}: {exc.strerror or exc}", severity="error", markup=False
            )
            return
        self.notify(f"wrote {fmt} report to {path}", markup=False)

    def on_command_line_copy(self, message: Any) -> None:
        command: str = message.command
        self.copy_to_clipboard(command)
        if command not in self.copied:
            self.copied.append(command)
        lines = command.split("\n")
        more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
        self.notify(f"copied: {lines[0]}{more}", timeout=3, markup=False)

    def action_quit(self) -> None:  # type: ignore[override]
        self.exit(int(self.session.report().exit_code))
