"""The only module of the TUI that runs checks: one :func:`regdoctor.check.pipeline.check_target`
per call, each with its own :class:`~regdoctor.net.network.Network` and deadline, so a
target can be re-run alone while the others keep their results.

The network stack (httpcore, dnspython, pyOpenSSL) and the rule catalog are imported and
loaded in a thread by :meth:`EngineChecker.warm_up`, after the first frame, so that start-up
stays fast and the event loop never stalls on an import.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from regdoctor.model import Observation, Target, TargetReport
from regdoctor.options import CheckOptions, Clock

if TYPE_CHECKING:
    from regdoctor.check.routes import Routes

#: What the App calls to check one target (tests inject a fake for snapshots).
Checker = Callable[[Target], Awaitable[TargetReport]]


def _import_engine(rule_dirs: Sequence[Path]) -> None:
    # Import the network stack (its HTTP client too: a check imports that only once its
    # first bytes are on the link) and load the catalog now (YAML parsing and
    # validation) rather than inside the first check on the event loop; it is kept for
    # later checks.
    import regdoctor.check.pipeline  # noqa: F401
    from regdoctor.check.catalog import catalog
    from regdoctor.net.network import prepare_requests

    prepare_requests()
    catalog(rule_dirs)


class EngineChecker:
    """Check one target with the real probes and rules."""

    def __init__(
        self,
        options: CheckOptions,
        clock: Clock | None = None,
        preset: Mapping[str, Sequence[Observation]] | None = None,
        routes: Routes | None = None,
    ) -> None:
        self.options = options
        self.clock = clock
        #: Observations the configuration gives each target (``check.plan_targets``).
        self.preset = dict(preset or {})
        #: The runtimes in scope and their endpoints (``check.plan``): with them every
        #: report gets a verdict per runtime, as ``regdoctor check`` gives it.
        self.routes = routes
        #: The latest report of each target: a mirror's outcome counts in the verdicts
        #: of the images pulled through it, as in a whole ``check`` run.
        self.latest: dict[str, TargetReport] = {}
        self._warm: asyncio.Task[None] | None = None

    def warm_up(self) -> Awaitable[None]:
        if self._warm is None:
            self._warm = asyncio.ensure_future(
                asyncio.to_thread(_import_engine, self.options.rule_dirs)
            )
        return self._warm

    async def __call__(self, target: Target) -> TargetReport:
        await self.warm_up()
        from regdoctor.check.pipeline import check_target, not_contacted, uncontacted
        from regdoctor.net.network import Network
        from regdoctor.options import SystemClock

        elsewhere = uncontacted(target, self.routes) if self.routes is not None else None
        if elsewhere is not None:  # as check does: no runtime in scope contacts its host
            preset = self.preset.get(target.id, ())
            return self.judge(not_contacted(target, elsewhere, preset, self.options))
        clock = self.clock or SystemClock()
        network = Network(self.options)
        if target.kind == "registry":
            network.configure(target.hostport, target)
        try:
            report = await check_target(
                target,
                self.options,
                network,
                clock,
                clock.monotonic() + self.options.deadline,
                self.preset.get(target.id, ()),
            )
        finally:
            await network.aclose()
        return self.judge(report)

    def judge(self, report: TargetReport) -> TargetReport:
        """``report`` with its per-runtime verdicts (unchanged without routes)."""
        if self.routes is None:
            return report
        from regdoctor.check.verdicts import judge_runtimes

        self.latest[report.target.id] = report
        others = [r for key, r in self.latest.items() if key != report.target.id]
        judged = judge_runtimes([report, *others], self.routes, self.options.rule_dirs)
        return judged[0]


def now_iso(clock: Clock | None = None) -> str:
    now = clock.now() if clock is not None else datetime.now(UTC)
    return now.isoformat(timespec="seconds")
