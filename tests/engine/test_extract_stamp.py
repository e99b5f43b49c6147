"""A leading RFC 3339 UTC time ("2024-05-01T10:00:01.123Z ") changes nothing
regdoctor.engine.extract finds in a line, so extract() reads the line without it (and a
log's retries of one error are read once, whatever their times)."""

from __future__ import annotations

from pathlib import Path

import yaml

from regdoctor.engine.extract import _extract, extract

ROOT = Path(__file__).resolve().parents[2]
STAMPS = (
    "2024-05-01T10:00:01Z ",
    "2024-05-01T10:00:01.123Z ",
    "2026-12-06T23:59:59.123456789Z\t",
    "2024-05-01T10:00:01.1234567Z   ",
)


def corpus_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted((ROOT / "fixtures" / "pasted").rglob("*.yaml")):
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("entries") or []:
            lines += [line for line in str(entry["text"]).splitlines() if line.strip()]
    return lines


def test_a_leading_utc_time_changes_nothing_extract_finds():
    lines = [*corpus_lines(), "", "404 Not Found", "500: Internal Server Error", "Z 401 x"]
    assert len(lines) > 300
    for line in lines:
        for stamp in STAMPS:
            cut = len(stamp)
            for before in {0, len(line) // 3, len(line) // 2, len(line)}:
                expected = _extract(line, before)
                assert _extract(stamp + line, before + cut) == expected, (stamp, line, before)
                assert extract(stamp + line, before + cut) == expected


def test_other_prefixes_are_read_as_they_are():
    """Without the Z, three digits before the blank would be read as a status with the
    next word: such a line is not cut (extract reads it whole, as before)."""
    line = "2024-05-01 10:00:01.123 Unauthorized"
    assert extract(line) == _extract(line, len(line))
    # and a match that starts inside the time (a rule's error_at) keeps the whole line
    stamped = "2024-05-01T10:00:01Z pull access denied for team/app"
    assert extract(stamped, 3) == _extract(stamped, 3)
