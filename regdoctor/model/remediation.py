"""What to do about a finding, step by step (see ``regdoctor.model``): ``check`` and
``explain`` both build these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RemediationStep:
    """One step: ``text`` says what to do; ``checks`` look (diagnostics, safe to run),
    ``commands`` change something (the fix); both per runtime."""

    text: str
    commands: Mapping[str, str] = field(default_factory=dict)
    checks: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "checks": dict(self.checks), "commands": dict(self.commands)}
