"""A piped ``check`` prints its plain report through a PlainConsole, its lines laid out
by PlainText (no Rich at all): the same bytes Rich's Console writes there for Rich's
Text, for the reports of real checks (every scenario of ``tests/scenarios``, healthy and
failing, and configuration files with problems), at several widths, with ``--verbose``
and ``--summary``; the same reports again with what servers said replaced by hostile
text (wide characters, combining marks, a digest and a URL longer than the width, tabs,
escape sequences: escaped as always); and Rich's Console is still chosen wherever Rich
would style the output."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from regdoctor.check.plan import plan
from regdoctor.cli.check import write_plain
from regdoctor.cli.request import request_from_args
from regdoctor.cli.stream import _printer, _redactor
from regdoctor.model import Report
from regdoctor.redact.secrets import Redactor
from regdoctor.render.plain_console import PlainConsole, stdout_console
from tests.harness import Testbed
from tests.harness.testbed import USERNAME
from tests.helpers.reports import check_parser
from tests.scenarios.test_check_scenarios import SCENARIOS, Scenario, _skopeo_verifies, _target

WIDTHS = (40, 80, 137)


def _args(testbed: Testbed, scenario: Scenario) -> list[str]:
    """The scenario's arguments, as ``tests/scenarios`` gives them (judged as podman)."""
    args = ["--runtime", "podman", *scenario.args]
    if not _skopeo_verifies(testbed, scenario) and scenario.peer == "skopeo":
        args.append("--insecure")
    if scenario.ca:
        args += ["--ca-file", str(testbed.ca_file)]
    if scenario.client_cert:
        args += ["--cert", str(testbed.client_cert), "--key", str(testbed.client_key)]
    if scenario.password is not None:
        args += ["--username", USERNAME, "--password-stdin"]
    return [*args, _target(testbed, scenario)]


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch, password: str | None = None):  # type: ignore[no-untyped-def]
    """A real check, planned and run as ``regdoctor check`` does: (report, redactor)."""
    if password is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    args = check_parser().parse_args(argv)
    run_plan = plan(request_from_args(args))
    report = run_plan.run_sync(["regdoctor", "check", *argv])
    return report, _redactor(run_plan, args)


def _piped(
    report: Report, make: Callable[[io.StringIO], object], argv: list[str], redactor: Redactor
) -> str:
    """What a piped ``check`` writes: each verdict line as its target is done, then the
    details below them (``--summary``: the verdict lines only)."""
    out = io.StringIO()
    console = make(out)
    args = check_parser().parse_args(argv)
    printer = _printer(console, args, redactor, report.runtimes, tty=False)  # type: ignore[arg-type]
    for target in report.targets:
        printer(target)
    if not args.summary:
        write_plain(report, console, args, redactor)  # type: ignore[arg-type]
    return out.getvalue()


DIGEST = "sha256:" + "0123456789abcdef" * 4
URL = "https://registry.example.com:5000/v2/team/app/manifests/" + DIGEST + "?scope=repo:pull"
#: What a server might say instead: every value below goes through redaction and
#: safe_text before it is laid out, as today.
HOSTILE = (
    "証明書の有効期限が切れています: レジストリ.example:5000 の x509 証明書",
    "e\u0301chec de la re\u0301solution de ca\u0327a \u0915\u093f\u0924\u093e\u092c",
    f"manifest {DIGEST} unknown to this registry",
    URL,
    "denied:\trequested access\tto the resource is denied",
    "\x1b[31mred\x1b[0m \x1b]52;c;SGVsbG8=\x07 \r overwrite \u202egnp.exe and more words",
    "\ud55c\uad6d\uc5b4 \uff71\uff72\uff73 \uff21\uff22 fam\U0001f468\u200d\U0001f469ily \u2630",
)


def _hostile(report: Report) -> Report:
    """``report`` with what its servers said (phase errors and summaries, findings'
    titles, explanations, steps and references, observations' errors, evidence and
    facts) replaced by :data:`HOSTILE` texts, in turn."""
    said = itertools.cycle(HOSTILE)
    targets = []
    for tr in report.targets:
        phases = tuple(
            replace(
                p,
                error=next(said) if p.error else None,
                summary=next(said) if p.summary else p.summary,
            )
            for p in tr.phases
        )
        observations = tuple(
            replace(
                o,
                error=f"{next(said)}\n{next(said)}" if o.error else None,
                evidence=f"{next(said)}\n\t{next(said)}" if o.evidence else None,
                facts={**o.facts, "server": next(said)},
            )
            for o in tr.observations
        )
        findings = tuple(
            replace(
                f,
                title=next(said),
                explanation=f"{next(said)} {next(said)}",
                remediation=tuple(replace(step, text=next(said)) for step in f.remediation),
                references=(*f.references, URL),
            )
            for f in tr.findings
        )
        targets.append(replace(tr, phases=phases, observations=observations, findings=findings))
    return replace(report, targets=tuple(targets))


