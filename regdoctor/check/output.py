"""The redactor a report goes out through: the run's secrets, plus host and user names
with ``--redact-hosts``."""

from __future__ import annotations

from collections.abc import Iterable

from regdoctor.model import Report
from regdoctor.redact.secrets import Redactor

__all__ = ["output_redactor"]


def output_redactor(
    report: Report,
    base: Redactor | None,
    *,
    redact_hosts: bool,
    usernames: Iterable[str] = (),
) -> Redactor:
    """``base`` (the run's secrets), plus host and user names with ``--redact-hosts``."""
    if not redact_hosts:
        return base if base is not None else Redactor()
    from regdoctor.redact.hosts import report_redactor

    return report_redactor(report, base, usernames=usernames)
