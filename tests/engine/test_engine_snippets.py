"""Named snippets of fix scripts (regdoctor.engine.snippets): a rule's command line
``#@snippet NAME`` is the snippet, indented as that line, braces as written; an unknown
name is a validation error (``regdoctor rules test`` fails). The bundled rules share the
no-tomllib TOML readers this way instead of nine and three copies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from regdoctor.engine import load_catalog
from regdoctor.engine.command_template import render_command
from regdoctor.engine.snippets import SNIPPETS
from tests.engine.engine_helpers import rule_data, write_rule

ROOT = Path(__file__).resolve().parents[2]
READER = SNIPPETS["tomllib-or-fallback"]


def _step(command: str) -> list[dict[str, object]]:
    return [{"text": "Fix it.", "commands": {"kubernetes": command}}]


def test_a_snippet_line_is_the_snippet_indented_as_it_is(tmp_path: Path) -> None:
    command = "sudo python3 - <<'EOF'\nif True:\n    #@snippet tomllib-or-fallback\nprint(1)\nEOF"
    write_rule(tmp_path, "shared", None, remediation=_step(command))
    catalog = load_catalog([tmp_path], bundled=False)
    assert not catalog.errors, catalog.errors
    rendered = render_command(catalog.rules[0].remediation[0].commands["kubernetes"], {})
    body = rendered.split("<<'EOF'\n", 1)[1].split("\nEOF", 1)[0]
    expected = "\n".join("    " + line if line else line for line in READER.rstrip().split("\n"))
    assert body == "if True:\n" + expected + "\nprint(1)"
    assert "doc, keys = {}, " in body  # the snippet's braces as written
    compile(body, "fix", "exec")


def test_an_unknown_snippet_is_a_validation_error(tmp_path: Path) -> None:
    data = rule_data("unknown", remediation=_step("python3 - <<'EOF'\n#@snippet no-such\nEOF"))
    write_rule(tmp_path, "unknown", None, **{k: v for k, v in data.items() if k != "id"})
    catalog = load_catalog([tmp_path], bundled=False)
    assert not catalog.rules
    assert "unknown snippet 'no-such'" in " ".join(catalog.errors[0].problems)
    done = subprocess.run(
        [sys.executable, "-m", "regdoctor", "rules", "test", "--no-bundled", "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "no-such" in done.stdout + done.stderr


def test_the_bundled_rules_share_the_reader_instead_of_copying_it() -> None:
    readers = ("def _loads(", "def loads(")
    copies = [
        p for p in (ROOT / "rules").rglob("*.yaml") if any(r in p.read_text() for r in readers)
    ]
    assert copies == []
    for reader, count in zip(readers, (11, 5), strict=True):
        users = [
            (rule.id, runtime)
            for rule in load_catalog().rules
            for step in rule.remediation
            for runtime, command in step.commands.items()
            if reader in command
        ]
        assert len(users) == count, users
    assert not [
        rule.id
        for rule in load_catalog().rules
        for step in rule.remediation
        for command in (*step.commands.values(), *step.checks.values())
        if "#@snippet" in command
    ]