def _assert_same_bytes(report: Report, redactor: Redactor, argv: list[str]) -> None:
    _assert_same(report, redactor, argv)
    _assert_same(_hostile(report), redactor, argv)


def _assert_same(report: Report, redactor: Redactor, argv: list[str]) -> None:
    for width in WIDTHS:
        for extra in ([], ["--verbose"], ["--summary"]):
            variant = [*extra, *argv]
            with_rich = _piped(
                report,
                lambda out, w=width: Console(file=out, width=w, highlight=False),
                variant,
                redactor,
            )
            plain = _piped(report, lambda out, w=width: PlainConsole(out, w), variant, redactor)
            assert plain == with_rich, (width, variant)
            assert "\x1b" not in plain


@pytest.fixture(autouse=True)
def _not_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


def test_every_scenario_report_prints_the_same(
    testbed: Testbed, isolate_env, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    categories: set[str] = set()
    for scenario in SCENARIOS:
        argv = _args(testbed, scenario)
        report, redactor = _run(argv, monkeypatch, scenario.password)
        found = {f.category for t in report.targets for f in t.findings}
        if scenario.category is not None:
            assert scenario.category in found, (scenario.name, found)
        categories |= found
        _assert_same_bytes(report, redactor, argv)
    assert {s.category for s in SCENARIOS} - {None} <= categories
    assert len(categories) >= 12, sorted(categories)


def test_several_targets_and_configuration_problems_print_the_same(
    testbed: Testbed, isolate_env, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """One run with a healthy image, a missing tag and repository, a platform mismatch
    and a refused port; another with configuration files that have problems (their own
    section)."""
    plain = testbed.endpoints["plain"].hostport
    argv = ["--runtime", "docker", "--platform", "linux/s390x", testbed.images.app.ref(plain)]
    argv += [f"{plain}/team/app:no-such-tag", f"{plain}/no/such-repo:1.0"]
    argv += [testbed.endpoints["closed"].hostport]
    report, redactor = _run(argv, monkeypatch)
    found = {f.category for t in report.targets for f in t.findings}
    expected = {"image.manifest_unknown", "image.name_unknown", "image.platform_mismatch"}
    assert expected | {"tcp.refused"} <= found, found
    _assert_same_bytes(report, redactor, argv)

    daemon = isolate_env.config_root / "etc" / "docker" / "daemon.json"
    daemon.parent.mkdir(parents=True, exist_ok=True)
    daemon.write_text('{"registry-mirrors": ["not a url"], "insecure-registries": [}\n')
    conf = isolate_env.config_root / "etc" / "containers" / "registries.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text('[[registry]]\nlocation = "bad\n')
    argv = ["--runtime", "docker", testbed.images.app.ref(plain)]
    report, redactor = _run(argv, monkeypatch)
    configs = [t for t in report.targets if t.target.kind == "config"]
    assert any(t.status != "ok" for t in configs), [t.status for t in configs]
    _assert_same_bytes(report, redactor, argv)


def test_the_console_is_plain_only_where_rich_would_not_style(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert isinstance(stdout_console(), PlainConsole)
    assert isinstance(stdout_console(rich=True), Console)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert isinstance(stdout_console(), Console)
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setattr(sys, "stdout", Tty())
    assert isinstance(stdout_console(), Console)


PROGRAM = """
import json, sys
from regdoctor.cli.main import main
code = main({argv!r})
print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)
"""


def test_a_piped_check_prints_through_rich_only_when_forced(
    testbed: Testbed, isolate_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The whole command: piped, no ``rich.console``; with ``FORCE_COLOR`` (Rich would
    style), Rich's Console, as before."""
    import os

    argv = [
        "check",
        "--runtime",
        "docker",
        testbed.images.app.ref(testbed.endpoints["plain"].hostport),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    outputs = {}
    for forced in (False, True):
        run_env = {**env, "FORCE_COLOR": "1"} if forced else env
        proc = subprocess.run(
            [sys.executable, "-c", PROGRAM.format(argv=argv)],
            capture_output=True,
            text=True,
            timeout=60,
            env=run_env,
            check=False,
        )
        code, modules = json.loads(proc.stderr.strip().splitlines()[-1])
        assert code == 0, proc.stdout
        assert ("rich.console" in modules) == forced
        outputs[forced] = proc.stdout
    assert "\x1b" not in outputs[False] and "\x1b" in outputs[True]
    assert outputs[False].splitlines()[0].startswith("✓ OK")
