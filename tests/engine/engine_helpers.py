"""Small builders shared by the engine tests (imported as a plain module)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any

import yaml

from regdoctor.model import Observation, Target


def rule_data(rule_id: str, **fields: Any) -> dict[str, Any]:
    """A valid rule as data; ``fields`` override top-level keys."""
    data: dict[str, Any] = {
        "id": rule_id,
        "category": "other",
        "severity": "error",
        "priority": 0,
        "confidence": {"live": "high", "text": "medium"},
        "title": f"Rule {rule_id} fired on {{host}}",
        "match": {
            "observations": {"all": [{"kind": "dns.answer", "facts": {"outcome": "nxdomain"}}]}
        },
        "explanation": "Explained: {name}.",
        "remediation": [
            {"text": "Fix it on {host}.", "commands": {"docker": "docker login {registry}"}}
        ],
    }
    data.update(fields)
    return data


def write_rule(directory: Path, rule_id: str, text: str | None = None, **fields: Any) -> Path:
    """Write ``<rule_id>.yaml``: ``text`` verbatim, or :func:`rule_data` dumped."""
    body = dedent(text) if text is not None else yaml.safe_dump(rule_data(rule_id, **fields))
    path = directory / f"{rule_id}.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def target(raw: str = "registry.test:5000", **kw: Any) -> Target:
    registry = raw.partition("/")[0]
    host, _, port = registry.rpartition(":")
    return Target(raw=raw, registry=registry, host=host, port=int(port), **kw)


def obs(
    kind: str,
    phase: str | None = None,
    ok: bool = True,
    step: str | None = None,
    error: str | None = None,
    **facts: Any,
) -> Observation:
    return Observation(
        kind=kind,
        target="registry.test:5000",
        ok=ok,
        phase=phase or kind.split(".")[0],
        step=step,
        facts=facts,
        error=error,
    )
