"""What ``explain`` does when no rule matches (regdoctor/engine/fallback.py): re-read the
log line's message, then name the nearest known message, or abstain.

Written from the tuned corpus and the mined client templates only; the held-out split is
not read here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from regdoctor.engine import load_catalog
from regdoctor.engine.explain import UNRECOGNISED, explain
from regdoctor.engine.fallback import LIKELY, load_index, tokens, unwrap_line
from regdoctor.render.explain_markdown import render_explain_markdown
from regdoctor.schemas import load_schema

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog()


def lead(text: str):
    return next(m for m in explain(CATALOG, text) if m.leading)


# ------------------------------------------------------------------ unwrapping


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # Go's JSON encoder escapes <, > and &; the message and error fields are joined.
        (
            '{"level":"error","msg":"pull failed","error":"a \\u003cb\\u003e \\u0026 '
            '\\"c\\"","time":"2026-12-06T12:00:00Z"}',
            'pull failed: a <b> & "c"',
        ),
        # logfmt, with a quoted value inside the quoted message (Go's %q of a %q).
        (
            'time="2026-12-06T12:00:00Z" level=error msg="pull failed" '
            'error="failed to resolve \\\\\\"x\\\\\\": not found\\n"',
            'pull failed: failed to resolve "x": not found ',
        ),
        (
            'E1206 12:00:00.123456    1234 remote_image.go:180] "PullImage failed" err="x"',
            "PullImage failed: x",
        ),
        ("Dec 06 12:00:00 node1 kubelet[812]: Error: boom", "Error: boom"),
        (
            "Error response from daemon: manifest unknown",
            "Error response from daemon: manifest unknown",
        ),
    ],
)
def test_unwrap_line_takes_the_message_out(line, message):
    assert unwrap_line(line) == message


def _go_json(text: str) -> str:
    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _logfmt(text: str) -> str:
    return 'time="2026-12-06T12:00:00Z" level=error msg=' + json.dumps(text)


def _json_log(text: str) -> str:
    return '{"level":"error","msg":"pull failed","error":' + _go_json(text) + "}"


@pytest.mark.parametrize("wrap", [_json_log, _logfmt], ids=["json", "logfmt"])
@pytest.mark.parametrize(
    ("inner", "category"),
    [
        # Lines of tuned pastes whose rules look at the end of the line (": Forbidden"
        # is a proxy's CONNECT answer only when nothing follows) or at a '<', which
        # Go's JSON encoder writes as \u003c.
        (
            "Error response from daemon: Get https://registry-1.docker.io/v2/: Forbidden",
            "proxy.error",
        ),
        (
            'Error response from daemon: Head "https://ghcr.io/v2/o/app/manifests/latest": denied',
            "auth.denied",
        ),
        (
            "Error response from daemon: error unmarshalling content: invalid character '<' "
            "looking for beginning of value",
            "proxy.error",
        ),
    ],
)
def test_a_logged_error_is_read_by_the_rules(wrap, inner, category):
    """Wrapped in a log line the rules miss these; the re-read finds them, with the line
    number of the log line."""
    text = "starting\n" + wrap(inner) + "\n"
    match = lead(text)
    assert match.rule not in (UNRECOGNISED, LIKELY), match
    assert match.category == category
    assert match.lines == (2,)


# ------------------------------------------------------------------ the nearest message


def test_a_truncated_message_gets_a_guess_with_the_nearest_message():
    """A paste cut at the terminal's edge loses the words a rule needs; the nearest
    mapped template (containers/image's short-name resolution) still names the cause."""
    text = "resolution enforced but cannot prompt without a TTY"
    match = lead(text)
    assert match.rule == LIKELY
    assert match.category == "config.invalid"
    assert match.confidence == "low"
    assert str(match.severity) == "warning"
    assert match.title.startswith("Likely config.invalid")
    data = match.to_dict()
    fallback = data["fallback"]
    assert fallback["kind"] == "template"
    assert "cannot prompt without a TTY" in fallback["nearest"]
    assert "containers/image" in fallback["source"]
    assert fallback["similarity"] >= load_index().threshold
    assert fallback["nearest"] in match.explanation
    jsonschema.validate([data], load_schema("explain-v1"))
    assert "a guess: no rule matched" in render_explain_markdown([match], lines_read=1)


def test_text_that_is_no_registry_error_stays_unanswered():
    match = lead("Step 3/7 : RUN make all\nBuild finished in 12 seconds, 3 warnings")
    assert match.rule == UNRECOGNISED
    assert match.category == "other"
    assert "fallback" not in match.to_dict()


def _tuned_entries():
    for path in sorted((ROOT / "fixtures" / "pasted").glob("*.yaml")):
        yield from yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]


