"""The one line a target's report starts with: status, target, leading category, and a
one-phrase cause read from the leading finding's facts ("expired 2026-12-04, 2 days
ago", "connection refused", "manifest unknown: tag 1.2 (repository exists)").

Plain data only: the renderers redact, escape and style it (``check --summary`` prints
nothing else). A category without a phrase of its own gets the finding's title.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from regdoctor.model import Finding, Observation, Severity, TargetReport

__all__ = ["Verdict", "cause_of", "leading_finding", "verdict_of"]


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str  # ok, warning, error
    target: str
    category: str | None
    cause: str


def leading_finding(report: TargetReport) -> Finding | None:
    """The finding the verdict is about: the leading one, else the worst."""
    lead = next((f for f in report.findings if f.leading), None)
    if lead is not None:
        return lead
    for severity in (Severity.ERROR, Severity.WARNING):
        found = next((f for f in report.findings if f.severity is severity), None)
        if found is not None:
            return found
    return None


def verdict_of(report: TargetReport, *, now: datetime | None = None) -> Verdict:
    status = report.status
    lead = leading_finding(report) if status != "ok" else None
    if lead is None:
        return Verdict(status, report.target.raw, None, _healthy(report))
    return Verdict(
        status, report.target.raw, lead.category, cause_of(lead, report.observations, now=now)
    )


def _healthy(report: TargetReport) -> str:
    if report.target.kind == "config":
        return "read without problems"
    pulls = [v for v in report.runtimes.values() if v.status == "ok"]
    if pulls and pulls[0].endpoint:
        return f"pulls from {pulls[0].endpoint}"
    return "pulls" if report.target.is_image else "answers as a registry"


def cause_of(
    finding: Finding, observations: Iterable[Observation], *, now: datetime | None = None
) -> str:
    """The one-phrase cause of ``finding``, from the facts of its observations (and of
    the target's others: a certificate's dates are in ``tls.chain``)."""
    every = list(observations)
    own = [every[i] for i in finding.observations if isinstance(i, int) and 0 <= i < len(every)]
    for prefix, phrase in _PHRASES:
        if finding.category == prefix or finding.category.startswith(prefix + "."):
            try:
                said = phrase(own, every, now or datetime.now(UTC))
            except (TypeError, ValueError, KeyError):  # facts of another shape: the title
                said = None
            if said:
                return said
    return finding.title


# -- phrases, by category ----------------------------------------------------------------


def _facts(observations: Iterable[Observation], kind: str) -> Mapping[str, Any] | None:
    found = next((o for o in observations if o.kind == kind), None)
    return found.facts if found is not None and isinstance(found.facts, Mapping) else None


def _days(delta_days: int) -> str:
    n = abs(delta_days)
    unit = "day" if n == 1 else "days"
    if delta_days == 0:
        return "today"
    return f"{n} {unit} ago" if delta_days < 0 else f"in {n} {unit}"


def _not_after(every: list[Observation]) -> datetime | None:
    chain = _facts(every, "tls.chain")
    value = chain.get("leaf_not_after") if chain else None
    return datetime.fromisoformat(str(value)) if value else None


def _expired(own: list[Observation], every: list[Observation], now: datetime) -> str | None:
    not_after = _not_after(every)
    if not_after is None:
        return None
    days = (not_after.date() - now.date()).days
    return f"expired {not_after.date().isoformat()}, {_days(days)}"


def _expiring(own: list[Observation], every: list[Observation], now: datetime) -> str | None:
    not_after = _not_after(every)
    if not_after is None:
        return None
    days = (not_after.date() - now.date()).days
    return f"expires {not_after.date().isoformat()}, {_days(days)}"


def _connect(own: list[Observation], every: list[Observation], now: datetime) -> str | None:
    facts = _facts(own, "tcp.connect") or _facts(every, "tcp.connect")
    if facts is None:
        return None
    where = f"{facts.get('address')}:{facts.get('port')}"
    outcome = facts.get("outcome")
    if outcome == "refused":
        return f"connection refused ({where})"
    if outcome == "timeout":
        return f"no answer to connect within {facts.get('timeout_s'):g} s ({where})"
    return None


def _manifest(own: list[Observation], every: list[Observation], now: datetime) -> str | None:
    facts = _facts(own, "image.manifest") or _facts(every, "image.manifest")
    if facts is None or facts.get("outcome") != "manifest_unknown":
        return None
    reference = str(facts.get("reference") or "")
    what = f"digest {reference}" if reference.startswith("sha256:") else f"tag {reference}"
    tags = [
        o
        for o in every
        if o.kind == "http.response" and o.step == "tags.list" and o.facts.get("status") == 200
    ]
    exists = " (repository exists)" if tags else ""
    return f"manifest unknown: {what}{exists}"


def _dns(own: list[Observation], every: list[Observation], now: datetime) -> str | None:
    facts = _facts(own, "dns.answer") or _facts(every, "dns.answer")
    if facts is None:
        return None
    outcome = str(facts.get("outcome") or "")
    name = facts.get("name")
    words = {
        "nxdomain": "does not exist (NXDOMAIN)",
        "servfail": "cannot be resolved (SERVFAIL)",
        "timeout": "got no DNS answer in time",
        "nodata": "has no address",
    }
    said = words.get(outcome)
    return f"{name} {said}" if said and name else None


_Phrase = Callable[[list[Observation], list[Observation], datetime], "str | None"]

#: (category or category prefix, phrase). The first that says something wins.
_PHRASES: tuple[tuple[str, _Phrase], ...] = (
    ("tls.expired", _expired),
    ("tls.expiring_soon", _expiring),
    ("tcp.refused", _connect),
    ("tcp.timeout", _connect),
    ("image.manifest_unknown", _manifest),
    ("dns", _dns),
)
