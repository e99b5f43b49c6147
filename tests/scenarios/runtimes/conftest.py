"""Fixtures of the real-runtime scenario suite, and its results table.

The table (one row per scenario and client) is printed in pytest's terminal summary
and, when ``REGDOCTOR_SCENARIO_RESULTS`` is set, written as Markdown to that path
(``1``: ``tests/scenarios/runtimes/RESULTS.md``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.scenarios.runtimes.world import Authorities, make_authorities

RESULTS_ENV = "REGDOCTOR_SCENARIO_RESULTS"
DEFAULT_RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass
class Row:
    scenario: str
    cls: str
    client: str
    pulled: bool
    error: str
    status: str  # regdoctor runtimes[r].status, or what went wrong getting it
    category: str
    explain: str
    fix: str  # "n/a", "yes", "no: why"
    seconds: float

    def cells(self) -> list[str]:
        return [
            self.scenario,
            self.client,
            f"pulled {self.error}".strip() if self.pulled else f"failed: {self.error}",
            self.status,
            self.category or "-",
            self.explain or "-",
            self.fix,
            f"{self.seconds:.1f}",
        ]


HEADER = [
    "scenario",
    "client",
    "real outcome",
    "regdoctor status",
    "regdoctor category",
    "explain category",
    "fix verified",
    "s",
]
ROWS: list[Row] = []
#: (scenario, client, rule) for each rule whose commands ran in a fix the client's
#: next pull verified (``fix_coverage.py``)
FIXED: list[tuple[str, str, str]] = []
FIX_COVERAGE_ENV = "REGDOCTOR_FIX_COVERAGE"
_STARTED = [0.0]


def _cell(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 140 else text[:137] + "..."


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cell(c) for c in row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def authorities(tmp_path_factory: pytest.TempPathFactory) -> Authorities:
    return make_authorities(tmp_path_factory.mktemp("scenario-pki"))


@pytest.fixture(scope="session")
def results() -> list[Row]:
    if not _STARTED[0]:
        _STARTED[0] = time.monotonic()
    return ROWS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    elapsed = time.monotonic() - _STARTED[0]
    terminalreporter.section("real-runtime scenarios")
    terminalreporter.write(markdown_table(ROWS))
    scenarios = len({r.scenario for r in ROWS})
    terminalreporter.write_line(
        f"{scenarios} scenarios, {len(ROWS)} client runs, {elapsed:.1f} s wall time"
    )
    from tests.scenarios.runtimes import fix_coverage

    terminalreporter.write_line(fix_coverage.summary(FIXED))
    coverage_file = os.environ.get(FIX_COVERAGE_ENV)
    if coverage_file:
        Path(coverage_file).write_text(json.dumps(sorted(FIXED), indent=1) + "\n")
    target = os.environ.get(RESULTS_ENV)
    if target:
        path = DEFAULT_RESULTS if target == "1" else Path(target)
        path.write_text(
            "# Real-runtime scenarios: results\n\n"
            "Written by `tests/scenarios/runtimes` "
            f"({RESULTS_ENV}=...; dockerd 20.10.24, containerd/ctr 1.6.20, podman 4.3.1).\n"
            f"{scenarios} scenarios, {len(ROWS)} client runs, {elapsed:.1f} s.\n\n"
            + markdown_table(ROWS)
            + "\n## Fix commands verified by a real pull\n\n"
            + fix_coverage.table(FIXED)
        )
        terminalreporter.write_line(f"results written to {path}")
