"""`regdoctor explain` against the corpus of real pasted errors in fixtures/pasted/.

Every entry's expected category names the *cause* the user must fix (see
fixtures/pasted/README.md). The leading (likely-cause) match must have that category for
at least 95% of the entries; the misses are printed as a confusion table. Look-alikes
(fixtures/pasted/lookalikes.yaml: texts that resemble one category but belong to another)
count like every entry, and are also held to the same bar on their own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from regdoctor.engine import load_catalog
from regdoctor.engine.explain import explain

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "pasted"
MIN_ACCURACY = 0.95
CATALOG = load_catalog()


@dataclass(frozen=True)
class Entry:
    id: str
    text: str
    category: str
    tool: str
    file: str

    @property
    def lookalike(self) -> bool:
        return self.file == "lookalikes.yaml"


def load_corpus() -> list[Entry]:
    entries: list[Entry] = []
    for path in sorted(CORPUS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in (data or {}).get("entries") or []:
            entries.append(
                Entry(
                    id=str(item["id"]),
                    text=str(item["text"]),
                    category=str(item["category"]),
                    tool=str(item.get("tool", "")),
                    file=path.name,
                )
            )
    return entries


ENTRIES = load_corpus()


def leading_category(text: str) -> tuple[str, str]:
    matches = explain(CATALOG, text)
    lead = next(m for m in matches if m.leading)
    return lead.category, lead.rule


def confusion_table(misses: list[tuple[Entry, str, str]]) -> str:
    pairs = Counter((entry.category, got) for entry, got, _rule in misses)
    lines = ["", "expected -> got (count):"]
    lines += [f"  {want:24} -> {got:24} {n}" for (want, got), n in pairs.most_common()]
    lines += ["", "misses:"]
    for entry, got, rule in misses:
        first = next((ln for ln in entry.text.splitlines() if ln.strip()), "")[:110]
        lines.append(
            f"  {entry.id} [{entry.file}, {entry.tool}] {entry.category} -> {got} ({rule})"
        )
        lines.append(f"      {first}")
    return "\n".join(lines)


def run(entries: list[Entry]) -> tuple[float, list[tuple[Entry, str, str]]]:
    misses = []
    for entry in entries:
        got, rule = leading_category(entry.text)
        if got != entry.category:
            misses.append((entry, got, rule))
    accuracy = 1 - len(misses) / len(entries) if entries else 0.0
    return accuracy, misses


def test_the_corpus_is_there_and_covers_the_categories():
    assert len(ENTRIES) >= 200, f"only {len(ENTRIES)} entries in {CORPUS}"
    ids = [e.id for e in ENTRIES]
    assert len(ids) == len(set(ids)), "duplicate ids"
    per_category = Counter(e.category for e in ENTRIES)
    thin = {c: n for c, n in per_category.items() if n < 4}
    assert not thin, thin


def test_top1_category_accuracy(capsys):
    accuracy, misses = run(ENTRIES)
    report = (
        f"corpus: {len(ENTRIES)} entries, top-1 category accuracy {accuracy:.1%} "
        f"({len(misses)} misses)" + (confusion_table(misses) if misses else "")
    )
    with capsys.disabled():
        print("\n" + report)
    assert accuracy >= MIN_ACCURACY, report


def test_lookalikes_do_not_get_the_wrong_rule():
    lookalikes = [e for e in ENTRIES if e.lookalike]
    if not lookalikes:
        pytest.skip("no lookalikes.yaml yet")
    accuracy, misses = run(lookalikes)
    assert accuracy >= MIN_ACCURACY, confusion_table(misses)


@pytest.mark.parametrize("category", sorted({e.category for e in ENTRIES}))
def test_every_category_is_mostly_recognised(category):
    """No category may be systematically missed even when the total is above 95%."""
    entries = [e for e in ENTRIES if e.category == category]
    accuracy, misses = run(entries)
    assert accuracy >= 0.75, confusion_table(misses)


def test_explain_names_a_registry_for_most_entries():
    """Extraction: most pastes name the registry they failed on; a check can be suggested."""
    recognised = named = 0
    for entry in ENTRIES:
        lead = next(m for m in explain(CATALOG, entry.text) if m.leading)
        if lead.recognised:
            recognised += 1
            named += bool(lead.fields.get("registry") or lead.fields.get("host"))
    assert named / recognised >= 0.6, (named, recognised)
