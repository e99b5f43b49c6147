"""Reports built by hand for the renderer tests (no probes, no network, no clock)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from rich.console import Console

from regdoctor.model import (
    Finding,
    Observation,
    PhaseResult,
    PhaseStatus,
    RemediationStep,
    Report,
    Severity,
    Target,
    TargetReport,
)


def summarised(report: TargetReport) -> TargetReport:
    """Each phase with the summary its probe writes, as the pipeline does."""
    from regdoctor.check.pipeline import PROBES

    probes = {p.id: p for p in PROBES}
    phases = tuple(
        dataclasses.replace(
            phase,
            summary=probes[phase.name].summary(
                [o for o in report.observations if o.phase == phase.name]
            )
            or None,
        )
        if phase.name in probes
        else phase
        for phase in report.phases
    )
    return dataclasses.replace(report, phases=phases)


#: A JWT-looking bearer token that must never reach any output.
FAKE_JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IkFCQ0QifQ"
    ".eyJpc3MiOiJ0b2tlbi1zZXJ2ZXIiLCJzdWIiOiJib2IifQ"
    ".c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
)
FAKE_PASSWORD = "s3cr3t-P4ssw0rd!"  # appears only where a Redactor must hide it

#: What a hostile or broken server might send back.
HOSTILE_EVIDENCE = (
    "HTTP/1.1 401 Unauthorized\r\n"
    f"Authorization: Bearer {FAKE_JWT}\r\n"
    "X-Clipboard: \x1b]52;c;ZWNobyBwd25lZA==\x07\r\n"
    "X-Clear: \x1b[2J\x1b[H\r\n"
    "X-Markup: [bold red]hi[/] [link=https://evil.example]click[/link] :smile:\r\n"
    "X-Overwrite: fine\roverwritten\r\n"
    "X-C1: \x9b31m\u202eevil\r\n"
    "\r\n"
    '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
)

LONG_COMMAND = (
    "kubectl create secret docker-registry regcred --docker-server=registry.example.com:5000 "
    '--docker-username=bob --docker-password="$(cat ~/.regpass)" --namespace=team-a'
)


def healthy_target() -> TargetReport:
    target = Target(
        raw="registry.example.com:5000/team/app:1.2.3",
        registry="registry.example.com:5000",
        host="registry.example.com",
        port=5000,
        repository="team/app",
        tag="1.2.3",
    )
    t = target.raw
    observations = (
        Observation(
            kind="dns.answer",
            target=t,
            ok=True,
            phase="dns",
            facts={
                "name": "registry.example.com",
                "role": "registry",
                "outcome": "answer",
                "addresses": ["192.0.2.5", "192.0.2.6"],
            },
            duration_ms=2.5,
        ),
        Observation(
            kind="tcp.connect",
            target=t,
            ok=True,
            phase="tcp",
            facts={"address": "192.0.2.5", "port": 5000, "family": "ipv4", "outcome": "connected"},
            duration_ms=1.2,
        ),
        Observation(
            kind="tls.handshake",
            target=t,
            ok=True,
            phase="tls",
            facts={
                "host": "registry.example.com",
                "role": "registry",
                "outcome": "ok",
                "protocol": "TLSv1.3",
            },
            duration_ms=8.0,
        ),
        Observation(
            kind="http.response",
            target=t,
            ok=True,
            phase="http",
            step="v2",
            facts={
                "status": 401,
                "auth_scheme": "bearer",
                "url": "https://registry.example.com:5000/v2/",
            },
            duration_ms=4.0,
        ),
        Observation(
            kind="auth.result",
            target=t,
            ok=True,
            phase="auth",
            facts={"outcome": "authenticated", "auth_scheme": "bearer"},
            duration_ms=20.0,
        ),
        Observation(
            kind="image.manifest",
            target=t,
            ok=True,
            phase="image",
            facts={"outcome": "found", "digest": "sha256:" + "ab" * 32},
            duration_ms=6.0,
        ),
    )
    phases = (
        PhaseResult("config", PhaseStatus.OK, 0.4),
        PhaseResult("dns", PhaseStatus.OK, 2.5),
        PhaseResult("tcp", PhaseStatus.OK, 1.2),
        PhaseResult("tls", PhaseStatus.OK, 8.0),
        PhaseResult("http", PhaseStatus.OK, 4.0),
        PhaseResult("auth", PhaseStatus.OK, 20.0),
        PhaseResult("image", PhaseStatus.OK, 6.0),
    )
    return summarised(
        TargetReport(
            target=target,
            endpoint={
                "scheme": "https",
                "host": "registry.example.com",
                "port": 5000,
                "address": "192.0.2.5",
            },
            phases=phases,
            observations=observations,
            findings=(),
            duration_ms=42.0,
        )
    )


def tls_expired_target() -> TargetReport:
    target = Target(
        raw="expired.example.com",
        registry="expired.example.com",
        host="expired.example.com",
        port=443,
    )
    t = target.raw
    observations = (
        Observation(
            kind="dns.answer",
            target=t,
            ok=True,
            phase="dns",
            facts={"name": t, "role": "registry", "outcome": "answer", "addresses": ["192.0.2.10"]},
            duration_ms=3.0,
        ),
        Observation(
            kind="tcp.connect",
            target=t,
            ok=True,
            phase="tcp",
            facts={"address": "192.0.2.10", "port": 443, "outcome": "connected"},
            duration_ms=1.0,
        ),
        Observation(
            kind="tls.verify",
            target=t,
            ok=False,
            phase="tls",
            facts={
                "host": t,
                "port": 443,
                "role": "registry",
                "reason": "expired",
                "detail": "certificate has expired",
                "enforced": True,
            },
            error="x509: certificate has expired or is not yet valid: current time "
            "2024-05-01T10:00:00Z is after 2024-04-01T00:00:00Z",
            duration_ms=12.0,
        ),
        Observation(
            kind="tls.chain",
            target=t,
            ok=False,
            phase="tls",
            facts={"leaf_days_left": -30, "min_days_left": -30, "host": t, "role": "registry"},
        ),
        Observation(
            kind="probe.skipped",
            target=t,
            ok=False,
            phase="http",
            facts={"probe": "http", "because": "tls", "reason": "tls failed"},
        ),
    )
    findings = (
        Finding(
            rule="tls.leaf-expiring",
            category="tls.expiring_soon",
            severity=Severity.WARNING,
            confidence="high",
            target=t,
            phase="tls",
            title="Another certificate in the chain expires soon",
            explanation="The intermediate certificate expires in 10 days.",
        ),
        Finding(
            rule="tls.cert-expired",
            category="tls.expired",
            severity=Severity.ERROR,
            confidence="high",
            target=t,
            phase="tls",
            title="The registry's TLS certificate has expired",
            explanation=(
                "The certificate presented by expired.example.com:443 expired 30 days ago "
                "(not after 2024-04-01T00:00:00Z). Every client refuses it: docker, podman "
                "and containerd all verify the validity period. If the date looks wrong, "
                "check this machine's clock first."
            ),
            remediation=(
                RemediationStep(
                    text="Renew the certificate on the registry and reload it.",
                    commands={
                        "kubernetes": LONG_COMMAND,
                        "docker": "openssl s_client -connect expired.example.com:443 "
                        "-servername expired.example.com </dev/null",
                        "podman": "podman pull expired.example.com/library/alpine",
                        "containerd": "nerdctl pull expired.example.com/library/alpine",
                    },
                ),
                RemediationStep(
                    text="Check the clock of this machine.",
                    commands={"docker": "date -u\ntimedatectl status"},
                ),
            ),
            references=("https://distribution.github.io/distribution/about/deploying/",),
            observations=(2, 3),
            leading=True,
        ),
    )
    phases = (
        PhaseResult("config", PhaseStatus.OK, 0.2),
        PhaseResult("dns", PhaseStatus.OK, 3.0),
        PhaseResult("tcp", PhaseStatus.OK, 1.0),
        PhaseResult(
            "tls",
            PhaseStatus.FAILED,
            12.0,
            error="x509: certificate has expired or is not yet valid",
        ),
        PhaseResult("http", PhaseStatus.SKIPPED, reason="tls failed"),
        PhaseResult("auth", PhaseStatus.SKIPPED, reason="tls failed"),
        PhaseResult("image", PhaseStatus.NOT_APPLICABLE, reason="not an image reference"),
    )
    return summarised(
        TargetReport(
            target=target,
            endpoint={"scheme": "https", "host": t, "port": 443, "address": "192.0.2.10"},
            phases=phases,
            observations=observations,
            findings=findings,
            duration_ms=25.0,
        )
    )


def crashed_target() -> TargetReport:
    target = Target(
        raw="crashy.example.com:5000",
        registry="crashy.example.com:5000",
        host="crashy.example.com",
        port=5000,
    )
    t = target.raw
    observations = (
        Observation(
            kind="dns.answer",
            target=t,
            ok=True,
            phase="dns",
            facts={
                "name": "crashy.example.com",
                "role": "registry",
                "outcome": "answer",
                "addresses": ["192.0.2.20"],
            },
        ),
        Observation(
            kind="probe.crashed",
            target=t,
            ok=False,
            phase="tcp",
            facts={"probe": "tcp", "exception": "ZeroDivisionError"},
            error="ZeroDivisionError: division by zero",
        ),
        Observation(
            kind="http.response",
            target=t,
            ok=False,
            phase="http",
            step="v2",
            facts={
                "status": 401,
                "url": "https://bob:"
                + FAKE_PASSWORD
                + "@crashy.example.com:5000/v2/?X-Amz-Signature=deadbeef&token=abc123",
            },
            error=f"unauthorized; sent Authorization: Bearer {FAKE_JWT}",
            evidence=HOSTILE_EVIDENCE,
            source="[bold red]/etc/docker/daemon.json[/]",
        ),
    )
    findings = (
        Finding(
            rule="probe.crashed",
            category="other",
            severity=Severity.ERROR,
            confidence="high",
            target=t,
            phase="tcp",
            title="The tcp probe crashed: [bold red]ZeroDivisionError[/]",
            explanation="regdoctor itself failed here; run with --debug and report it.",
            observations=(1,),
            leading=True,
        ),
        Finding(
            rule="auth.unauthorized",
            category="auth.unauthorized",
            severity=Severity.WARNING,
            confidence="medium",
            target=t,
            phase="http",
            title="The registry wants credentials \x1b[2J\x1b]52;c;cHduZWQ=\x07",
            explanation="The server said: " + HOSTILE_EVIDENCE,
            remediation=(
                RemediationStep(
                    text="Log in with [bold]docker login[/bold].",
                    commands={"docker": "docker login crashy.example.com:5000"},
                ),
            ),
            observations=(2, 99),  # 99: out of range, must not break the renderer
        ),
    )
    phases = (
        PhaseResult("config", PhaseStatus.OK),
        PhaseResult("dns", PhaseStatus.OK, 1.0),
        PhaseResult("tcp", PhaseStatus.CRASHED, 0.3, error="ZeroDivisionError: division by zero"),
        PhaseResult("tls", PhaseStatus.SKIPPED, reason="tcp crashed"),
        PhaseResult(
            "http", PhaseStatus.FAILED, 5.0, error="401 with Authorization: Basic Ym9iOnMzY3IzdA=="
        ),
    )
    return summarised(
        TargetReport(
            target=target,
            endpoint={"scheme": None, "host": "crashy.example.com", "port": 5000, "address": None},
            phases=phases,
            observations=observations,
            findings=findings,
            duration_ms=7.0,
        )
    )


def make_report(*targets: TargetReport, deadline_hit: bool = False) -> Report:
    return Report(
        targets=tuple(targets),
        started_at="2024-05-01T10:00:00+00:00",
        duration_ms=1234.5,
        version="0.1.0",
        command=("regdoctor", "check"),
        deadline_hit=deadline_hit,
    )


@pytest.fixture
def healthy_report() -> Report:
    return make_report(healthy_target())


@pytest.fixture
def full_report() -> Report:
    return make_report(healthy_target(), tls_expired_target(), crashed_target(), deadline_hit=True)


def plain_console(*, width: int = 80, **kwargs: object) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    console = Console(file=buf, width=width, **kwargs)  # type: ignore[arg-type]
    return console, buf


@pytest.fixture
def no_color_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def samples() -> object:
    """This module: the report builders and the secret/hostile constants above."""
    import sys

    return sys.modules[__name__]
