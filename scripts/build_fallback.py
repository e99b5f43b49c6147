#!/usr/bin/env python3
"""Build regdoctor/engine/fallback-index.json: the known messages ``explain`` compares a
text with when no rule matched (:mod:`regdoctor.engine.fallback`).

Usage (from the repository root, in the venv):

    python scripts/build_fallback.py            # cross-validate, print, write the index
    python scripts/build_fallback.py --check    # exit 1 when the index is out of date

Documents:

* every mined client message template mapped to a category
  (``fixtures/client-messages/*.yaml``), format verbs (``%s``, ``%q``, ``{}``) removed;
* every entry of the tuned corpus (``fixtures/pasted/*.yaml``). The held-out split
  (``fixtures/pasted/heldout/``) is never read here.

The abstention threshold is chosen by 10-fold cross-validation on the tuned corpus
only: each fold's pastes are classified against the templates and the other folds'
pastes (IDF computed without them), an answer counts when its similarity reaches the
threshold and its category is not ``other``. The threshold kept maximises the balanced
score: the mean of (a) the share of pastes with a real cause that get the right category
and (b) the share of pastes labelled ``other`` (look-alikes, texts that are no registry
error) that stay unanswered. That weighs a wrong answer on a look-alike as much as a
missed one on a real error: on the fallback path, which texts are which is not known.
Only thresholds that leave at least ``MIN_ABSTAIN_OTHER`` (90 %) of the ``other`` pastes
unanswered are eligible: a guess must stay rare where the text is no registry error, and
with 29 such pastes one text more or less would otherwise move the threshold.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from regdoctor.engine.fallback import (  # noqa: E402
    ERRORISH,
    INDEX_PATH,
    Index,
    compared_lines,
    tokens,
)

PASTED = ROOT / "fixtures" / "pasted"
TEMPLATES = ROOT / "fixtures" / "client-messages"
FOLDS = 10
SEED = 15
THRESHOLDS = [t / 100 for t in range(20, 91, 5)]
#: The least share of ``other`` pastes a threshold must leave unanswered to be chosen.
MIN_ABSTAIN_OTHER = 0.9
_VERB = re.compile(r"%[-+# 0-9.]*[a-zA-Z%]|\{[^{}]*\}")
QUOTE_CHARS = 200


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def input_files() -> list[Path]:
    """What the index is built from (the held-out folder is not among them)."""
    return (
        sorted(PASTED.glob("*.yaml"))
        + sorted(TEMPLATES.glob("*.yaml"))
        + [
            ROOT / "regdoctor" / "engine" / "fallback.py",
            Path(__file__).resolve(),
        ]
    )


def inputs_digest() -> str:
    digest = hashlib.sha256()
    for path in input_files():
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _span(versions: list[str]) -> str:
    """The pinned versions that print a template: one, or the oldest to the newest."""
    return versions[0] if len(versions) == 1 else f"{versions[0]} to {versions[-1]}"


def template_docs() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(TEMPLATES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in data["templates"]:
            if not item.get("category"):
                continue
            text = _VERB.sub(" ", str(item["template"]))
            docs.append(
                {
                    "kind": "template",
                    "category": item["category"],
                    "source": f"{data['repository']} {item['file']} ({_span(item['versions'])})",
                    "quote": _clip(str(item["template"])),
                    "terms": dict(sorted(tokens([text]).items())),
                }
            )
    return docs


def paste_docs() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(PASTED.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in data["entries"]:
            lines = str(item["text"]).splitlines()
            shown = compared_lines(lines)
            quote = next((ln for ln in shown if ERRORISH.search(ln)), shown[0] if shown else "")
            docs.append(
                {
                    "kind": "paste",
                    "category": item["category"],
                    "source": f"a {item['tool']} paste in {item['source']}",
                    "quote": _clip(quote),
                    "terms": dict(sorted(tokens(lines).items())),
                }
            )
    return docs


def cross_validate(
    templates: list[dict[str, Any]], pastes: list[dict[str, Any]]
) -> list[tuple[str, str, float]]:
    """(true category, nearest category, similarity) for every paste, each classified by
    an index built without its fold."""
    order = list(range(len(pastes)))
    random.Random(SEED).shuffle(order)
    out = []
    for k in range(FOLDS):
        held = set(order[k::FOLDS])
        train = templates + [d for i, d in enumerate(pastes) if i not in held]
        index = Index({"threshold": 0.0, "docs": train})
        for i in sorted(held):
            near = index.nearest(pastes[i]["terms"])
            if near is None:
                out.append((pastes[i]["category"], "other", 0.0))
            else:
                out.append((pastes[i]["category"], near.category, near.similarity))
    return out


def score(results: list[tuple[str, str, float]], threshold: float) -> dict[str, float]:
    real = [r for r in results if r[0] != "other"]
    other = [r for r in results if r[0] == "other"]
    answered = [r for r in results if r[2] >= threshold and r[1] != "other"]
    right = sum(1 for want, got, sim in real if sim >= threshold and got == want)
    quiet = sum(1 for _want, got, sim in other if not (sim >= threshold and got != "other"))
    correct = right + quiet
    return {
        "threshold": threshold,
        "balanced": (right / len(real) + quiet / len(other)) / 2,
        "accuracy": correct / len(results),
        "recall": right / len(real),
        "abstain_other": quiet / len(other),
        "precision": (
            sum(1 for want, got, _s in answered if want == got) / len(answered) if answered else 0.0
        ),
        "answered": len(answered),
        "pastes": len(results),
        "other": len(other),
    }


def build() -> dict[str, Any]:
    templates, pastes = template_docs(), paste_docs()
    results = cross_validate(templates, pastes)
    table = [score(results, t) for t in THRESHOLDS]
    eligible = [row for row in table if row["abstain_other"] >= MIN_ABSTAIN_OTHER]
    best = max(eligible, key=lambda row: (row["balanced"], row["threshold"]))
    return {
        "about": "Built by scripts/build_fallback.py; read by regdoctor/engine/fallback.py.",
        "inputs_sha256": inputs_digest(),
        "threshold": best["threshold"],
        "cross_validation": {
            "folds": FOLDS,
            "seed": SEED,
            "chosen": best,
            "table": table,
        },
        "counts": dict(Counter(d["kind"] for d in templates + pastes)),
        "docs": templates + pastes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only test that it is current")
    args = parser.parse_args()
    if args.check:
        current = json.loads(INDEX_PATH.read_text(encoding="utf-8"))
        if current.get("inputs_sha256") != inputs_digest():
            print(f"{INDEX_PATH.name} is out of date: run scripts/build_fallback.py")
            return 1
        return 0
    data = build()
    cv = data["cross_validation"]
    print(f"documents: {data['counts']}; {FOLDS}-fold cross-validation on the tuned corpus:")
    print("threshold balanced accuracy recall abstain(other) precision answered")
    for row in cv["table"]:
        mark = "  <- chosen" if row is cv["chosen"] or row == cv["chosen"] else ""
        print(
            f"{row['threshold']:9.2f} {row['balanced']:8.3f} {row['accuracy']:8.3f} "
            f"{row['recall']:6.3f} {row['abstain_other']:15.3f} {row['precision']:9.3f} "
            f"{row['answered']:4d}/{row['pastes']}{mark}"
        )
    INDEX_PATH.write_text(
        json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {INDEX_PATH.relative_to(ROOT)} ({INDEX_PATH.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
