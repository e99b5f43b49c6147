"""`regdoctor rules list|test`: the catalog test, for people writing their own rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RULE = """\
id: my-team-registry-down
category: server.error
severity: error
confidence: {live: high, text: low}
title: "Our registry {registry} answers {status}"
match:
  observations:
    all:
      - kind: http.response
        step: v2
        facts: {status: {ge: 500}}
explanation: The team registry {registry} is failing; page the on-call.
remediation:
  - text: Page the registry on-call.
    commands:
      kubernetes: "kubectl -n registry rollout restart deploy/registry"
"""

CASES = """\
cases:
  - name: 503 on /v2/
    expect: match
    observations:
      - {{kind: http.response, step: v2, phase: http, ok: false, facts: {{status: {status}}}}}
  - name: look-alike, 401 is fine
    expect: no_match
    observations:
      - {{kind: http.response, step: v2, phase: http, ok: true, facts: {{status: 401}}}}
"""


def rules(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regdoctor", "rules", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _write(directory: Path, status: int = 503) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "my-team-registry-down.yaml").write_text(RULE)
    (directory / "my-team-registry-down.cases.yaml").write_text(CASES.format(status=status))
    return directory


def test_bundled_catalog_passes():
    proc = rules("test")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert " 0 failed" in proc.stdout


def test_own_rules_pass_and_are_listed(tmp_path):
    directory = _write(tmp_path / "rules")
    proc = rules("test", "--no-bundled", "--dir", str(directory))
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip().endswith("1 rules: 2 passed, 0 failed")
    listed = json.loads(rules("list", "--format", "json", "--dir", str(directory)).stdout)
    assert "my-team-registry-down" in [r["id"] for r in listed]


def test_a_failing_case_exits_2_and_says_which(tmp_path):
    directory = _write(tmp_path / "rules", status=404)
    proc = rules("test", "--no-bundled", "--dir", str(directory))
    assert proc.returncode == 2
    assert "FAIL my-team-registry-down :: 503 on /v2/" in proc.stdout


def test_an_invalid_rule_or_a_missing_folder_exits_3(tmp_path):
    directory = _write(tmp_path / "rules")
    (directory / "broken.yaml").write_text("id: other-name\ncategory: nope\n")
    proc = rules("test", "--no-bundled", "--dir", str(directory))
    assert proc.returncode == 3
    assert "broken.yaml" in proc.stderr
    proc = rules("test", "--dir", str(tmp_path / "missing"))
    assert proc.returncode == 3 and "Traceback" not in proc.stderr


TEXT_RULE = """\
id: my-team-vpn
category: tcp.timeout
severity: error
priority: 90
confidence: {live: low, text: high}
title: "The build VPN is down"
match:
  text:
    any:
      - regex: 'corp-vpn-gateway: no route'
explanation: The registry is only reachable through the build VPN.
remediation:
  - text: Reconnect the VPN.
    commands:
      docker: "sudo systemctl restart corp-vpn"
"""


def test_check_judges_with_own_rules(testbed, tmp_path):
    from tests.scenarios.test_check_scenarios import regdoctor

    directory = _write(tmp_path / "rules")
    (directory / "my-team-registry-down.yaml").write_text(
        RULE.replace("{status: {ge: 500}}", "{status: 200}").replace(
            "severity: error", "severity: info"
        )
    )
    result = regdoctor("--rules-dir", str(directory), testbed.endpoints["plain"].hostport)
    assert "my-team-registry-down" in [f["rule"] for f in result.findings]
    missing = regdoctor("--rules-dir", str(tmp_path / "nope"), "x.test")
    assert missing.code == 3 and "--rules-dir" in missing.stderr


def test_explain_uses_own_text_rules(tmp_path):
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "my-team-vpn.yaml").write_text(TEXT_RULE)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "regdoctor",
            "explain",
            "--format",
            "json",
            "--rules-dir",
            str(directory),
            "dial tcp 198.51.100.23:443: corp-vpn-gateway: no route",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    matches = json.loads(proc.stdout)
    assert matches[0]["rule"] == "my-team-vpn", matches


def test_one_line_errors_are_escaped(tmp_path):
    """An error quoting a path (or a server) never writes control characters."""
    proc = rules("test", "--dir", str(tmp_path / "evil\x1b]52;c;aGk=\x07name"))
    assert proc.returncode == 3
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert "evil" in proc.stderr and proc.stderr.count("\n") == 1
