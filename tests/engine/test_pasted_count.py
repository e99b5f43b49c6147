"""fixtures/pasted/count.py never shows a held-out entry: a tuned entry or a candidate
paste that duplicates one (same text, same id or same thread) is told only that it
"duplicates a held-out entry", with no held-out id, text or file name, and a candidate
is dropped."""

from __future__ import annotations

import importlib.util
from pathlib import Path

COUNT_PY = Path(__file__).resolve().parents[2] / "fixtures" / "pasted" / "count.py"


def count_module():
    spec = importlib.util.spec_from_file_location("pasted_count", COUNT_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SECRET_TEXT = "Error response from daemon: a secret held-out wording 4711"
HELD = (
    "heldout/heldout-9.yaml",
    {
        "id": "secret-heldout-slug",
        "text": SECRET_TEXT,
        "tool": "docker",
        "category": "other",
        "source": "example/held#42",
    },
)


def assert_silent(messages: list[str]) -> None:
    joined = "\n".join(messages)
    for leak in ("secret-heldout-slug", "heldout-9", "4711", "example/held"):
        assert leak not in joined


def test_validate_names_no_heldout_entry():
    count = count_module()
    tuned = (
        "collected-9.yaml",
        {
            "id": "new-paste",
            "text": SECRET_TEXT,
            "tool": "docker",
            "category": "other",
            "source": "example/new#1",
        },
    )
    bad_held = ("heldout/heldout-9.yaml", {"id": "Bad Id", "text": "x", "category": "nope"})
    problems = count.validate([tuned, HELD, bad_held])
    assert "collected-9.yaml:new-paste: duplicates a held-out entry (same text; drop it)" in (
        problems
    )
    assert any(p.startswith("a held-out entry: unknown category") for p in problems)
    assert_silent(problems)
    # tuned duplicates are still named, so they can be fixed
    other = ("collected-2.yaml", dict(tuned[1], id="older"))
    assert any(
        "same text as collected-9.yaml:new-paste" in p for p in count.validate([tuned, other])
    )


def test_check_new_drops_heldout_matches_by_text_and_thread(tmp_path):
    count = count_module()
    new = tmp_path / "candidates.yaml"
    new.write_text(
        "entries:\n"
        "  - id: same-text\n"
        "    text: |\n"
        f"      {SECRET_TEXT}\n"
        "    tool: docker\n"
        "    category: other\n"
        "    source: example/other#7\n"
        "  - id: same-thread\n"
        "    text: |\n"
        "      a new wording\n"
        "    tool: docker\n"
        "    category: other\n"
        "    source: https://github.com/Example/Held/issues/42\n"
        "  - id: fresh\n"
        "    text: |\n"
        "      a fresh wording\n"
        "    tool: docker\n"
        "    category: other\n"
        "    source: example/fresh#1\n",
        encoding="utf-8",
    )
    messages, drop, unread = count.check_new(new, [HELD])
    assert unread == []
    assert drop == ["same-text", "same-thread"]
    assert [m.split(": ", 1)[1] for m in messages] == [
        "duplicates a held-out entry (text) - dropped",
        "duplicates a held-out entry (thread) - dropped",
    ]
    assert_silent(messages)
    count.drop_entries(new, drop)
    kept = new.read_text(encoding="utf-8")
    assert "id: fresh" in kept and "same-text" not in kept and "same-thread" not in kept


def test_a_candidate_file_that_does_not_parse_fails_the_check(tmp_path, capsys):
    """A round's batch with a YAML indentation error was reported as "0 candidate(s)
    dropped" (its candidates never read): the check now fails and says so."""
    bad = tmp_path / "candidates.yaml"
    bad.write_text("entries:\n  - id: x\n   text: bad\n", encoding="utf-8")
    assert count_module().main(["--check-new", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "YAML error" in err and "not checked" in err