def test_lookalikes_stay_unmatched_without_their_own_text():
    """Cross-validation in small: every tuned paste labelled ``other`` that no rule
    recognises is compared with the index *without itself*; at least 90 % of them must
    get no guess (the 10-fold figure at the chosen threshold is 22 of 23 ``other``
    pastes unanswered; the one answered is containerd's "directory not empty" on
    extraction, which the nearest paste files under image.blob_integrity)."""
    index = load_index()
    pastes = [i for i, d in enumerate(index.docs) if d["kind"] == "paste"]
    entries = list(_tuned_entries())
    assert len(entries) == len(pastes)
    checked, answered = 0, []
    for entry, doc in zip(entries, pastes, strict=True):
        if entry["category"] != "other" or lead(entry["text"]).rule != UNRECOGNISED:
            continue
        checked += 1
        near = index.nearest(tokens(entry["text"].splitlines()), skip=doc)
        if near is not None and near.similarity >= index.threshold and near.category != "other":
            answered.append((entry["id"], near.category, round(near.similarity, 2)))
    assert checked >= 10
    assert len(answered) <= checked // 10, answered


def test_the_threshold_was_chosen_by_cross_validation_on_tuned_text():
    data = json.loads((ROOT / "regdoctor" / "engine" / "fallback-index.json").read_text())
    cv = data["cross_validation"]
    assert data["threshold"] == cv["chosen"]["threshold"]
    # the best balanced score among thresholds that leave 90 % of `other` unanswered
    assert cv["chosen"]["abstain_other"] >= 0.9
    assert cv["chosen"]["balanced"] == max(
        row["balanced"] for row in cv["table"] if row["abstain_other"] >= 0.9
    )
    # every mapped template of every client version (one per distinct text), every paste
    mapped = sum(
        1
        for path in (ROOT / "fixtures" / "client-messages").glob("*.yaml")
        for row in yaml.safe_load(path.read_text(encoding="utf-8"))["templates"]
        if row.get("category")
    )
    assert mapped >= 200
    assert data["counts"] == {"template": mapped, "paste": 854}


def _term_key(terms: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(terms.items()))


def _entries(folder: Path) -> list[dict[str, object]]:
    return [
        entry
        for path in sorted(folder.glob("*.yaml"))
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]
    ]


def test_the_index_holds_the_tuned_pastes_and_no_held_out_one():
    """The pastes in the index are exactly the tuned corpus's (as term bags, the index
    keeps no id), and no held-out text's term bag is among them unless a tuned paste has
    the same one. Nothing of a held-out entry is printed: only counts."""
    from collections import Counter

    data = json.loads((ROOT / "regdoctor" / "engine" / "fallback-index.json").read_text())
    indexed = Counter(_term_key(d["terms"]) for d in data["docs"] if d["kind"] == "paste")
    tuned_entries = _entries(ROOT / "fixtures" / "pasted")
    tuned = Counter(_term_key(dict(tokens(str(e["text"]).splitlines()))) for e in tuned_entries)
    assert indexed == tuned, "the index's pastes are not the tuned corpus (rebuild it)"
    held_out = [
        _term_key(dict(tokens(str(e["text"]).splitlines())))
        for e in _entries(ROOT / "fixtures" / "pasted" / "heldout")
    ]
    assert held_out
    leaked = sum(1 for key in held_out if key in indexed and key not in tuned)
    assert leaked == 0, f"{leaked} held-out text(s) in the fallback index"


def test_the_index_is_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_fallback.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


PROGRAM = """
import sys
from regdoctor.engine.cache import load_catalog_cached
from regdoctor.engine.explain import explain
explain(load_catalog_cached(text_only=True), sys.argv[1])
print("regdoctor.engine.fallback" in sys.modules)
"""


@pytest.mark.parametrize(
    ("text", "loaded"),
    [
        ('Get "https://r.test/v2/": x509: certificate signed by unknown authority', "False"),
        ("nothing a rule knows", "True"),
    ],
)
def test_the_fallback_is_loaded_only_when_no_rule_matched(text, loaded):
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, text],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == loaded


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regdoctor", "explain", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"},
    )


def test_the_cli_shows_a_guess_as_a_guess():
    text = "resolution enforced but cannot prompt without a TTY"
    plain = _cli(text)
    assert plain.returncode == 1, plain.stdout + plain.stderr  # a warning, not an error
    assert "Likely config.invalid" in plain.stdout
    assert "regdoctor.likely" in plain.stdout
    assert "a guess: no rule matched" in plain.stdout
    assert "confidence low" in plain.stdout
    data = json.loads(_cli("--format", "json", text).stdout)
    jsonschema.validate(data, load_schema("explain-v1"))
    assert data[0]["rule"] == LIKELY
    assert data[0]["fallback"]["kind"] == "template"
