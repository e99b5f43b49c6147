"""Helpers for the report tests: real checks against the testbed, and feature probes
(``test_features_present`` makes sure none of them ever skips silently)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from regdoctor.model import Report
from tests.harness.testbed import Testbed


def check_parser() -> argparse.ArgumentParser:
    from regdoctor.cli.options import add_check_arguments

    parser = argparse.ArgumentParser()
    add_check_arguments(parser)
    return parser


def _option(dest: str) -> argparse.Action | None:
    return next((a for a in check_args_actions() if a.dest == dest), None)


def check_args_actions() -> list[argparse.Action]:
    return list(check_parser()._actions)


def format_choices() -> tuple[str, ...]:
    action = _option("format")
    return tuple(action.choices or ()) if action is not None else ()


def has_check_option(dest: str) -> bool:
    return _option(dest) is not None


def harbor_registered() -> bool:
    from regdoctor.check import pipeline as runner

    return any(getattr(p, "id", None) == "harbor" for p in runner.PROBES)


needs_format = {
    name: pytest.mark.skipif(
        name not in format_choices(),
        reason=f"check --format {name} is not offered",
    )
    for name in ("markdown", "prometheus", "junit")
}
needs_fail_on = pytest.mark.skipif(
    not has_check_option("fail_on"), reason="--fail-on is not offered"
)
needs_redact_hosts = pytest.mark.skipif(
    not has_check_option("redact_hosts"), reason="--redact-hosts is not offered"
)
needs_harbor_registered = pytest.mark.skipif(
    not harbor_registered(), reason="HarborProbe is not in runner.PROBES"
)


def run_report(targets: Sequence[str], *, ca_file: Path | None = None, **options: object) -> Report:
    """A real check, in process (the same runner the CLI uses)."""
    from regdoctor.check.pipeline import check
    from regdoctor.options import CheckOptions
    from regdoctor.reference.targets import parse_target

    opts = CheckOptions(
        timeout=float(options.pop("timeout", 3.0)),  # type: ignore[arg-type]
        deadline=float(options.pop("deadline", 15.0)),  # type: ignore[arg-type]
        ca_files=(ca_file,) if ca_file else (),
        **options,  # type: ignore[arg-type]
    )
    return check([parse_target(t) for t in targets], opts, command=["regdoctor", "check", *targets])


def cli(*args: str, stdin: str = "", timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regdoctor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def healthy_and_failing(testbed: Testbed, isolate_env: object) -> tuple[Report, str, str]:
    """One check of a healthy image (plain registry) and a refused registry."""
    healthy = testbed.images.app.ref(testbed.endpoints["plain"].hostport)
    failing = testbed.endpoints["closed"].hostport
    return run_report([healthy, failing]), healthy, failing
