"""``regdoctor bench``'s output: the JSON document (``regdoctor.bench/v1``) and the plain
table, from a judged :class:`~regdoctor.bench.judge.BenchReport`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console

from regdoctor.escape import text
from regdoctor.redact.secrets import Redactor, redact

if TYPE_CHECKING:
    from regdoctor.bench.judge import BenchReport

__all__ = ["render_bench_json", "render_bench_plain"]


def render_bench_json(
    report: BenchReport, exit_code: int, console: Console, redactor: Redactor | None = None
) -> None:
    document = {
        "schema": "regdoctor.bench/v1",
        "image": report.image,
        "status": report.status,
        "exit_code": exit_code,
        "endpoints": [dict(r.observations[-1].facts) for r in report.reports],
        "ranking": [f["endpoint"] for f in report.ranked],
        "findings": [f.to_dict() for f in report.findings],
    }
    masked = (redactor.redact if redactor is not None else redact)(json.dumps(document, indent=1))
    console.out(masked, highlight=False)


def render_bench_plain(report: BenchReport, console: Console) -> None:
    from rich.table import Table

    table = Table(title="pull speed, fastest first")
    for column in (
        "endpoint",
        "role",
        "connect ms",
        "ttfb ms",
        "manifest ms",
        "MB/s",
        "pull bytes",
    ):
        table.add_column(column)
    for facts in report.ranked:
        table.add_row(
            text(facts["endpoint"]),
            text(facts["role"]),
            text(facts.get("connect_ms")),
            text(facts.get("ttfb_ms")),
            text(facts.get("manifest_ms")),
            text(facts.get("throughput_mbps") if facts["outcome"] == "ok" else facts["outcome"]),
            text(facts.get("unshared_bytes")),
        )
    console.print(table)
    errors = [r for r in report.reports if r.observations and not r.observations[-1].ok]
    for target_report in errors:
        console.print(
            text(f"{target_report.target.registry}: {target_report.observations[-1].error}", "red")
        )
    for finding in report.findings:
        console.print(text(f"{finding.severity} [{finding.category}] {finding.title}"))
        console.print(text(f"    {finding.explanation.strip()}"))
