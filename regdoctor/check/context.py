"""What a report shows beside the judgement, collected for a plan (never by a renderer):
this host (versions, runtimes, their daemons), the configuration files below the plan's
root with why each was read, and the pull-relevant environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from regdoctor.model import HostInfo, ReportContext

__all__ = ["collect_context"]


def collect_context(
    config_root: Path, effective: Any = None, *, host: HostInfo | bool = True
) -> ReportContext:
    """The context of a report on the files below ``config_root`` (``effective``: the
    configuration discovered there, whose files come first with their provenance).
    ``host``: this machine's facts are collected (True), left out (False) or given."""
    from regdoctor.discovery.files import config_sources, environment
    from regdoctor.discovery.host import collect

    rows = []
    sources = config_sources(config_root, effective=effective)
    for source in sources:
        if not source.exists:
            continue
        try:
            state = f"present ({source.path.stat().st_size} bytes)"
        except OSError:
            state = "present"
        rows.append((source.display, source.kind, state, source.provenance))
    return ReportContext(
        host=collect() if host is True else (host or None),
        config_files=tuple(rows),
        environment=tuple(sorted(environment(os.environ).items())),
    )
