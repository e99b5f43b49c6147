"""`--format junit`: the testsuites/testsuite/testcase/failure shape CI systems read.

The shape checked here is the common subset of the JUnit XSDs that Jenkins, GitLab,
GitHub test reporters and Azure DevOps accept: a ``testsuites`` root; ``testsuite``
with ``name`` and the ``tests/failures/errors/skipped`` counts (which must add up);
``testcase`` with ``name`` and ``classname``; at most one of ``failure``/``error``/
``skipped`` in a testcase; ``time`` a non-negative decimal.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from regdoctor.render.junit import junit_xml
from tests.harness.testbed import Testbed
from tests.helpers.reports import cli

CHILDREN = {
    "testsuites": {"testsuite"},
    "testsuite": {"properties", "testcase", "system-out", "system-err"},
    "properties": {"property"},
    "property": set(),
    "testcase": {"failure", "error", "skipped", "system-out", "system-err"},
    "failure": set(),
    "error": set(),
    "skipped": set(),
    "system-out": set(),
    "system-err": set(),
}
REQUIRED = {
    "testsuite": {"name", "tests"},
    "testcase": {"name", "classname"},
    "property": {"name", "value"},
}
DECIMAL = re.compile(r"^\d+(\.\d+)?$")


def validate(document: str) -> ET.Element:
    root = ET.fromstring(document)  # noqa: S314 - our own output
    assert root.tag == "testsuites"

    def walk(element: ET.Element) -> None:
        assert element.tag in CHILDREN, element.tag
        for child in element:
            assert child.tag in CHILDREN[element.tag], (element.tag, child.tag)
            walk(child)
        missing = REQUIRED.get(element.tag, set()) - set(element.attrib)
        assert not missing, (element.tag, missing)
        if "time" in element.attrib:
            assert DECIMAL.match(element.attrib["time"]), element.attrib["time"]

    walk(root)
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        outcome = [
            [c.tag for c in case if c.tag in ("failure", "error", "skipped")] for case in cases
        ]
        assert all(len(o) <= 1 for o in outcome)
        counted = {
            "tests": len(cases),
            "failures": sum(o == ["failure"] for o in outcome),
            "errors": sum(o == ["error"] for o in outcome),
            "skipped": sum(o == ["skipped"] for o in outcome),
        }
        for key, value in counted.items():
            assert int(suite.attrib[key]) == value, (suite.attrib["name"], key)
            total[key] += value
    for key, value in total.items():
        assert int(root.attrib[key]) == value, key
    return root


def test_junit_shape_for_a_healthy_and_a_failing_target(healthy_and_failing):
    report, healthy, failing = healthy_and_failing
    root = validate(junit_xml(report))
    suites = {s.attrib["name"]: s for s in root.findall("testsuite")}
    assert set(suites) == {healthy, failing}

    ok = suites[healthy]
    assert ok.attrib["failures"] == "0" and ok.attrib["errors"] == "0"
    phase_cases = [c for c in ok.findall("testcase") if c.attrib["classname"] == "regdoctor.phase"]
    names = [c.attrib["name"].rsplit(": ", 1)[1] for c in phase_cases]
    assert names[:6] == ["dns", "tcp", "tls", "http", "auth", "image"]
    assert set(names[6:]) <= {"harbor"}  # not a Harbor registry: n/a, when registered

    bad = suites[failing]
    tcp = next(c for c in bad.findall("testcase") if c.attrib["name"].endswith(": tcp"))
    failure = tcp.find("failure")
    assert failure is not None
    assert failure.attrib["type"] == "tcp.refused"
    assert "refused" in failure.attrib["message"].lower()
    assert failure.text and "fix 1." in failure.text  # the remediation travels with it
    http = next(c for c in bad.findall("testcase") if c.attrib["name"].endswith(": http"))
    assert http.find("skipped") is not None
    rules = [c for c in bad.findall("testcase") if c.attrib["classname"] == "regdoctor.rule"]
    assert rules and rules[0].find("failure") is not None
    assert rules[0].find("failure").attrib["type"] == "tcp.refused"


def test_untrusted_text_cannot_break_the_xml():
    from tests.render.test_prometheus import _synthetic

    report = _synthetic(url="x")
    hostile = "\x1b[2J]]></failure><evil/>\x00\ufffe & <b>"
    finding = report.targets[0].findings[0]
    import dataclasses

    finding = dataclasses.replace(finding, title=hostile, explanation=hostile)
    target = dataclasses.replace(report.targets[0], findings=(finding,))
    report = dataclasses.replace(report, targets=(target,))
    document = junit_xml(report)
    root = validate(document)
    assert root.find(".//evil") is None
    assert "\x1b" not in document and "\x00" not in document


def test_cli_format_junit(testbed: Testbed):
    failing = testbed.endpoints["closed"].hostport
    proc = cli("check", "--format", "junit", "--timeout", "3", failing)
    assert proc.returncode == 2, proc.stderr
    root = validate(proc.stdout)
    assert root.find("testsuite").attrib["name"] == failing


def test_commands_in_the_failure_text_paste_as_written():
    """A heredoc in a command reaches the CI log flush left, below its runtime label
    (issue #14), and checks come apart from the fix."""
    import dataclasses

    from regdoctor.model import RemediationStep
    from tests.render.conftest import make_report, tls_expired_target

    heredoc = "sudo tee /etc/x/hosts.toml <<'EOF'\nserver = \"https://r.test\"\nEOF"
    step = RemediationStep(
        text="Fix it.",
        checks={"docker": "getent ahosts r.test", "podman": "getent ahosts r.test"},
        commands={"containerd": heredoc},
    )
    target = tls_expired_target()
    finding = dataclasses.replace(target.findings[0], remediation=(step,))
    report = make_report(dataclasses.replace(target, findings=(finding,)))
    root = ET.fromstring(junit_xml(report))  # noqa: S314 - our own output
    failure = next(e for e in root.iter("failure"))
    text = failure.text or ""
    assert "    docker, podman (check):\ngetent ahosts r.test\n" in text
    assert f"    containerd:\n{heredoc}" in text
