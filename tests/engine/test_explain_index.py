"""The literal pre-filter of ``explain`` (regdoctor.engine.explain_index) never changes an
answer: the rule it picks for a line is the rule that running every regex of every rule
would pick, whatever the case, the characters a case-insensitive regex folds, colour
codes or the size of the log."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from regdoctor.engine import load_catalog
from regdoctor.engine.explain import SCAN_THRESHOLD, explain
from regdoctor.engine.explain_index import Index, best_hit, build_index, match_rule

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog()
INDEX = build_index(CATALOG)


def corpus_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted((ROOT / "fixtures" / "pasted").rglob("*.yaml")):
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("entries") or []:
            lines += [line for line in str(entry["text"]).splitlines() if line.strip()]
    return lines


def brute_force(index: Index, line: str):
    """Every regex of every rule, no pre-filter: the answer the pre-filter must keep."""
    best = None
    for i, rule in enumerate(index.rules):
        hit = match_rule(rule, line)
        if hit is None:
            continue
        key = (rule.text_priority, hit.strength, -i)
        if best is None or key > best[0]:
            best = (key, hit)
    return best[1] if best else None


def answer(hit):
    return None if hit is None else (hit.rule.id, hit.span, hit.groups, hit.error_at)


def variants(line: str, rng: random.Random) -> list[str]:
    return [
        line,
        line.upper(),
        line.swapcase(),
        # characters Python's case-insensitive regexes take for ASCII letters
        line.replace("k", "\u212a").replace("s", "\u017f"),
        line.replace("i", "\u0131", 2).replace("I", "\u0130", 2),
        "".join(c.upper() if rng.random() < 0.3 else c for c in line),
    ]


def test_the_prefilter_picks_what_every_regex_would_pick():
    rng = random.Random(15)
    lines = corpus_lines()
    assert len(lines) > 300
    checked = 0
    for line in lines:
        for text in variants(line, rng):
            expected = answer(brute_force(INDEX, text))
            for long_log in (False, True):
                assert answer(best_hit(INDEX, text, long_log)) == expected, (text, long_log)
            checked += expected is not None
    assert checked > len(lines)  # most corpus lines match some rule, in several variants


def test_a_block_search_sees_the_literals_of_each_line():
    lines = corpus_lines()[:400] + ["noise without any word of a rule"] * 50
    block = "\n".join(lines)
    seen = dict(INDEX.scan_block(block))
    for i, line in enumerate(lines):
        found = INDEX.found(line, long_log=True)
        if found:
            assert seen.get(i) in (found, None), line
        else:
            assert i not in seen or seen[i] is None


def test_a_long_log_finds_errors_written_with_folded_letters(tmp_path):
    """A line only a case-insensitive regex matches (a Kelvin sign for "k", a long s for
    "s") is found in a long log as in a short paste."""
    rule = {
        "id": "folded",
        "category": "other",
        "severity": "error",
        "confidence": {"live": "high", "text": "high"},
        "title": "t",
        "match": {"text": {"any": [{"regex": "token has expired", "flags": ["i"]}]}},
        "explanation": "e",
        "remediation": [{"text": "r"}],
    }
    (tmp_path / "folded.yaml").write_text(yaml.safe_dump(rule), encoding="utf-8")
    catalog = load_catalog([tmp_path], bundled=False)
    line = "error: to\u212aen ha\u017f expired"
    assert [m.rule for m in explain(catalog, line)] == ["folded"]
    log = "\n".join(["noise"] * (SCAN_THRESHOLD + 10) + [line])
    assert [m.lines for m in explain(catalog, log)] == [(SCAN_THRESHOLD + 11,)]


def test_a_long_log_reads_a_line_as_normalised():
    """Colour codes are removed before matching, in a long log as in a short paste: a
    word they split is still found (the raw line holds no literal of any rule)."""
    line = "manifest un\x1b[1mknown"
    assert not INDEX.found(line, long_log=True)
    assert [m.rule for m in explain(CATALOG, line)] == ["image-manifest-unknown"]
    log = "\n".join(["noise"] * (SCAN_THRESHOLD + 10) + [line, "noise"])
    assert [(m.rule, m.lines) for m in explain(CATALOG, log)] == [
        ("image-manifest-unknown", (SCAN_THRESHOLD + 11,))
    ]


def test_the_index_as_plain_data_explains_the_same():
    """The rule cache keeps the index as plain data (marshal): restored, it answers the
    same as the one built from the catalog."""
    import marshal

    restored = Index.from_data(marshal.loads(marshal.dumps(INDEX.to_data())))  # noqa: S302
    assert [r.id for r in restored.rules] == [r.id for r in INDEX.rules]
    text = "\n".join(corpus_lines())
    assert [m.to_dict() for m in explain(restored, text)] == [
        m.to_dict() for m in explain(CATALOG, text)
    ]
    with pytest.raises(ValueError):
        Index.from_data((0, (), ()))
