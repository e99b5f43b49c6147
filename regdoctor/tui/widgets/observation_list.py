"""The observations of a target: what each probe saw (certificates with their expiry,
resolver answers, each step of the auth dance with its token realm...), as recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from regdoctor.model import Observation
from regdoctor.tui.look import clean

_FACT_CHARS = 120


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def observation_lines(observation: Observation) -> list[Text]:
    head = Text()
    head.append("✓ " if observation.ok else "✗ ", style="green" if observation.ok else "red")
    head.append(clean(observation.kind), style="bold")
    if observation.step:
        head.append(f" {clean(observation.step)}", style="bold")
    if observation.error:
        head.append("  ")
        head.append(clean(observation.error, 200), style="red")
    lines = [head]
    for key, value in observation.facts.items():
        if value is None or value == [] or value == {}:
            continue
        line = Text("    ")
        line.append(f"{clean(key)}: ", style="dim")
        line.append(clean(_value(value), _FACT_CHARS))
        lines.append(line)
    if observation.evidence:
        line = Text("    ")
        line.append("evidence: ", style="dim")
        line.append(clean(observation.evidence, _FACT_CHARS))
        lines.append(line)
    return lines


class ObservationList(Static):
    def __init__(self, observations: tuple[Observation, ...], **kwargs: object) -> None:
        lines = [line for o in observations for line in observation_lines(o)]
        super().__init__(Group(*lines), **kwargs)  # type: ignore[arg-type]
