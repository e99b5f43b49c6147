"""How results look in the TUI: marks, words, styles, the phase sparkline, durations.

Presentation only: every status shown here was decided by the engine (the severity of
the findings, the status of each phase). Every mark is a distinct character, so nothing
depends on colour (``NO_COLOR``, monochrome terminals). Everything untrusted goes through
:func:`regdoctor.escape.safe_text` into :class:`rich.text.Text`, never into markup.
"""

from __future__ import annotations

import math

from rich.text import Text

from regdoctor.escape import safe_text
from regdoctor.model import PhaseResult, PhaseStatus, TargetReport
from regdoctor.redact.secrets import redact

#: The phases the overview's sparkline shows, in pull order, with their short labels.
BAR_PHASES: tuple[tuple[str, str], ...] = (
    ("dns", "DNS"),
    ("tcp", "TCP"),
    ("tls", "TLS"),
    ("http", "HTTP"),
    ("auth", "auth"),
    ("image", "manifest"),
)

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

# status -> (mark, word, style)
STATUS_LOOK: dict[str, tuple[str, str, str]] = {
    "ok": ("✓", "ok", "green bold"),
    "warning": ("!", "warning", "yellow bold"),
    "error": ("✗", "error", "red bold"),
    "waiting": ("·", "waiting", "dim"),
    "running": ("…", "running", "cyan"),
    "broken": ("#", "crashed", "magenta bold"),
}
PHASE_LOOK: dict[str, tuple[str, str, str]] = {
    PhaseStatus.OK: ("✓", "ok", "green"),
    PhaseStatus.WARN: ("!", "warn", "yellow"),
    PhaseStatus.FAILED: ("✗", "failed", "red bold"),
    PhaseStatus.SKIPPED: ("\u2013", "skipped", "dim"),
    PhaseStatus.CRASHED: ("#", "crashed", "magenta bold"),
    PhaseStatus.NOT_APPLICABLE: ("·", "n/a", "dim"),
}
SEVERITY_STYLE: dict[str, str] = {"error": "red bold", "warning": "yellow bold", "info": "cyan"}
#: Sort rank of each status (worst first).
STATUS_RANK: dict[str, int] = {
    "broken": 0,
    "error": 1,
    "warning": 2,
    "running": 3,
    "waiting": 4,
    "ok": 5,
}
_BLOCKS = "▁▂▃▄▅▆▇█"


def clean(value: object, max_chars: int | None = None) -> str:
    """Untrusted text made safe for one line: redacted, escaped, clipped."""
    return safe_text(
        redact(str(value)) if value is not None else "", keep_newlines=False, max_chars=max_chars
    )


def clean_block(value: object, max_chars: int | None = None) -> str:
    """Untrusted text of several lines (a command) made safe: redacted, escaped, clipped,
    its line breaks kept as line breaks."""
    text = safe_text(
        redact(str(value)) if value is not None else "", keep_newlines=True, max_chars=max_chars
    )
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))


def untrusted(value: object, style: str = "", max_chars: int | None = None) -> Text:
    return Text(clean(value, max_chars), style=style)


def status_text(status: str, *, spin: int = 0, words: bool = True) -> Text:
    mark, word, style = STATUS_LOOK[status]
    if status == "running":
        mark = SPINNER[spin % len(SPINNER)]
    return Text(f"{mark} {word}" if words else mark, style=style)


def duration(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms < 1:
        return "<1 ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def _block(ms: float | None) -> str:
    """A block whose height grows with the log of the duration (1 ms .. 10 s)."""
    if ms is None or ms <= 0:
        return _BLOCKS[0]
    level = int(math.log10(max(ms, 1.0)) / 4 * (len(_BLOCKS) - 1) + 0.5)
    return _BLOCKS[max(0, min(len(_BLOCKS) - 1, level))]


def phase_bar(report: TargetReport | None, *, running: bool = False, spin: int = 0) -> Text:
    """One character per phase of :data:`BAR_PHASES`: a block sized by its time, in
    the phase's colour; a failed phase shows its mark instead of a block."""
    phases = {p.name: p for p in report.phases} if report is not None else {}
    bar = Text()
    for name, _label in BAR_PHASES:
        phase = phases.get(name)
        if phase is None:
            bar.append(SPINNER[spin % len(SPINNER)] if running else " ", style="cyan")
            running = False  # the spinner marks the first phase still to come
            continue
        mark, _word, style = PHASE_LOOK[phase.status]
        if phase.status in (PhaseStatus.OK, PhaseStatus.WARN):
            bar.append(_block(phase.duration_ms), style=style)
        else:
            bar.append(mark, style=style)
    return bar


def phase_row(phase: PhaseResult, width: int, longest_ms: float) -> list[Text]:
    """The cells of one line of the detail timeline: mark, name, status, a bar to scale,
    time, and why it failed or was skipped."""
    mark, word, style = PHASE_LOOK[phase.status]
    cells = 0
    if phase.duration_ms and longest_ms > 0:
        cells = max(1, round(phase.duration_ms / longest_ms * width))
    why = phase.error or phase.reason
    return [
        Text(mark, style=style),
        Text(phase.name),
        Text(word, style=style),
        Text("█" * cells, style=style),
        Text(duration(phase.duration_ms), justify="right"),
        Text(clean(why, 300) if why else "", style="" if phase.error else "dim"),
    ]
