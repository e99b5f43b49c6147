"""regdoctor.render.plain: the terminal report."""

from __future__ import annotations

import io
import re
import shlex
from types import ModuleType
from typing import Any

import pytest
from rich.cells import cell_len
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
from regdoctor.redact.secrets import Redactor
from regdoctor.render import RENDERERS, render_plain
from regdoctor.render.shell import shell_words
from regdoctor.render.shell import shell_wrap as _shell_wrap

SGR = re.compile(r"\x1b\[[0-9;]*m")
SKIP = "\u2013"  # the mark of a skipped phase (EN DASH)


def _render(report: Report, *, width: int = 80, verbose: bool = False, **console: Any) -> str:
    buf = io.StringIO()
    render_plain(report, Console(file=buf, width=width, **console), verbose=verbose)
    return buf.getvalue()


def _unwrap_shell(text: str) -> str:
    """Undo the renderer's shell line continuations."""
    return re.sub(r" \\\n\s*", " ", text)


def _lines_fit(out: str, width: int) -> None:
    """Every line fits, except a command line holding one shell word wider than the
    width (cutting a word would change the command)."""
    too_long = [
        line
        for line in out.splitlines()
        if cell_len(line) > width
        and len([w for w in shell_words(line.strip().removesuffix(" \\")) or ["", ""] if w]) > 1
    ]
    assert not too_long, too_long


@pytest.fixture
def out(no_color_env: None, full_report: Report) -> str:
    return _render(full_report)


@pytest.fixture
def verbose_out(no_color_env: None, full_report: Report) -> str:
    return _render(full_report, verbose=True)


def test_fits_80_columns(out: str, verbose_out: str) -> None:
    _lines_fit(out, 80)
    _lines_fit(verbose_out, 80)


@pytest.mark.parametrize("width", [40, 60, 100, 200])
def test_fits_other_widths(no_color_env: None, full_report: Report, width: int) -> None:
    _lines_fit(_render(full_report, width=width, verbose=True), width)


def test_no_control_codes_when_not_a_terminal(out: str, verbose_out: str) -> None:
    for text in (out, verbose_out):
        assert "\x1b" not in text
        assert "\x07" not in text
        assert "\r" not in text
        assert "\x9b" not in text
        assert "\u202e" not in text


def test_markup_and_escapes_from_data_appear_literally(out: str, verbose_out: str) -> None:
    assert "[bold red]ZeroDivisionError[/]" in out  # a title with markup
    assert "[bold red]hi[/]" in out  # evidence with markup
    assert "[link=https://evil.example]click[/link]" in out
    assert ":smile:" in out
    assert "\\x1b]52;c;" in out
    assert "\\x1b[2J" in out
    assert "fine\\roverwritten" in out
    assert "[bold]docker login[/bold]" in out  # remediation text from a rule, not markup
    assert "[bold red]/etc/docker/daemon.json[/]" in verbose_out  # an observation source


def test_no_secret_reaches_the_terminal(out: str, verbose_out: str, samples: ModuleType) -> None:
    for text in (out, verbose_out):
        assert samples.FAKE_JWT not in text
        assert samples.FAKE_JWT.split(".")[1] not in text
        assert samples.FAKE_PASSWORD not in text
        assert "deadbeef" not in text
        assert "abc123" not in text
        assert "Ym9iOnMzY3IzdA" not in text
    assert "Authorization: Bearer ****" in out
    assert "https://bob:****@crashy.example.com:5000/v2/" in verbose_out


def test_redactor_masks_literal_secrets(no_color_env: None, samples: ModuleType) -> None:
    target = samples.crashed_target()
    obs = Observation(
        kind="auth.result",
        target=target.target.raw,
        ok=False,
        phase="auth",
        error=f"helper printed {samples.FAKE_PASSWORD} on stderr",
    )
    finding = Finding(
        rule="auth.helper",
        category="auth.credential_helper",
        severity=Severity.ERROR,
        confidence="high",
        target=target.target.raw,
        phase="auth",
        title="helper failed",
        explanation=f"It said {samples.FAKE_PASSWORD}.",
        observations=(len(target.observations),),
    )
    tr = TargetReport(
        target=target.target,
        endpoint=target.endpoint,
        phases=target.phases,
        observations=(*target.observations, obs),
        findings=(finding,),
        duration_ms=1.0,
    )
    report = samples.make_report(tr)
    for verbose in (False, True):
        buf = io.StringIO()
        render_plain(
            report,
            Console(file=buf, width=80),
            verbose=verbose,
            redactor=Redactor([samples.FAKE_PASSWORD]),
        )
        assert samples.FAKE_PASSWORD not in buf.getvalue()
        assert "helper printed **** on stderr" in buf.getvalue()


