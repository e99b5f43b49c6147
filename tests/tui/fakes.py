"""A fixed report for the snapshot tests: no clock, no ports, the same every run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from regdoctor.model import (
    Finding,
    Observation,
    PhaseResult,
    PhaseStatus,
    RemediationStep,
    Severity,
    Target,
    TargetReport,
)
from regdoctor.reference.targets import parse_target

HEALTHY = "registry.example.test"
EXPIRED = "expired.example.test/team/app:1.0"
SLOW = "mirror.example.test"
#: Untrusted text with Rich markup and an escape sequence in it: must show as data.
HOSTILE_ERROR = "[bold red]pwned[/] \x1b[2J x509: certificate has expired"


class FixedClock:
    def monotonic(self) -> float:
        return 1000.0

    def now(self) -> datetime:
        return datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _phases(statuses: dict[str, tuple[PhaseStatus, float | None, str | None]]) -> tuple:
    out = []
    for name in ("dns", "tcp", "tls", "http", "auth", "image"):
        status, ms, why = statuses.get(name, (PhaseStatus.NOT_APPLICABLE, None, None))
        reason = why if status in (PhaseStatus.SKIPPED, PhaseStatus.NOT_APPLICABLE) else None
        error = why if status is PhaseStatus.FAILED else None
        out.append(PhaseResult(name, status, ms, error=error, reason=reason))
    return tuple(out)


def healthy(target: Target) -> TargetReport:
    ok = PhaseStatus.OK
    return TargetReport(
        target=target,
        endpoint={"scheme": "https", "host": target.host, "port": target.port},
        phases=_phases(
            {
                "dns": (ok, 2.0, None),
                "tcp": (ok, 1.0, None),
                "tls": (ok, 12.0, None),
                "http": (ok, 20.0, None),
                "auth": (ok, 35.0, None),
                "image": (PhaseStatus.NOT_APPLICABLE, None, "not an image reference"),
            }
        ),
        observations=(
            Observation(
                "dns.answer",
                target.id,
                True,
                "dns",
                facts={
                    "name": target.host,
                    "resolver": "127.0.0.1:5353",
                    "addresses": ["192.0.2.10"],
                },
            ),
        ),
        findings=(),
        duration_ms=70.0,
    )


def expired(target: Target) -> TargetReport:
    ok, skipped = PhaseStatus.OK, PhaseStatus.SKIPPED
    because = "not run because the tls phase failed"
    finding = Finding(
        rule="tls.cert-expired",
        category="tls.expired",
        severity=Severity.ERROR,
        confidence="high",
        target=target.id,
        phase="tls",
        title="The registry's certificate has expired",
        explanation="The certificate expired on 2024-04-30. Every client refuses it.",
        remediation=(
            RemediationStep(
                "Renew the certificate on the registry, then restart it.",
                {
                    "docker": "sudo systemctl restart docker",
                    "kubernetes": "kubectl -n registry rollout restart deploy/registry",
                },
            ),
        ),
        references=("https://distribution.github.io/distribution/about/deploying/",),
        observations=(1,),
        leading=True,
    )
    return TargetReport(
        target=target,
        endpoint={"scheme": "https", "host": target.host, "port": target.port},
        phases=_phases(
            {
                "dns": (ok, 3.0, None),
                "tcp": (ok, 1.0, None),
                "tls": (PhaseStatus.FAILED, 8.0, HOSTILE_ERROR),
                "http": (skipped, None, because),
                "auth": (skipped, None, because),
                "image": (skipped, None, because),
            }
        ),
        observations=(
            Observation(
                "tcp.connect",
                target.id,
                True,
                "tcp",
                facts={"address": "192.0.2.20", "port": 443, "outcome": "connected"},
            ),
            Observation(
                "tls.verify",
                target.id,
                False,
                "tls",
                error=HOSTILE_ERROR,
                facts={
                    "reason": "expired",
                    "not_after": "2024-04-30T00:00:00Z",
                    "names": ["expired.example.test"],
                },
            ),
        ),
        findings=(finding,),
        duration_ms=12.0,
    )


REPORTS = {HEALTHY: healthy, EXPIRED: expired}


def targets() -> list[Target]:
    return [parse_target(raw) for raw in (HEALTHY, EXPIRED, SLOW)]


async def fake_checker(target: Target) -> TargetReport:
    """Healthy and expired answer at once; the mirror never answers (a spinner)."""
    build = REPORTS.get(target.raw)
    if build is None:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")
    return build(target)


def fake_app(**kwargs):  # type: ignore[no-untyped-def]
    from regdoctor.tui.app import RegdoctorApp

    kwargs.setdefault("targets", [parse_target(HEALTHY), parse_target(EXPIRED)])
    return RegdoctorApp(checker=fake_checker, clock=FixedClock(), **kwargs)
