"""What probes observe and what rules find (see ``regdoctor.model``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from regdoctor.model import Severity

if TYPE_CHECKING:
    from regdoctor.model.remediation import RemediationStep


@dataclass(frozen=True, slots=True)
class Observation:
    """One observed fact. ``kind`` and the names in ``facts`` are the contract between
    probes and rules; they are listed in docs/observations.md."""

    kind: str
    target: str
    ok: bool
    phase: str
    step: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    evidence: str | None = None
    source: str | None = None
    duration_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        # the fields in their order, as asdict() gave them, without its deep copy of
        # ``facts`` (which was replaced by this shallow one anyway)
        return {
            "kind": self.kind,
            "target": self.target,
            "ok": self.ok,
            "phase": self.phase,
            "step": self.step,
            "facts": dict(self.facts),
            "error": self.error,
            "evidence": self.evidence,
            "source": self.source,
            "duration_ms": self.duration_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Observation:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule concluded about a target: category, severity, explanation and the
    remediation, with the evidence it read."""

    rule: str
    category: str
    severity: Severity
    confidence: str
    target: str
    phase: str
    title: str
    explanation: str
    remediation: tuple[RemediationStep, ...] = ()
    references: tuple[str, ...] = ()
    observations: tuple[int, ...] = ()  # indices into the target's observations
    leading: bool = False
    #: The runtimes in scope this finding applies to (``regdoctor.check.verdicts``);
    #: empty: none of them (a runtime out of scope, or one that is not affected).
    runtimes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "category": self.category,
            "severity": str(self.severity),
            "confidence": self.confidence,
            "target": self.target,
            "phase": self.phase,
            "title": self.title,
            "explanation": self.explanation,
            "remediation": [step.to_dict() for step in self.remediation],
            "references": list(self.references),
            "observations": list(self.observations),
            "leading": self.leading,
            "runtimes": list(self.runtimes),
        }