def test_targets_phases_and_skip_reasons(out: str) -> None:
    lines = out.splitlines()
    # each target starts with its verdict line, then where it was reached
    assert lines[0].startswith("✓ OK  registry.example.com:5000/team/app:1.2.3  pulls")
    assert lines[1].startswith("  https://registry.example.com:5000 via 192.0.2.5  ")
    assert any(line.startswith("✗ ERROR  expired.example.com  tls.expired: ") for line in lines)
    assert "https://expired.example.com:443 via 192.0.2.10" in out
    assert re.search(r"^  ✗ tls +failed +12 ms  x509: certificate has expired", out, re.M)
    assert re.search(rf"^  {SKIP} http +skipped +not run: tls failed$", out, re.M)
    assert re.search(rf"^  {SKIP} auth +skipped +not run: tls failed$", out, re.M)
    assert re.search(r"^  # tcp +crashed +<1 ms  ZeroDivisionError: division by zero$", out, re.M)
    assert re.search(rf"^  {SKIP} tls +skipped +not run: tcp crashed$", out, re.M)
    assert re.search(r"^  · image +n/a +not an image reference$", out, re.M)
    assert re.search(r"^  ✓ dns +ok +2 ms  192\.0\.2\.5, 192\.0\.2\.6$", out, re.M)


def test_findings_leading_first_with_category_and_remediation(
    out: str, samples: ModuleType
) -> None:
    assert "[error] tls.expired  The registry's TLS certificate has expired" in out
    assert "(tls.cert-expired, likely cause)" in out
    assert out.index("tls.expired") < out.index("tls.expiring_soon")
    assert "[warning] auth.unauthorized" in out
    assert re.search(r"confidence\s+medium", out)
    assert "[error] other" in out
    assert "seen: x509: certificate has expired or is not yet valid: current time" in out
    assert "1. Renew the certificate on the registry and reload it." in out
    assert "2. Check the clock of this machine." in out
    for label in ("docker:", "podman:", "containerd:", "kubernetes:"):
        assert label in out
    # commands verbatim and flush left below their label, long ones broken only between
    # words
    assert "podman:\npodman pull expired.example.com/library/alpine\n" in out
    assert "containerd:\nnerdctl pull expired.example.com/library/alpine\n" in out
    assert "docker:\ndate -u\ntimedatectl status\n" in out
    unwrapped = _unwrap_shell(out)
    assert samples.LONG_COMMAND in unwrapped
    assert (
        "openssl s_client -connect expired.example.com:443 -servername expired.example.com"
        " </dev/null" in unwrapped
    )
    assert "see: https://distribution.github.io/distribution/about/deploying/" in out
    # explanation wrapped, indented, complete
    assert "check this machine's clock first." in out


def test_commands_order_follows_tools(out: str) -> None:
    block = out[out.index("1. Renew") : out.index("2. Check")]
    positions = [block.index(f"{tool}:") for tool in ("docker", "podman", "containerd")]
    assert positions == sorted(positions)
    assert block.index("kubernetes:") > positions[-1]


def test_summary_line(out: str) -> None:
    assert re.search(
        r"^3 targets: 1 ok, 0 warnings, 2 errors \(exit code 2\) in \d+\.\d+ s$", out, re.M
    )
    assert "the global deadline was reached" in out


def test_verbose_lists_observations(out: str, verbose_out: str) -> None:
    assert "observations:" not in out
    assert "observations:" in verbose_out
    assert re.search(r"#0 +dns\.answer ok", verbose_out)
    assert "probe.crashed not ok" in verbose_out
    assert "http.response [v2] not ok" in verbose_out
    assert 'addresses=["192.0.2.5","192.0.2.6"]' in verbose_out
    assert "error: ZeroDivisionError: division by zero" in verbose_out


def test_healthy_only(no_color_env: None, healthy_report: Report) -> None:
    out = _render(healthy_report)
    assert "[error]" not in out and "[warning]" not in out
    assert re.search(r"^1 target: 1 ok, 0 warnings, 0 errors \(exit code 0\) in", out, re.M)
    assert "found sha256:abababababab…" in out


def test_empty_report(no_color_env: None, samples: ModuleType) -> None:
    out = _render(samples.make_report())
    assert out.startswith("0 targets: 0 ok, 0 warnings, 0 errors (exit code 0)")


def test_terminal_with_colour_only_emits_style_codes(full_report: Report) -> None:
    out = _render(full_report, verbose=True, force_terminal=True, color_system="truecolor")
    assert SGR.search(out)  # colours are there...
    stripped = SGR.sub("", out)
    assert "\x1b" not in stripped  # ...and nothing else: no injected sequence
    assert "\x07" not in stripped and "\r" not in stripped
    _lines_fit(stripped, 80)


def test_terminal_with_no_color_has_no_colours(full_report: Report) -> None:
    out = _render(full_report, force_terminal=True, no_color=True)
    for code in SGR.findall(out):
        params = code[2:-1].split(";")
        assert all(p in ("", "0", "1", "2") for p in params), code


def test_non_utf8_console_is_ascii(full_report: Report) -> None:
    class AsciiFile(io.StringIO):
        encoding = "ascii"

    buf = AsciiFile()
    render_plain(full_report, Console(file=buf, width=80), verbose=True)
    out = buf.getvalue()
    out.encode("ascii")
    assert re.search(r"^  x tls +failed", out, re.M)
    assert re.search(r"^  # tcp +crashed", out, re.M)
    assert re.search(r"^  - http +skipped +not run: tls failed$", out, re.M)


