#!/usr/bin/env python3
"""What ``explain``'s fallback (regdoctor/engine/fallback.py) adds, measured on the tuned
corpus only (fixtures/pasted/*.yaml; the held-out split is not read here).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_explain_fallback.py

1. The nearest-message guess: the 10-fold cross-validation table that
   ``scripts/build_fallback.py`` recorded in the shipped index (threshold, balanced
   score, accuracy, recall, look-alikes left unanswered, precision of the answers).
2. The re-reading of log lines: every line of each tuned paste that ``explain`` gets
   right (real causes, not ``other``) is wrapped as a JSON log line (Go's encoder:
   ``\\u003c`` for ``<``), a logfmt line (``msg="..."``), a logfmt line holding a quoted
   error, and a klog structured line; how many the rules alone still get right, and how
   many with the re-reading. The nearest-message guess is switched off here: the pastes
   are in its index, so it would find them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from regdoctor.engine import fallback, load_catalog  # noqa: E402
from regdoctor.engine.explain import explain  # noqa: E402


def _go_json(text: str) -> str:
    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


WRAPS = {
    "JSON log line": lambda line: (
        '{"level":"error","msg":"PullImage failed","error":'
        + _go_json(line)
        + ',"time":"2026-12-06T12:00:00Z"}'
    ),
    "logfmt msg": lambda line: 'time="2026-12-06T12:00:00Z" level=error msg=' + json.dumps(line),
    "logfmt error, quoted twice": lambda line: (
        'time="2026-12-06T12:00:00Z" level=error msg="PullImage failed" error='
        + json.dumps(json.dumps(line)[1:-1])
    ),
    "klog structured": lambda line: (
        'E1206 12:00:00.123456    1234 remote_image.go:180] "PullImage failed" err='
        + json.dumps(line)
    ),
}


def main() -> int:
    data = json.loads(fallback.INDEX_PATH.read_text(encoding="utf-8"))
    cv = data["cross_validation"]
    print(f"1. nearest message: {data['counts']}, {cv['folds']}-fold cross-validation (tuned)")
    print("threshold balanced accuracy recall abstain(other) precision answered")
    for row in cv["table"]:
        mark = "  <- chosen" if row == cv["chosen"] else ""
        print(
            f"{row['threshold']:9.2f} {row['balanced']:8.3f} {row['accuracy']:8.3f} "
            f"{row['recall']:6.3f} {row['abstain_other']:15.3f} {row['precision']:9.3f} "
            f"{row['answered']:4d}/{row['pastes']}{mark}"
        )

    catalog = load_catalog()
    fallback.guess = lambda head, remediation: None  # type: ignore[assignment]
    unwrapped = fallback.unwrapped

    def category(text: str) -> str:
        return next(m for m in explain(catalog, text) if m.leading).category

    entries = []
    for path in sorted((ROOT / "fixtures" / "pasted").glob("*.yaml")):
        entries += yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]
    base = [e for e in entries if e["category"] != "other" and category(e["text"]) == e["category"]]
    print(f"\n2. re-reading log lines: {len(base)} tuned pastes explained right as pasted")
    for name, wrap in WRAPS.items():
        texts = [
            "\n".join(wrap(ln) if ln.strip() else ln for ln in e["text"].splitlines()) for e in base
        ]
        fallback.unwrapped = lambda catalog, result: None  # type: ignore[assignment]
        alone = sum(category(t) == e["category"] for t, e in zip(texts, base, strict=True))
        fallback.unwrapped = unwrapped
        reread = sum(category(t) == e["category"] for t, e in zip(texts, base, strict=True))
        print(f"   {name:28} rules alone {alone}/{len(base)}, with the re-reading {reread}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
