#!/usr/bin/env python3
"""Precision of ``explain``'s text rules, measured on tuned text only: the tuned corpus
(fixtures/pasted/*.yaml) and the mined client templates (fixtures/client-messages/,
filled as their test fills them). The held-out split is never read here.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_explain_precision.py            # the tables
    PYTHONPATH=. python benchmarks/bench_explain_precision.py --all      # every rule
    PYTHONPATH=. python benchmarks/bench_explain_precision.py --texts RULE  # where it
                                                                         # fires wrong
    PYTHONPATH=. python benchmarks/bench_explain_precision.py --rules DIR   # another
                                    # rules/ folder (an older checkout's) in place of this one

1. Per rule: on how many texts it *fires* (matches at least one line, whether or not it
   wins the line), on how many its category is the text's label (``right``), and of
   those how many it loses to another rule (``right, outranked``); on how many it fires
   with another category (``wrong``), split into ``wrong, outranked`` (a top-1 error
   avoided only by the luck of ranking: still a rule firing where it should not) and
   ``wrong, wins`` (a top-1 error).
2. The ranking: for texts where rules of more than one category fire, how often the
   label is the leading match's category (1st), the next candidate's (2nd), further
   down, or absent (no rule of the label's category fires). Candidates after the leader
   are ordered as ``explain`` orders matches: not a "trying next host" note, text
   priority, severity, earliest line, regexes matched.
3. Leave the corpus out: every rule's wording cut down to what its own ``expect: match``
   text cases (``rules/*/<id>.cases.yaml``) exercise (an ``any`` alternative no case
   matches is dropped; a rule with no such case is dropped), and the tuned corpus read
   again with the nearest-message guess switched off (its index holds the corpus). A
   text that is right with the full rules and wrong here is right only through wording
   no rule case shows: per rule, how many such texts it leads.
4. Ranking inside one line: on lines where rules of two or more categories match, how
   often the line's winner (text priority, then regexes matched) has the text's label,
   and how often it would with "the innermost link of the Go chain wins"
   (:func:`regdoctor.engine.chain.split_chain`; ties by text priority).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from regdoctor.engine import fallback, load_catalog  # noqa: E402
from regdoctor.engine.cases import cases_path_for  # noqa: E402
from regdoctor.engine.chain import split_chain  # noqa: E402
from regdoctor.engine.explain import explain  # noqa: E402
from regdoctor.engine.explain_index import (  # noqa: E402
    Index,
    TextRule,
    best_hit,
    index_of,
    match_rule,
)
from regdoctor.engine.explain_stream import normalise_line  # noqa: E402

CORPUS = ROOT / "fixtures" / "pasted"
TEMPLATES = ROOT / "fixtures" / "client-messages"


@dataclass(frozen=True)
class Text:
    id: str
    text: str
    label: str
    source: str  # "tuned" or "templates"


def tuned_texts() -> list[Text]:
    out = []
    for path in sorted(CORPUS.glob("*.yaml")):  # not heldout/: a sub-folder
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("entries") or []:
            out.append(Text(str(item["id"]), str(item["text"]), str(item["category"]), "tuned"))
    return out


def template_texts() -> list[Text]:
    spec = importlib.util.spec_from_file_location("client_coverage", TEMPLATES / "coverage.py")
    assert spec is not None and spec.loader is not None
    coverage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(coverage)
    out = []
    for doc in coverage.load():
        for n, row in enumerate(doc["templates"]):
            if row.get("category"):
                out.append(
                    Text(
                        f"{doc['client']}#{n}",
                        coverage.sample(row["template"]),
                        str(row["category"]),
                        "templates",
                    )
                )
    return out


@dataclass
class Reading:
    """What the rules make of one text."""

    lead_rule: str
    lead_category: str
    fired: dict[str, tuple[bool, int, int, int, int]] = field(default_factory=dict)
    ranking: list[str] = field(default_factory=list)  # candidate categories, best first


def read(index: Index, catalog_order: dict[str, int], text: Text) -> Reading:
    matches = explain(index, text.text)
    lead = next(m for m in matches if m.leading)
    reading = Reading(lead.rule, lead.category)
    best: dict[str, tuple[bool, int, int, int, int]] = {}
    for line_no, raw in enumerate(text.text.split("\n"), 1):
        line = normalise_line(raw)
        if not line.strip():
            continue
        given_up = "trying next host" in line and "level=info" in line
        found = index.found(line)
        for i in index.select(found):
            rule = index.rule(i)
            hit = match_rule(rule, line, found)
            if hit is None:
                continue
            key = (
                not given_up,
                rule.text_priority,
                -rule.severity.rank,
                -line_no,
                hit.strength,
                -catalog_order[rule.id],
            )
            if rule.id not in best or key > best[rule.id]:
                best[rule.id] = key
    if lead.recognised and lead.rule in catalog_order and lead.rule not in best:
        # it fired on a line joined from a wrapped paste or read through log framing
        best[lead.rule] = (True, lead.priority, 0, 0, 0, 0)  # type: ignore[assignment]
    reading.fired = best  # type: ignore[assignment]
    by_category: dict[str, tuple[bool, int, int, int, int]] = {}
    category_of = {index.rule(i).id: index.rule(i).category for i in range(len(catalog_order))}
    for rule_id, key in best.items():
        category = category_of[rule_id]
        if category not in by_category or key > by_category[category]:
            by_category[category] = key
    others = sorted(
        (c for c in by_category if c != lead.category), key=by_category.__getitem__, reverse=True
    )
    reading.ranking = [lead.category, *others] if lead.recognised else others
    return reading


@dataclass
class RuleCounts:
    category: str
    fires: int = 0
    right: int = 0
    right_outranked: int = 0
    wrong: int = 0
    wrong_outranked: int = 0
    wrong_wins: int = 0


def tally(
    index: Index, texts: Iterable[Text], readings: dict[str, Reading]
) -> dict[str, RuleCounts]:
    counts = {index.rule(i).id: RuleCounts(index.rule(i).category) for i in range(len(index.rank))}
    for text in texts:
        reading = readings[text.source + ":" + text.id]
        for rule_id in reading.fired:
            c = counts[rule_id]
            c.fires += 1
            wins = rule_id == reading.lead_rule
            if c.category == text.label:
                c.right += 1
                c.right_outranked += not wins
            else:
                c.wrong += 1
                c.wrong_outranked += not wins
                c.wrong_wins += wins
    return counts


def rule_table(counts: dict[str, RuleCounts], every: bool) -> str:
    rows = sorted(
        (item for item in counts.items() if item[1].fires and (every or item[1].wrong)),
        key=lambda item: (-item[1].wrong_wins, -item[1].wrong, item[0]),
    )
    lines = [
        f"  {'rule':44} {'category':22} {'fires':>5} {'right':>5} {'r,out':>5} "
        f"{'wrong':>5} {'w,out':>5} {'w,win':>5}"
    ]
    for rule_id, c in rows:
        lines.append(
            f"  {rule_id:44} {c.category:22} {c.fires:5} {c.right:5} {c.right_outranked:5} "
            f"{c.wrong:5} {c.wrong_outranked:5} {c.wrong_wins:5}"
        )
    fired = [c for c in counts.values() if c.fires]
    lines.append(
        f"  rules that fire: {len(fired)}; that ever fire wrong: "
        f"{sum(1 for c in fired if c.wrong)}; firings: {sum(c.fires for c in fired)}, "
        f"wrong: {sum(c.wrong for c in fired)} (outranked {sum(c.wrong_outranked for c in fired)}"
        f", winning {sum(c.wrong_wins for c in fired)})"
    )
    return "\n".join(lines)


def ranking_table(texts: list[Text], readings: dict[str, Reading]) -> str:
    places: Counter[str] = Counter()
    single: Counter[str] = Counter()
    for text in texts:
        reading = readings[text.source + ":" + text.id]
        if len(reading.ranking) > 1:
            if text.label not in reading.ranking:
                places["absent"] += 1
            else:
                place = reading.ranking.index(text.label)
                places[("1st", "2nd")[place] if place < 2 else "3rd or later"] += 1
        else:
            single["right" if reading.lead_category == text.label else "wrong"] += 1
    multi = sum(places.values())
    return (
        f"  texts with more than one candidate category: {multi}: label 1st {places['1st']}, "
        f"2nd {places['2nd']}, 3rd or later {places['3rd or later']}, absent "
        f"{places['absent']}\n"
        f"  texts with one candidate category or none: {sum(single.values())}: right "
        f"{single['right']}, wrong {single['wrong']}"
    )


def innermost_view(index: Index, texts: Iterable[Text]) -> str:
    """Lines where rules of several categories match: the label's share among the
    winners by priority, and among the rules matching the innermost link."""
    lines = by_priority = by_link = 0
    for text in texts:
        for line in map(normalise_line, text.text.split("\n")):
            found = index.found(line)
            hits = [h for i in index.select(found) if (h := match_rule(index.rule(i), line, found))]
            if len({h.rule.category for h in hits}) < 2:
                continue
            starts = [link.start for link in split_chain(line)]

            def link_of(at: int, starts: list[int] = starts) -> int:
                return sum(1 for start in starts if start <= at)

            winner = best_hit(index, line, False, found)
            inner = max(hits, key=lambda h: (link_of(h.error_at), h.rule.text_priority))
            lines += 1
            by_priority += winner is not None and winner.rule.category == text.label
            by_link += inner.rule.category == text.label
    return (
        f"  lines where rules of several categories match: {lines}; the label wins by "
        f"text priority on {by_priority}, would win by innermost link on {by_link}"
    )


# --------------------------------------------------------------------------- leave-out


def _case_lines(rule_path: Path | None) -> list[str]:
    if rule_path is None or not rule_path.exists():
        return []
    data = yaml.safe_load(rule_path.read_text(encoding="utf-8")) or {}
    lines = []
    for case in data.get("cases") or []:
        if case.get("expect") == "match" and isinstance(case.get("text"), str):
            lines += [normalise_line(x) for x in case["text"].split("\n") if x.strip()]
    return lines


def cases_only_index(catalog: object, index: Index) -> tuple[Index, dict[str, int]]:
    """Each rule's ``any`` alternatives cut to those its match cases exercise; the number
    of alternatives dropped per rule."""
    paths = {rule.id: cases_path_for(rule) for rule in catalog.rules}  # type: ignore[attr-defined]
    kept: list[TextRule] = []
    dropped: dict[str, int] = {}
    for i in range(len(index.rank)):
        rule = index.rule(i)
        lines = _case_lines(paths.get(rule.id))
        anys = tuple(p for p in rule.any if any(p.search(line) for line in lines))
        if not lines or (rule.any and not anys):
            anys = ()
            alive = False
        else:
            alive = True
        dropped[rule.id] = len(rule.any) - len(anys) if alive else -1
        if not alive:
            continue
        kept.append(
            TextRule(
                rule.id,
                rule.category,
                rule.severity,
                rule.confidence,
                rule.text_priority,
                rule.title,
                rule.text_title,
                rule.explanation,
                rule.text_explanation,
                rule.remediation,
                rule.references,
                rule.all,
                anys,
                rule.none,
                rule.extract,
            )
        )
    return Index._with_always(kept, index.words), dropped


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="list every rule that fires")
    parser.add_argument("--texts", metavar="RULE", help="the tuned texts RULE fires wrong on")
    parser.add_argument("--rules", metavar="DIR", type=Path, help="read these rules instead")
    args = parser.parse_args(argv)

    catalog = load_catalog([args.rules], bundled=False) if args.rules else load_catalog()
    index = index_of(catalog)
    order = {index.rule(i).id: i for i in range(len(index.rank))}
    tuned, templates = tuned_texts(), template_texts()
    readings = {t.source + ":" + t.id: read(index, order, t) for t in (*tuned, *templates)}

    if args.texts:
        for t in (*tuned, *templates):
            r = readings[t.source + ":" + t.id]
            if args.texts in r.fired and index.rule(order[args.texts]).category != t.label:
                print(f"{t.source}:{t.id} label={t.label} lead={r.lead_rule}")
                for line in map(normalise_line, t.text.split("\n")):
                    hit = match_rule(index.rule(order[args.texts]), line)
                    if hit is not None:
                        a, b = hit.span
                        print(f"    {line[max(0, a - 60) : a]}[[{line[a:b]}]]{line[b : b + 60]}")
        return 0

    for name, texts in (("tuned corpus", tuned), ("mined client templates", templates)):
        right = sum(readings[t.source + ":" + t.id].lead_category == t.label for t in texts)
        print(f"{name}: {len(texts)} texts, top-1 {right}/{len(texts)} = {right / len(texts):.1%}")
        print(rule_table(tally(index, texts, readings), args.all))
        print(ranking_table(texts, readings))
        print(innermost_view(index, texts))
        print()

    # 3. the corpus read with each rule's wording cut down to its own cases'
    cut, dropped = cases_only_index(catalog, index)
    fallback.guess = lambda head, remediation: None  # type: ignore[assignment]
    lost: Counter[str] = Counter()
    kept_right = 0
    full_right = 0
    for t in tuned:
        reading = readings[t.source + ":" + t.id]
        if reading.lead_category != t.label:
            continue
        full_right += 1
        lead = next(m for m in explain(cut, t.text) if m.leading)
        if lead.category == t.label:
            kept_right += 1
        else:
            lost[reading.lead_rule] += 1
    no_cases = sorted(r for r, n in dropped.items() if n < 0)
    cut_rules = sum(1 for n in dropped.values() if n > 0)
    print(
        f"leave the corpus out (rules cut to their own match cases' wording): "
        f"{kept_right}/{full_right} of the texts right with the full rules stay right "
        f"({kept_right / full_right:.1%}); {cut_rules} rules lose an `any` alternative, "
        f"{len(no_cases)} have no match text case"
    )
    for rule_id, n in lost.most_common():
        print(f"  {rule_id:44} leads {n} tuned text(s) only through wording no case shows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