def test_odd_data_does_not_break_the_renderer(no_color_env: None, samples: ModuleType) -> None:
    target = Target(raw="::1", registry="[::1]:5000", host="::1", port=5000)
    obs = Observation(
        kind="tls.chain",
        target="::1",
        ok=False,
        phase="tls",
        facts={
            "certificates": [{"subject": "CN=x" * 200, "sans": ["a"] * 100}],
            "weird": object(),
            "n": float("nan"),
        },
        evidence="x" * 1_000_000,
        error="\n".join(["line"] * 100),
    )
    finding = Finding(
        rule="r" * 300,
        category="other",
        severity="info",  # type: ignore[arg-type]  # a plain string, as from JSON
        confidence="low",
        target="::1",
        phase="system",
        title="t" * 500,
        explanation="e " * 2000,
        remediation=(
            RemediationStep(
                text="run it",
                commands={
                    "docker": "x" * 300,
                    "custom-tool": "echo 'a b' # with a comment " + "y " * 60,
                    "podman": "cat <<EOF\n" + "z" * 200 + "\nEOF",
                },
            ),
        ),
        observations=(0, -1, 5),
    )
    tr = TargetReport(
        target=target,
        endpoint={},
        phases=(
            PhaseResult("system", PhaseStatus.WARN, float("inf"), error="odd"),
            PhaseResult("tls", PhaseStatus.OK),
        ),
        observations=(obs,),
        findings=(finding,),
        duration_ms=float("nan"),
    )
    for verbose in (False, True):
        out = _render(samples.make_report(tr), verbose=verbose)
        _lines_fit(out, 80)
        assert "[info] other" in out
        assert "[::1]:5000" in out
        assert "custom-tool:" in out
        assert "…" in out  # long evidence / error cut
        assert len(out) < 40_000


def test_renderers_table(no_color_env: None, full_report: Report) -> None:
    assert set(RENDERERS) >= {"plain", "json"}
    buf = io.StringIO()
    RENDERERS["plain"](full_report, Console(file=buf, width=80), verbose=False)
    assert "3 targets:" in buf.getvalue()


def _rejoin(lines: list[str]) -> str:
    return " ".join(line[:-2] if line.endswith(" \\") else line for line in lines)


@pytest.mark.parametrize(
    "command",
    [
        "kubectl create secret docker-registry regcred --docker-server=r.example.com:5000 "
        '--docker-username=bob --docker-password="$(cat ~/.regpass)" --namespace=team-a',
        "echo 'a  b   c' \"d  e\" " + "word " * 30,
        "grep -rn 'x'   /etc/containers/registries.conf    /etc/containers/registries.conf.d/",
    ],
)
def test_shell_wrap_keeps_the_command(command: str) -> None:
    lines = _shell_wrap(command, 50)
    assert lines is not None
    assert all(cell_len(line) <= 50 for line in lines)
    assert all(line.endswith(" \\") for line in lines[:-1])
    assert shlex.split(_rejoin(lines)) == shlex.split(command)


def test_shell_wrap_moves_a_comment_above() -> None:
    command = "cat /etc/containerd/certs.d/r:5000/hosts.toml   # server entries decide the port"
    lines = _shell_wrap(command, 50)
    assert lines is not None
    assert lines[0].startswith("# ") and lines[-1].startswith("cat /etc/containerd")
    assert lines[-1] == "cat /etc/containerd/certs.d/r:5000/hosts.toml"
    assert " ".join(line[2:] for line in lines[:-1]) == "server entries decide the port"


def test_shell_wrap_refuses_what_it_cannot_keep() -> None:
    assert _shell_wrap("short", 40) == ["short"]
    assert _shell_wrap("echo 'unbalanced " + "x " * 40, 40) is None
    assert _shell_wrap("x" * 100, 40) is None


def test_skip_reason_is_not_doubled(no_color_env: None, samples: ModuleType) -> None:
    from dataclasses import replace

    tr = samples.tls_expired_target()
    phases = (PhaseResult("http", PhaseStatus.SKIPPED, reason="not run because tls failed"),)
    out = _render(samples.make_report(replace(tr, phases=phases)))
    assert re.search(rf"^  {SKIP} http +skipped +not run because tls failed$", out, re.M)


def test_details_below_streamed_verdict_lines_do_not_repeat_them(
    no_color_env: None, samples: ModuleType
) -> None:
    """A piped ``check`` streams each target's verdict line, then the details: a block
    starts with the target's name there, not with its ERROR line a second time."""
    report = samples.make_report(samples.tls_expired_target(), samples.healthy_target())
    whole = _render(report)
    buf = io.StringIO()
    render_plain(report, Console(file=buf, width=80), verdicts_shown=True)
    details = buf.getvalue()
    verdict = re.compile(r"\S+ (ERROR|WARNING|OK) ")
    verdict_lines = [line for line in whole.splitlines() if verdict.match(line)]
    for tr in report.targets:
        assert any(tr.target.raw in line for line in verdict_lines)
        assert tr.target.raw in details.splitlines()  # the block names its target
    assert not [line for line in details.splitlines() if verdict.match(line)]
