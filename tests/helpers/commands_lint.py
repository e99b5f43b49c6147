"""What a remediation command must never hold: a ``<name>`` placeholder (the shell reads
it as a redirection), the ``?`` of an unknown value, or a syntax error (``bash -n``)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping
from typing import Any

#: ``<registry>``, ``<image>``: not ``</dev/null``, ``<<'EOF'``, ``<(cmd)``.
ANGLE_PLACEHOLDER = re.compile(r"<[A-Za-z_][\w.-]*>")
#: A ``?`` standing alone where a value belongs (``/?@sha256``, ``login ?``); not a URL's
#: query (``list?n=1``), a glob inside a word, or ``${NAME:?}``.
QUESTION_PLACEHOLDER = re.compile(r"(?<![\w$:{}*\\])\?(?![\w}])")
#: Upper-case stand-ins for a value (``kubectl debug node/NODE``): a variable instead.
WORD_PLACEHOLDER = re.compile(
    r"(?<![\w${.])(?:NODE|NAMESPACE|POD|REPOSITORY|IMAGE|MIRROR|USER|PASSWORD|TOKEN)(?![\w}=])"
)


def command_problems(command: str) -> list[str]:
    problems = []
    if m := ANGLE_PLACEHOLDER.search(command):
        problems.append(f"placeholder {m.group(0)}")
    if QUESTION_PLACEHOLDER.search(command):
        problems.append("a ? where a value belongs")
    code = "\n".join(
        line.split(" #")[0] for line in command.splitlines() if not line.startswith("#")
    )
    if m := WORD_PLACEHOLDER.search(code):
        problems.append(f"placeholder {m.group(0)}")
    result = subprocess.run(
        ["bash", "-n"], input=command, capture_output=True, text=True, timeout=10
    )
    if result.returncode:
        problems.append("bash -n: " + result.stderr.strip())
    return problems


def document_commands(document: Mapping[str, Any]) -> Iterable[tuple[str, str, str]]:
    """(rule, runtime, command) of every finding of a check's JSON document."""
    for finding in document.get("findings") or []:
        for step in finding.get("remediation") or []:
            for runtime, command in (step.get("commands") or {}).items():
                yield finding.get("rule", "?"), runtime, command


def assert_commands_clean(document: Mapping[str, Any]) -> None:
    bad = {
        f"{rule} [{runtime}]": problems
        for rule, runtime, command in document_commands(document)
        if (problems := command_problems(command))
    }
    assert not bad, bad
