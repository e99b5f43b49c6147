"""Which rules' fix commands a real pull has verified: for each runtime, the rules of
the catalog that ``check`` can raise (they match observations; a rule that reads pasted
text only is ``explain``'s, and the table applies ``check``'s fixes) as an error with a
command for it, and those whose command ran in a scenario of this table where the same
client then pulled (step 4).

``python3 -m tests.scenarios.runtimes.fix_coverage FILE`` prints the table for a file
the suite wrote (``REGDOCTOR_FIX_COVERAGE=FILE``: one ``[scenario, client, rule]`` per
rule of a verified fix).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

RUNTIMES = ("docker", "containerd", "podman", "kubernetes")


def fixable() -> dict[str, set[str]]:
    """runtime -> the error rules ``check`` can raise with a command for it."""
    from regdoctor.engine import load_catalog
    from regdoctor.model import Severity

    rules: dict[str, set[str]] = {r: set() for r in RUNTIMES}
    for rule in load_catalog().rules:
        if rule.severity is not Severity.ERROR or rule.observations is None:
            continue
        for step in rule.remediation:
            for runtime, command in step.commands.items():
                if runtime in rules and command.strip():
                    rules[runtime].add(rule.id)
    return rules


def table(fixed: Iterable[tuple[str, str, str]]) -> str:
    """Markdown: per runtime, the error rules with a command for it, how many a real
    pull verified, and the rest by name."""
    rules = fixable()
    verified: dict[str, set[str]] = {r: set() for r in RUNTIMES}
    for _scenario, client, rule in fixed:
        if client in verified:
            verified[client].add(rule)
    lines = [
        "| runtime | error rules with a command | verified by a real pull | not verified |",
        "|---|---:|---:|---|",
    ]
    total = done = 0
    for runtime in RUNTIMES:
        have, ok = rules[runtime], verified[runtime] & rules[runtime]
        total, done = total + len(have), done + len(ok)
        missing = ", ".join(f"`{r}`" for r in sorted(have - ok)) or "-"
        share = f"{len(ok)} ({len(ok) / len(have):.0%})" if have else "0"
        lines.append(f"| {runtime} | {len(have)} | {share} | {missing} |")
    lines.append(f"| **all** | **{total}** | **{done} ({done / max(1, total):.0%})** | |")
    return "\n".join(lines) + "\n"


def summary(fixed: Iterable[tuple[str, str, str]]) -> str:
    rules = fixable()
    pairs = {(client, rule) for _s, client, rule in fixed}
    total = sum(len(v) for v in rules.values())
    done = sum(1 for runtime, have in rules.items() for rule in have if (runtime, rule) in pairs)
    return f"fix commands verified by a real pull: {done} of {total} (rule, runtime) pairs"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    fixed = [tuple(row) for row in json.loads(Path(argv[0]).read_text(encoding="utf-8"))]
    sys.stdout.write(table(fixed))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
