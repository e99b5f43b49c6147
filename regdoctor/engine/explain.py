"""``explain``: name the cause of a pasted error, offline, with the fix.

(About 500 lines: the reading rules below and the code that applies them stay together.)

```python
from regdoctor.engine.cache import load_index_cached
from regdoctor.engine.explain import explain

for match in explain(load_index_cached(), pasted_text):  # or a loaded Catalog
    print(match.lines, match.category, match.title, match.fields.get("registry"))
```

How a paste is read:

1. The text is split into lines (``\\n``; a trailing ``\\r`` is dropped). Each line is
   matched on its own, after ANSI colour codes are removed and ``\\"`` is unescaped (Docker
   daemon and kubelet logs quote their errors).
2. Every regex of a rule has *required literals* (:mod:`regdoctor.engine.literals`,
   computed when the index is built and kept in the rule cache): a regex runs only on
   lines holding one of its literals (:mod:`regdoctor.engine.explain_index`). A long log
   (more than :data:`SCAN_THRESHOLD` lines) is first searched block by block for all
   literals at once (Aho-Corasick), so that only lines with a hit are looked at.
3. A rule matches a line when every ``all`` regex and at least one ``any`` regex find a
   match and no ``none`` regex does. When several rules match one line (a Go error chain
   names the symptom and its cause on one line), the rule with the highest text priority
   wins: the cause, not the symptom. Ties go to the rule with more matching regexes, then
   to catalog order.
4. Fields are extracted from the line (:mod:`regdoctor.engine.extract`, then the rule's own
   named groups, which win); an image named a few lines above (or just below) fills in
   what the line lacks (``docker pull IMAGE`` then ``unauthorized``).
5. Matches of the same rule about the same registry, host and image are one error,
   reported once with all its line numbers, in the order of first appearance. The match
   with the highest text priority (then severity, then the earliest) is ``leading``: the
   likely cause.
6. Secrets are masked (:mod:`regdoctor.redact.secrets`) in everything a result keeps from the
   paste: the line, the matched span and the fields.

Nothing recognised gives one result, category ``other``, that says so and still carries
what could be extracted; before that, :mod:`regdoctor.engine.fallback` re-reads log lines'
messages and may guess from the nearest known message (rule ``regdoctor.likely``).
Nothing here touches the network or imports a network library.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from regdoctor.engine.ambiguity import Alternative, alternatives_for, confidence_cap
from regdoctor.engine.chain import ROLE_WORDS, describe
from regdoctor.engine.command_template import render_command
from regdoctor.engine.explain_index import Index, build_index, candidates, index_of, match_rule
from regdoctor.engine.explain_stream import (
    LOOKAHEAD,
    LOOKBACK,
    MAX_DISTINCT,
    MAX_LINE_CHARS,
    MAX_LINE_NUMBERS,
    SCAN_THRESHOLD,
    Group,
    ScanResult,
    is_binary_line,
    normalise_line,
    scan,
)
from regdoctor.engine.extract import extract, registry_name
from regdoctor.engine.template import (
    is_ip,
    is_loopback,
    placeholder,
    placeholders,
    port_given,
    render,
    step_missing,
)
from regdoctor.model import RemediationStep, Severity
from regdoctor.redact.secrets import redact
from regdoctor.reference.targets import InvalidReference, parse_target

if TYPE_CHECKING:
    from regdoctor.engine.loader import Catalog

__all__ = [
    "LOOKAHEAD",
    "LOOKBACK",
    "MAX_DISTINCT",
    "MAX_LINE_CHARS",
    "MAX_LINE_NUMBERS",
    "OMITTED",
    "SCAN_THRESHOLD",
    "UNRECOGNISED",
    "ExplainReport",
    "Index",
    "TextMatch",
    "build_index",
    "explain",
    "explain_report",
    "normalise_line",
]

# Kept importable from here (tests and callers used them before the split).
_candidates = candidates

#: The rule id of the "nothing recognised" result.
UNRECOGNISED = "regdoctor.unrecognised"
#: The rule id of the note on errors left out past the cap (JSON output only).
OMITTED = "regdoctor.omitted"
#: Lines looked at (and shown) when nothing is recognised.
_UNRECOGNISED_LINES = 400

_ERRORISH = (
    r"error|fail|denied|refused|unable|cannot|can't|could not|invalid|timeout|timed out|"
    r"unauthori[sz]ed|forbidden|not found|unknown|x509|\b[45]\d\d\b"
)


def _errorish(text: str) -> bool:
    """Whether an unrecognised line reads like an error (the pattern is compiled only when
    nothing was recognised; ``re`` caches it)."""
    return re.search(_ERRORISH, text, re.IGNORECASE) is not None


@dataclass(frozen=True)
class TextMatch:
    """One distinct error recognised in a paste."""

    rule: str
    category: str
    severity: Severity
    confidence: str
    priority: int
    title: str
    explanation: str
    remediation: tuple[RemediationStep, ...]
    references: tuple[str, ...]
    lines: tuple[int, ...]  # 1-based, in order, at most MAX_LINE_NUMBERS
    count: int  # how many lines showed this error
    line: str  # the first such line, normalised and redacted
    span: tuple[int, int]  # what the rule matched in ``line`` (start, end)
    fields: Mapping[str, str] = field(default_factory=dict)
    check: str | None = None  # a suggested `regdoctor check ...` command
    leading: bool = False
    #: When the text cannot tell: the causes it leaves open, likelier first.
    alternatives: tuple[Alternative, ...] = ()
    #: A guess (rule ``regdoctor.likely``): the nearest known message and how close.
    fallback: Mapping[str, Any] | None = None

    @property
    def matched(self) -> str:
        return self.line[self.span[0] : self.span[1]]

    @property
    def recognised(self) -> bool:
        return self.rule != UNRECOGNISED

    def to_dict(self) -> dict[str, Any]:
        """The explain-v1 JSON object (``regdoctor/schemas/explain-v1.json``)."""
        return {
            "rule": self.rule,
            "category": self.category,
            "severity": str(self.severity),
            "confidence": self.confidence,
            "priority": self.priority,
            "leading": self.leading,
            "title": self.title,
            "explanation": self.explanation,
            "lines": list(self.lines),
            "count": self.count,
            "line": self.line,
            "span": {"start": self.span[0], "end": self.span[1], "text": self.matched},
            "fields": dict(self.fields),
            "check": self.check,
            "remediation": [step.to_dict() for step in self.remediation],
            "references": list(self.references),
            **(
                {"alternatives": [a.to_dict() for a in self.alternatives]}
                if self.alternatives
                else {}
            ),
            **({"fallback": dict(self.fallback)} if self.fallback else {}),
        }


@dataclass(frozen=True)
class ExplainReport:
    """Everything ``explain`` found in one input, and what it left out."""

    matches: list[TextMatch]
    lines: int  # lines read
    binary_lines: int = 0  # lines skipped as binary data
    omitted_lines: int = 0  # error lines past the cap on distinct errors
    omitted_distinct: int = 0  # distinct errors past the cap (at least, when capped)
    omitted_distinct_capped: bool = False

    @property
    def omitted_text(self) -> str | None:
        """One sentence on what was left out, or ``None``."""
        if not self.omitted_lines:
            return None
        at_least = "at least " if self.omitted_distinct_capped else ""
        return (
            f"{self.omitted_lines} more error line(s), {at_least}{self.omitted_distinct} "
            f"distinct error(s) beyond the first {len(self.matches)}, are not shown."
        )

    def omitted_match(self) -> TextMatch | None:
        """The same, as a ``regdoctor.omitted`` note (the last item of the JSON list)."""
        text = self.omitted_text
        if text is None:
            return None
        return TextMatch(
            rule=OMITTED,
            category="other",
            severity=Severity.INFO,
            confidence="high",
            priority=0,
            title="More distinct errors than explain keeps",
            explanation=text + " Cut the log to the failing step, or explain it in parts.",
            remediation=(),
            references=(),
            lines=(),
            count=self.omitted_lines,
            line="",
            span=(0, 0),
            fields={"distinct": str(self.omitted_distinct)},
        )


def explain(catalog: Catalog | Index, text: str) -> list[TextMatch]:
    """Every distinct registry error ``text`` shows, in order of first appearance.

    ``catalog``: a loaded catalog, or the index of its text rules (from the rule cache).
    Never empty: when nothing is recognised the one result has category ``other``.
    """
    return explain_report(catalog, (text,)).matches


#: How a line cut short can end (:mod:`regdoctor.engine.cut`, imported only for such a
#: line: a one-line paste that was not cut never loads it).
_CUT_ENDS = ("\u2026", "...", "]", ")", "All")


def _cut_at(line: str, width: int | None = None) -> int | None:
    if not line.rstrip().endswith(_CUT_ENDS):
        return None
    from regdoctor.engine.cut import cut_at

    return cut_at(line, width)


def _surviving(line: str, at: int) -> str:
    from regdoctor.engine.cut import surviving

    return surviving(line, at)


def _given_up_host(line: str) -> bool:
    """containerd's note on a host it gave up on before the next one (``level=info
    msg="trying next host"``): the final error, not this one, is why the pull failed."""
    return "trying next host" in line and "level=info" in line


def _framed(line: str) -> bool:
    """Does the line carry a JSON or logfmt log framing around its message?"""
    return "msg=" in line or line.lstrip().startswith("{")


def _read_through_framing(
    catalog: Catalog | Index, result: ScanResult, lead: TextMatch, max_distinct: int
) -> ExplainReport | None:
    """A short paste whose leading error sits in a JSON or logfmt log line, read again
    with the log framing removed (:func:`regdoctor.engine.fallback.unwrapped`): when the
    same line then matches a rule of higher text priority (the framing's closing quote
    hid the end of the message from a rule anchored there), that reading wins."""
    from regdoctor.engine import fallback

    text = fallback.unwrapped(catalog, result)
    if text is None:
        return None
    again = explain_report(catalog, (text,), max_distinct, reread=False)
    new = next(m for m in again.matches if m.leading)
    if new.lines[:1] != lead.lines[:1] or new.priority <= lead.priority:
        return None
    return replace(again, lines=result.lines, binary_lines=result.binary_lines)


def explain_report(
    catalog: Catalog | Index,
    chunks: Iterable[str],
    max_distinct: int = MAX_DISTINCT,
    reread: bool = True,
) -> ExplainReport:
    """:func:`explain` over text given in chunks (a file read piece by piece), in bounded
    memory, with the counts of what was read, skipped and left out. ``reread``: read a
    short paste again through its JSON or logfmt framing when its leading error is in
    such a line (:func:`_read_through_framing`)."""
    result = scan(index_of(catalog), chunks, max_distinct)
    if not result.groups:
        from regdoctor.engine import fallback  # only when no rule matched

        unwrapped = fallback.unwrapped(catalog, result)
        if unwrapped is not None:
            again = explain_report(catalog, (unwrapped,), max_distinct)
            return replace(again, lines=result.lines, binary_lines=result.binary_lines)
        unrecognised = _unrecognised(result)
        guess = fallback.guess(result.head, unrecognised.remediation)
        at = _cut_at(unrecognised.line) if guess and "cut" in unrecognised.fields else None
        if guess and at is not None:
            from regdoctor.engine.cut import cut_note

            # the guess reads the words before a cut: say that the rest is lost
            guess["explanation"] += " " + cut_note(unrecognised.line, at)[0]
        matches = [replace(unrecognised, **guess) if guess else unrecognised]
    else:
        matches = [_result(group) for group in result.groups]
        matches.sort(key=lambda m: m.lines[0])
        lead = max(
            range(len(matches)),
            key=lambda j: (
                not _given_up_host(matches[j].line),
                matches[j].priority,
                -matches[j].severity.rank,
                -matches[j].lines[0],
            ),
        )
        matches[lead] = replace(matches[lead], leading=True)
        if reread and _framed(matches[lead].line) and result.lines <= len(result.head):
            better = _read_through_framing(catalog, result, matches[lead], max_distinct)
            if better is not None:
                return better
    return ExplainReport(
        matches=matches,
        lines=result.lines,
        binary_lines=result.binary_lines,
        omitted_lines=result.omitted_lines,
        omitted_distinct=result.omitted_distinct,
        omitted_distinct_capped=result.omitted_distinct_capped,
    )


# --------------------------------------------------------------------------- results


def _sentence(text: str) -> str:
    """Fallback words without their mark, capitalised when they open the sentence
    ("The registry answers..."; a value such as "docker.io" is never capitalised)."""
    if _FALLBACK_MARK not in text:
        return text  # no fallback words (most texts): nothing to drop or capitalise
    text = _SAID_TWICE.sub(r"\1", text)
    if text.startswith(_FALLBACK_MARK):
        text = text[1:2].upper() + text[2:]
    return text.replace(_FALLBACK_MARK, "")


#: "The token server <the token server> fails": a fallback that repeats the words
#: before it is dropped ("The token server fails").
_SAID_TWICE = re.compile(r"\b((?:\w+ ){0,2}\w+) \x00the \1\b")


def _clean_fields(fields: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in fields.items():
        if value is None or value == "":
            continue
        out[key] = redact(str(value))
    return out


def _hostport(host: str | None, port: str | None) -> str | None:
    if not host:
        return None
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{shown}:{port}" if port else shown


def template_context(fields: Mapping[str, str]) -> dict[str, Any]:
    """Template names from extracted fields (plus the derived ones rules use)."""
    context: dict[str, Any] = dict(fields)
    host = fields.get("host")
    port = fields.get("port")
    registry = fields.get("registry")
    if host is None and registry:
        host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
        context["host"] = host
    context.setdefault("hostport", _hostport(host, port))
    context.setdefault("peer_host", host)
    context.setdefault("peer_port", port)
    context.setdefault("peer", _hostport(host, port))
    context.setdefault("name", host)
    context.setdefault("reference", fields.get("digest") or fields.get("tag"))
    context.setdefault("requested", fields.get("platform"))
    context.setdefault("target", fields.get("image") or registry)
    context["loopback"] = is_loopback(host) or is_loopback(fields.get("address"))
    context["port_given"] = port_given(registry)
    context["host_is_ip"] = is_ip(host)
    if fields.get("proxy") is None and fields.get("address") and fields.get("port"):
        context.setdefault("proxy", _hostport(fields["address"], fields["port"]))

    def phrase(name: str, template: str) -> str:
        value = fields.get(name)
        return template.format(value) if value else ""

    context["resolver_text"] = phrase("resolver", " at {}")
    context["image_text"] = phrase("image", " ({})")
    context["helper_text"] = phrase("helper", "docker-credential-{} ")
    context["path_text"] = phrase("path", " ({})")
    context["repository_text"] = phrase("repository", " {}")
    context["secret_text"] = phrase("secret", "{} ")
    context["secret_text2"] = phrase("secret", " ({})")
    return context


def suggest_check(fields: Mapping[str, str]) -> str | None:
    """``regdoctor check IMAGE`` (or ``REGISTRY``) when the paste names one."""
    for key in ("image", "registry"):
        value = fields.get(key)
        if not value or "****" in value or not _a_target(value):
            continue
        return f"regdoctor check {shlex.quote(value)}"
    return None


@functools.lru_cache(maxsize=1024)
def _a_target(value: str) -> bool:
    """``regdoctor check`` takes ``value`` (once per text: a log names the same images
    again and again)."""
    try:
        parse_target(value)
    except (InvalidReference, ValueError):
        return False
    return True


#: How prose (titles, explanations) names a value the paste did not reveal; commands
#: and the steps that introduce them use the shell variable the command sets
#: (``$REGISTRY``, see ``regdoctor.engine.command_template``).
PROSE_FALLBACK: Mapping[str, str] = {
    "registry": "the registry",
    "hostport": "the registry",
    "host": "the registry",
    "peer": "the server",
    "peer_host": "the server",
    "name": "the registry's name",
    "image": "the image",
    "repository": "the repository",
    "reference": "the tag",
    "tag": "the tag",
    "requested": "this platform",
    "wanted": "the name dialled",
    "names": "other names",
    "realm_host": "the token server",
    "proxy": "the proxy",
    "status": "5xx",
    "address": "its address",
    "port": "the port",
    "resolver": "the resolver",
    "secret": "the secret",
    "url": "the registry",
}


_FALLBACK_MARK = "\x00"


_STEP_HOLE = re.compile("\x01([^\x01\x02]*)\x02")


def _step_text(step: Any, context: Mapping[str, Any]) -> str:
    """A remediation step's text. A value the paste did not reveal is named by the shell
    variable (``$PORT``) that one of the step's commands sets on its first line, and so
    inside an inline command (`` `curl -sv $URL` ``); in the prose around, a variable that
    no command of the step sets reads as words ("the registry"): a ``$NAME`` that nothing
    fills in is never left in the sentence."""
    used = {
        name
        for template in (*step.commands.values(), *step.checks.values())
        for name in placeholders(template)
    }
    text = render(step.text, context, lambda name: f"\x01{name}\x02")
    parts = text.split("`")
    for i, part in enumerate(parts):
        code = i % 2 == 1

        def fill(m: re.Match[str], code: bool = code) -> str:
            name = m.group(1)
            return step_missing(name) if code or name in used else _prose_missing(name)

        parts[i] = _STEP_HOLE.sub(fill, part)
    return _sentence("`".join(parts))


def _prose_missing(name: str) -> str:
    fallback = PROSE_FALLBACK.get(name)
    return _FALLBACK_MARK + fallback if fallback else placeholder(name)


def _result(group: Group) -> TextMatch:
    rule = group.hit.rule
    redacted = redact(group.line)
    span = group.hit.span
    if redacted != group.line:
        again = match_rule(rule, redacted)
        if again is not None:
            span = again.span
        else:
            # Masking ate into the error itself (an "Authorization:" value runs to the end
            # of the line): mask the parts before, in and after the match apart.
            start, end = span
            before, inside = redact(group.line[:start]), redact(group.line[start:end])
            redacted = before + inside + redact(group.line[end:])
            span = (len(before), len(before) + len(inside))
    chain = describe(group.line, group.hit.error_at)
    fields = _clean_fields({**chain, **group.fields})
    alternatives, command = alternatives_for(rule.id, rule.category, group.line, fields)
    context = template_context(fields)
    explanation = _sentence(
        render(rule.text_explanation or rule.explanation, context, _prose_missing)
    )
    role = fields.get("peer_role")
    peer = fields.get("peer_name")
    if role and role not in ("registry",) and peer and peer != fields.get("registry"):
        # The chain says which host failed: say it when it is not the registry.
        explanation += (
            f" The host that failed is {peer}: {ROLE_WORDS[role]}, not the registry itself."
        )
    cut = _cut_at(group.line)
    if cut is not None:
        from regdoctor.engine.cut import cut_note

        # Read from what survives the cut: a more specific cause may have been past it.
        note, cut_fields = cut_note(group.line, cut)  # quotes the line: redacted here
        explanation += (
            f" {redact(note)} This answer reads the words before the cut; the cause may be"
            " more specific: the live check tells."
        )
        fields["cut"] = _clean_fields(cut_fields)["cut"]
    return TextMatch(
        rule=rule.id,
        category=rule.category,
        severity=rule.severity,
        confidence=_capped(rule.confidence.text, confidence_cap(rule.category, group.line)),
        priority=rule.text_priority,
        title=_sentence(render(rule.text_title or rule.title, context, _prose_missing)),
        explanation=explanation,
        remediation=tuple(
            RemediationStep(
                text=_step_text(step, context),
                commands={
                    tool: render_command(cmd, context) for tool, cmd in step.commands.items()
                },
                checks={tool: render_command(cmd, context) for tool, cmd in step.checks.items()},
            )
            for step in rule.remediation
        ),
        references=rule.references,
        lines=tuple(group.lines),
        count=group.count,
        line=redacted,
        span=span,
        fields=fields,
        check=command or suggest_check(fields),
        alternatives=alternatives,
    )


_CONFIDENCE_ORDER = ("low", "medium", "high")


def _capped(confidence: str, cap: str | None) -> str:
    """``confidence``, no higher than ``cap``."""
    if cap is None or confidence not in _CONFIDENCE_ORDER:
        return confidence
    return min(confidence, cap, key=_CONFIDENCE_ORDER.index)


_FIELD_WORDS = (
    ("registry", "registry"),
    ("image", "image"),
    ("host", "host"),
    ("address", "address"),
    ("status", "HTTP status"),
    ("code", "registry error code"),
    ("platform", "platform"),
)


def _unrecognised(result: ScanResult) -> TextMatch:
    shown_no = 0
    shown = ""
    fields: dict[str, str] = {}
    looked = 0
    binary = 0
    short = result.lines <= 20
    cut: tuple[int, str, int] | None = None  # the first error line cut short
    for line_no, raw in result.head:
        if looked >= _UNRECOGNISED_LINES:
            break
        line = normalise_line(raw).strip()
        if not line:
            continue
        if is_binary_line(line):
            binary += 1
            continue
        errorish = _errorish(line)
        if not shown or (errorish and not _errorish(shown)):
            shown, shown_no = line, line_no
        at = _cut_at(line, len(raw))
        if at is not None and cut is None and (errorish or short):
            cut = (line_no, line, at)
        if errorish or short:
            looked += 1
            # a cut line's last word is split ("https://regis…"): read up to it only
            read = line if at is None else _surviving(line, at)
            for key, value in extract(read).items():
                fields.setdefault(key, value)
    fields = _clean_fields(fields)
    found = [f"{word} {fields[key]}" for key, word in _FIELD_WORDS if fields.get(key)]
    if binary and binary * 2 >= len(result.head):
        explanation = (
            "The input is binary data, not text: regdoctor does not read numbers or words "
            "out of binary data as errors. Give it the client's text output or log."
        )
    elif not shown:
        explanation = "The text is empty: there is nothing to explain."
    else:
        explanation = (
            "regdoctor has no rule for this text, so it cannot name the cause. "
            "It is either not a registry error, or one regdoctor does not know yet."
        )
        if found:
            explanation += " It names " + ", ".join(found) + "."
    title = "No known registry error in this text"
    if cut is not None and not (binary and binary * 2 >= len(result.head)):
        # What survives of a cut line, said as such; no cause guessed from it.
        from regdoctor.engine.cut import cut_note

        shown_no, shown, at = cut
        note, cut_fields = cut_note(shown, at)
        fields.update(_clean_fields(cut_fields))
        title = "The error was cut short before its cause"
        explanation = (
            f"{redact(note)} No rule recognises the words before the cut, and regdoctor does not "
            "guess a cause from a cut line."
        )
        if found:
            explanation += " It names " + ", ".join(found) + "."
    check = suggest_check(fields)
    steps = []
    if check:
        steps.append(RemediationStep(text=f"Test the registry it names live: `{check}`."))
    steps.append(
        RemediationStep(
            text="If this is a pull failure, paste the whole error (the last lines of the "
            "client's output, not only the first) or report it to regdoctor so that a rule "
            "can be added; remove secrets first."
            if cut is None
            else "Paste the whole line, from where nothing cuts it: the log file, the "
            "client's own output, or `kubectl get events -o json` (which does not cut "
            "messages, unlike tables and chat clients); remove secrets first."
        )
    )
    return TextMatch(
        rule=UNRECOGNISED,
        category="other",
        severity=Severity.INFO,
        confidence="low",
        priority=0,
        title=title,
        explanation=explanation,
        remediation=tuple(steps),
        references=(),
        lines=(shown_no,) if shown_no else (),
        count=0,
        line=redact(shown),
        span=(0, 0),
        fields=fields,
        check=check,
        leading=True,
    )


def registry_of(match: TextMatch) -> str | None:
    """The registry a match is about (for ``--check``), normalised."""
    value = match.fields.get("registry")
    if value:
        return value
    host = match.fields.get("host")
    return registry_name(host, match.fields.get("port")) if host else None
