"""The held-out split (fixtures/pasted/heldout/): real pastes put aside before any rule was
written for them, never used to write or tune rules. This test only measures and guards
against regressions; the figure is reported in benchmarks/README.md.

Issue 15 asks for 95 % top-1 here. heldout.yaml (the first collection) scored 38.5 %
before the issue's rules and 88.5 % after (23 of 26). heldout-2/3/4.yaml (later
collections, each split off before any rule was written for it) scored 21/23, 5/6 and
2/2 before their rules and the same after: 51 of 57 (89.5 %) in all. With explain's
fallback for text no rule matches (regdoctor/engine/fallback.py: re-reading log lines,
then a guess from the nearest known message, built and tuned on the tuned corpus only)
it measured the same, once: 51 of 57, each file as before. heldout-5.yaml (a fifth
collection of 71 pastes, 22 held out, split before any rule) scored 19/22 before the
round's rules (70 of 79, 88.6 %, in all) and 20/22 after; with heldout.yaml at 24/26,
72 of 79 (91.1 %) in all. heldout-6.yaml (a sixth collection of 75 pastes, 23 held out,
split before any rule) scored 19/23 before the round's rules (91 of 102, 89.2 %, in all)
and 19/23 after; with heldout.yaml at 25/26, 92 of 102 (90.2 %) in all. heldout-7.yaml (a
seventh collection of 73 pastes, 22 held out, split before any rule) scored 21/22 before
the round's rules (114 of 124, 91.9 %, in all; the earlier files 93/102 by then) and the
same after, every file as before. A blind audit of the held-out labels (2026-12-07,
fixtures/pasted/README.md: a second reader labelled the 124 texts without their labels or
explain's answers and agreed on 117; an adjudicator, not told which label was the
original, decided the 7 others; 3 relabelled) moved the figure to 116 of 124 (93.5 %),
rules unchanged. heldout-8.yaml (an eighth collection of 68 pastes, 21 held out, split
before any rule, labelled under the written rule) scored 20/21 before the round's rules
(134 of 145, 92.4 %, in all, with the old labels) and 20/21 after, with heldout.yaml at
24/26 (was 25/26): 133 of 145 (91.7 %) with the old labels, 135 of 145 (93.1 %) with the
audited ones. heldout-9.yaml (a ninth collection of 65 pastes, 20 held out, split before
any rule) scored 20/20 before the round's rules (155 of 165, 93.9 %, in all) and 20/20
after, every file as before: 155 of 165 (93.9 %). heldout-10.yaml (a tenth collection of 101
pastes, 31 held out, split before any rule) scored 27/31 before the round's rules (182 of 196,
92.9 %, in all) and 27/31 after, with heldout.yaml at 26/26 (was 25/26): 183 of 196 (93.4 %).
Session 10's fixes then read 185 of 196 (94.4 %). heldout-11.yaml (an eleventh collection of
78 pastes, 24 held out, split before any rule) was measured once, with the whole split and
after the round's rules, totals only: 209 of 220 (95.0 %). The bar below is the measured
figure rounded down (with two texts of room), not the target, and must not be raised by
writing rules for these texts (that would spend the split)."""

from __future__ import annotations

from pathlib import Path

import yaml

from regdoctor.engine import load_catalog
from regdoctor.engine.explain import explain

HELDOUT = Path(__file__).resolve().parents[2] / "fixtures" / "pasted" / "heldout"
FLOOR = 0.94  # 209/220 = 0.950, measured (eleventh round; 185/196 = 0.944 before it)
TARGET = 0.95


def test_heldout_top1(capsys):
    catalog = load_catalog()
    entries = []
    for path in sorted(HELDOUT.glob("*.yaml")):
        entries += yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]
    assert len(entries) >= 220
    ok = sum(
        next(m for m in explain(catalog, e["text"]) if m.leading).category == e["category"]
        for e in entries
    )
    accuracy = ok / len(entries)
    with capsys.disabled():
        print(
            f"\nheld-out: {ok}/{len(entries)} top-1 = {accuracy:.1%} "
            f"(target {TARGET:.0%}{', met' if accuracy >= TARGET else ', NOT met'})"
        )
    assert accuracy >= FLOOR
