"""The Markdown ticket's length budget on every scenario fault of the testbed: a target
that fails (or warns) takes at most ``BUDGET`` lines by default, a healthy one one line;
``--verbose`` shows everything. All runtimes are judged (the longest report)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict

import pytest

from regdoctor.render.markdown import BUDGET
from tests.harness.testbed import USERNAME, Testbed
from tests.scenarios.test_check_scenarios import SCENARIOS, Scenario, _target

HEADING = re.compile(r"^### (❌ ERROR|⚠️ WARNING|✅ OK) `([^`]+)`")


def sections(text: str) -> dict[str, list[str]]:
    """Each target's section (its lines, up to the next section), by target."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = HEADING.match(line)
        if m:
            current = out.setdefault(m.group(2), [])
        elif line.startswith(("### ", "<details>")):
            current = None
        if current is not None:
            current.append(line)
    for lines in out.values():
        while lines and not lines[-1].strip():
            lines.pop()
    return out


def _args(bed: Testbed, scenario: Scenario) -> tuple[str, ...]:
    args: list[str] = ["--timeout", "1"]
    if scenario.ca:
        args += ["--ca-file", str(bed.ca_file)]
    if scenario.client_cert:
        args += ["--cert", str(bed.client_cert), "--key", str(bed.client_key)]
    return tuple(args)


def tickets(bed: Testbed, *extra: str) -> dict[str, tuple[Scenario, str]]:
    """One `check --format markdown` per set of options, every scenario's target in it:
    the ticket text, by target."""
    runs: dict[tuple[tuple[str, ...], str | None], list[Scenario]] = defaultdict(list)
    for scenario in SCENARIOS:
        runs[(_args(bed, scenario), scenario.password)].append(scenario)
    out = {}
    for (args, password), scenarios in runs.items():
        targets = list(dict.fromkeys(_target(bed, s) for s in scenarios))
        argv = [sys.executable, "-m", "regdoctor", "check", "--format", "markdown", *args, *extra]
        if password is not None:
            argv += ["--username", USERNAME, "--password-stdin"]
        proc = subprocess.run(
            [*argv, *targets],
            input=password or "",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode in (0, 1, 2), proc.stderr
        for scenario in scenarios:
            out[scenario.name] = (scenario, proc.stdout)
    return out


@pytest.fixture(scope="module")
def default(testbed: Testbed) -> dict[str, tuple[Scenario, str]]:
    return tickets(testbed)


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_a_failing_target_fits_the_budget_a_healthy_one_is_one_line(
    testbed: Testbed, default, name: str
) -> None:
    scenario, text = default[name]
    target = _target(testbed, scenario)
    found = sections(text)
    if target not in found:  # healthy: its verdict line in the list, nothing else
        lines = [line for line in text.splitlines() if f"`{target}`" in line]
        assert len(lines) == 1 and lines[0].startswith(f"- ✅ OK `{target}`"), lines
        return
    section = found[target]
    assert len(section) <= BUDGET, "\n".join(section)
    assert section[0].startswith(("### ❌ ERROR", "### ⚠️ WARNING"))
    assert "How to fix:" in section  # the leading finding keeps its fix


def test_a_value_is_not_repeated_three_times(testbed: Testbed) -> None:
    """The expiry date: in the verdict line and the explanation, not also in a table
    and in "Seen" (podman: the expired certificate is what fails)."""
    target = testbed.images.app.ref(testbed.endpoints["tls_expired"].hostport)
    argv = [sys.executable, "-m", "regdoctor", "check", "--format", "markdown"]
    argv += ["--runtime", "podman", "--ca-file", str(testbed.ca_file), target]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    section = "\n".join(sections(proc.stdout)[target])
    assert re.search(r"`tls.expired`: expired 20\d\d-\d\d-\d\d, \d+ days? ago", section)
    dates = re.findall(r"20\d\d-\d\d-\d\d", section)
    assert dates and max(dates.count(d) for d in dates) <= 2, section


def test_verbose_shows_everything(testbed: Testbed, default) -> None:
    scenario, text = default["tls-expired"]
    target = _target(testbed, scenario)
    verbose = tickets(testbed, "-v")["tls-expired"][1]
    short, full = sections(text)[target], sections(verbose)[target]
    assert len(full) > len(short)
    assert "| phase | status | time | detail |" in full
    assert "<details><summary>observations</summary>" in verbose
