"""Lines cut short before they reached ``explain``, and what can honestly be said of them.

UI tables, chat clients and some CLIs cut a long line and mark the cut: ``…``
(``kubectl``'s and chat clients' ellipsis), ``\\… See All`` (OpenShift's web console),
``...`` (``kubectl describe``'s long annotations), ``[truncated]`` / ``(truncated)``. A Go
error chain puts its cause last (``op "url": cause: cause``), so a cut line has usually
lost exactly the words that name the cause; what survives are the chain's outer links and
the hosts they name. :func:`cut_at` finds the cut, :func:`surviving` the text before it
(without the word the cut split: ``https://regis…`` names no host), and :func:`cut_note`
says what that text still tells: the last words read, and which host the failing request
went to (:mod:`regdoctor.engine.chain`). ``explain`` says so instead of guessing, and
offers the live ``check`` that finds the cause.

>>> cut_at('Get "https://r.example.test/v2/": dial tcp 192.0.2.1:443: conn…')
62
>>> surviving('Get "https://r.example.test/v2/": dial tcp 192.0.2.1:443: conn…', 62)
'Get "https://r.example.test/v2/": dial tcp 192.0.2.1:443:'
"""

from __future__ import annotations

import functools
import re

from regdoctor.engine.chain import ROLE_WORDS, describe

__all__ = ["cut_at", "cut_note", "surviving"]

#: The marks of a cut at the end of a line. Three dots count only in a line of at least
#: :data:`_DOTS_AFTER` characters as printed, or inside a quote left open (``Failed to
#: pull image "XXX...``): ``Trying to pull x...`` is docker's and podman's own progress.
_CUT = (
    r"(?:\\?\u2026(?: ?See All)?|\s*\[truncated\]|\s*\(truncated\)"
    r"|\s*\.{3}(?: ?\(truncated\))?)\s*$"
)
_DOTS_AFTER = 100
#: The ends a cut line can have (a cheap test before the regex).
_ENDS = ("\u2026", "...", "]", ")", "All")
#: How many characters of what survives the note quotes (at most).
_LAST_WORDS = 80
#: The word the cut split, at the end of what survives.
_SPLIT_WORD = r"[\w.%~+-]*$"


@functools.cache
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def cut_at(line: str, width: int | None = None) -> int | None:
    """Where the mark of a cut starts in ``line`` (``None``: the line was not cut);
    ``width``: how wide the line was as printed, framing included (default: its length)."""
    stripped = line.rstrip()
    if not stripped.endswith(_ENDS):
        return None
    mark = _rx(_CUT).search(stripped)
    if mark is None:
        return None
    if stripped[mark.start() :].lstrip().startswith("..."):
        wide = (width if width is not None else len(line)) >= _DOTS_AFTER
        if not wide and stripped[: mark.start()].count('"') % 2 == 0:
            return None
    return mark.start()


def surviving(line: str, at: int) -> str:
    """What was read before the cut at ``at``, without the word the cut split."""
    return _rx(_SPLIT_WORD).sub("", line[:at]).rstrip()


def cut_note(line: str, at: int) -> tuple[str, dict[str, str]]:
    """A sentence on the cut of ``line`` at ``at`` and what survives of it, and the fields
    that say it (``cut``: the last words read; ``peer_role``/``peer_name``: the host the
    failing request went to, when the surviving chain names one)."""
    text = surviving(line, at)
    last = text[-_LAST_WORDS:]
    if len(text) > _LAST_WORDS and " " in last:
        last = last[last.index(" ") + 1 :]  # from a whole word on
    fields = {"cut": last}
    chain = describe(text) if text else {}
    role, peer = chain.get("peer_role"), chain.get("peer_name")
    sentence = (
        f"The line was cut (its end is marked as cut): what came after `{last}` is lost, "
        "and a Go error chain names its cause last."
    )
    if role:
        fields["peer_role"] = role
        if peer:
            fields["peer_name"] = peer
        who = f"{peer}: {ROLE_WORDS[role]}" if peer else ROLE_WORDS[role]
        sentence += f" What survives says the failing request went to {who}."
    return sentence, fields
