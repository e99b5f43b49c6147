"""From measured endpoints to a judged bench report: one ``bench.endpoint`` observation
per endpoint, judged by the same catalog as every other command, ranked fastest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regdoctor.bench.measure import BenchOptions, EndpointResult, observations
from regdoctor.model import Finding, TargetReport, worst_status

__all__ = ["BenchReport", "judge"]


@dataclass(frozen=True)
class BenchReport:
    image: str
    reports: tuple[TargetReport, ...]

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.reports for f in r.findings]

    @property
    def status(self) -> str:
        return worst_status(self.findings)

    @property
    def ranked(self) -> list[dict[str, Any]]:
        """Each endpoint's measured facts, fastest first."""
        return sorted(
            (dict(r.observations[-1].facts) for r in self.reports),
            key=lambda f: -(f.get("throughput_mbps") or 0.0),
        )


def judge(
    results: Sequence[EndpointResult], options: BenchOptions, rule_dirs: Sequence[Path] = ()
) -> BenchReport:
    from regdoctor.check.catalog import catalog
    from regdoctor.engine import evaluate

    rules = catalog(rule_dirs)
    reports = []
    for result, observation in zip(results, observations(list(results), options), strict=True):
        session_obs = list(result.session.observations) if result.session else []
        all_obs = [*session_obs, observation]
        reports.append(
            TargetReport(
                target=result.target,
                endpoint={"role": result.role},
                phases=(),
                observations=tuple(all_obs),
                findings=tuple(evaluate(rules, result.target, all_obs)),
                duration_ms=0.0,
            )
        )
    return BenchReport(image=options.image, reports=tuple(reports))
