"""`regdoctor explain` checks the options of `--check` even without `--check`, and reads
the rules of `--rules-dir` through its own compiled cache."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml


def explain(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "XDG_CACHE_HOME": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "regdoctor", "explain", "--format", "json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_bad_check_options_are_usage_errors(tmp_path):
    cases = [
        (["--rules-dir", str(tmp_path / "missing")], "--rules-dir"),
        (["--ca-file", str(tmp_path / "missing.pem")], "--ca-file"),
        (["--ca-file", str(tmp_path)], "is a directory"),
        (["--dns-server", "not-an-address"], "--dns-server"),
    ]
    for args, words in cases:
        proc = explain(*args, "manifest unknown", cache=tmp_path / "cache")
        assert proc.returncode == 3, (args, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("regdoctor explain: error: ") and words in proc.stderr
        assert proc.stdout == ""


def write_rule(directory: Path, word: str) -> Path:
    rule = {
        "id": "team-rule",
        "category": "other",
        "severity": "warning",
        "confidence": {"live": "high", "text": "high"},
        "title": f"our {word}",
        "match": {"text": {"any": [f"zork {word}"]}},
        "explanation": "e",
        "remediation": [{"text": "r"}],
    }
    path = directory / "team-rule.yaml"
    path.write_text(yaml.safe_dump(rule), encoding="utf-8")
    return path


def test_rules_dir_rules_are_cached_and_an_edit_is_picked_up(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    cache = tmp_path / "cache"
    write_rule(rules, "alpha")
    for _run in range(2):  # written, then read from the cache
        proc = explain("--rules-dir", str(rules), "zork alpha failed", cache=cache)
        assert proc.returncode == 1, proc.stderr
        assert '"title": "our alpha"' in proc.stdout
    names = sorted(p.name for p in (cache / "regdoctor").iterdir())
    assert len([n for n in names if n.startswith("explain-index-v1-")]) == 1, names

    path = write_rule(rules, "beta")
    later = time.time_ns() + 10**9
    os.utime(path, ns=(later, later))
    proc = explain("--rules-dir", str(rules), "zork beta failed", cache=cache)
    assert proc.returncode == 1, proc.stderr
    assert '"title": "our beta"' in proc.stdout
    # the bundled rules alone use their own file
    proc = explain("zork beta failed", cache=cache)
    assert proc.returncode == 0
