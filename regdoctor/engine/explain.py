"""``explain``: name the cause of a pasted error, offline, with the fix.

```python
from regdoctor.engine.cache import load_catalog_cached
from regdoctor.engine.explain import explain

for match in explain(load_catalog_cached(text_only=True), pasted_text):
    print(match.lines, match.category, match.title, match.fields.get("registry"))
```

How a paste is read:

1. The text is split into lines (``\\n``; a trailing ``\\r`` is dropped). Each line is
   matched on its own, after ANSI colour codes are removed and ``\\"`` is unescaped (Docker
   daemon and kubelet logs quote their errors).
2. Every rule's regexes have *required literals* (:mod:`regdoctor.engine.literals`,
   computed when the rule loads): a rule's regexes run only on lines holding one of its
   literals. A long log (more than :data:`SCAN_THRESHOLD` lines) is first scanned as a
   whole with one trie regex of all literals, so that only lines with a hit are looked
   at.
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
what could be extracted. Nothing here touches the network or imports a network library.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from regdoctor.engine.extract import extract, image_fields, registry_name
from regdoctor.engine.loader import Catalog
from regdoctor.engine.schema import Rule, TextPattern
from regdoctor.engine.template import placeholder, render
from regdoctor.model import RemediationStep, Severity
from regdoctor.redact.secrets import redact
from regdoctor.reference.targets import InvalidReference, parse_target

__all__ = [
    "UNRECOGNISED",
    "TextMatch",
    "explain",
    "normalise_line",
]

#: The rule id of the "nothing recognised" result.
UNRECOGNISED = "regdoctor.unrecognised"
#: A line longer than this is matched on its first this many characters only.
MAX_LINE_CHARS = 16_384
#: At most this many line numbers are kept per match (``count`` has the total).
MAX_LINE_NUMBERS = 200
#: Up to this many lines, every line is looked at; longer logs are scanned for literals.
SCAN_THRESHOLD = 400
#: How many lines above (and below) a match are searched for the image it is about.
LOOKBACK = 5
LOOKAHEAD = 2
#: Lines looked at (and shown) when nothing is recognised.
_UNRECOGNISED_LINES = 400

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_ESCAPED_QUOTE = re.compile(r'\\+"')
_ERRORISH = re.compile(
    r"error|fail|denied|refused|unable|cannot|can't|could not|invalid|timeout|timed out|"
    r"unauthori[sz]ed|forbidden|not found|unknown|x509|\b[45]\d\d\b",
    re.IGNORECASE,
)


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
        }


def normalise_line(line: str) -> str:
    """A line as rules see it: no ANSI colour codes, ``\\"`` unescaped, no trailing CR,
    at most :data:`MAX_LINE_CHARS` characters."""
    if len(line) > MAX_LINE_CHARS:
        line = line[:MAX_LINE_CHARS]
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if '\\"' in line:
        line = _ESCAPED_QUOTE.sub('"', line)
    return line.rstrip("\r")


# --------------------------------------------------------------------------- the index


class _Index:
    """The text rules of a catalog and their literals, for the pre-filter."""

    __slots__ = ("_finder", "_scan", "always", "literals", "rules")

    def __init__(self, catalog: Catalog) -> None:
        self.rules: tuple[Rule, ...] = tuple(r for r in catalog.rules if r.text is not None)
        owners: dict[str, set[int]] = {}
        always: set[int] = set()
        for i, rule in enumerate(self.rules):
            found = rule.text.literals if rule.text is not None else None
            if not found:
                always.add(i)
                continue
            for literal in found:
                owners.setdefault(literal, set()).add(i)
        #: (literal, the rules that need it), longest first.
        self.literals: tuple[tuple[str, frozenset[int]], ...] = tuple(
            (lit, frozenset(owners[lit])) for lit in sorted(owners, key=lambda s: (-len(s), s))
        )
        #: Rules without a usable literal: tried on every line.
        self.always: frozenset[int] = frozenset(always)
        self._scan: re.Pattern[str] | None = None
        self._finder: tuple[re.Pattern[str], dict[str, frozenset[int]]] | None = None

    @property
    def finder(self) -> tuple[re.Pattern[str], dict[str, frozenset[int]]]:
        """For long logs: a regex reporting, at every position of a line, the longest
        literal starting there, and for each literal the rules of every literal inside it
        (a line holding "unauthorized" also holds "authorized")."""
        if self._finder is None:
            from regdoctor.engine.literals import trie_regex

            words = [lit for lit, _ in self.literals]
            owners: dict[str, frozenset[int]] = {}
            for word in words:
                found: set[int] = set()
                for other, rules in self.literals:
                    if other in word:
                        found |= rules
                owners[word] = frozenset(found)
            body = trie_regex(sorted(words), longest=True) or "(?!)"
            self._finder = (re.compile(f"(?=({body}))"), owners)
        return self._finder

    @property
    def scan(self) -> re.Pattern[str]:
        """Any literal, as a trie regex over lower-cased text (compiled on first use: only
        long logs need it)."""
        if self._scan is None:
            from regdoctor.engine.literals import trie_regex

            self._scan = re.compile(trie_regex([lit for lit, _ in self.literals]) or "(?!)")
        return self._scan


def build_index(catalog: Catalog) -> _Index:
    return _Index(catalog)


_INDEXES: dict[int, tuple[Catalog, _Index]] = {}


def _index(catalog: Catalog) -> _Index:
    cached = _INDEXES.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    index = build_index(catalog)
    if len(_INDEXES) > 8:
        _INDEXES.clear()
    _INDEXES[id(catalog)] = (catalog, index)
    return index


# --------------------------------------------------------------------------- matching


class _Hit:
    """One rule matching one line."""

    __slots__ = ("error_at", "groups", "rule", "span", "strength")

    def __init__(
        self,
        rule: Rule,
        span: tuple[int, int],
        groups: dict[str, str],
        strength: int,
        error_at: int = 0,
    ) -> None:
        self.rule = rule
        self.span = span
        self.groups = groups
        self.strength = strength  # how many regexes matched
        self.error_at = error_at  # where the error itself starts in the line


def _search(pat: TextPattern, line: str) -> re.Match[str] | None:
    try:
        return pat.pattern.search(line)
    except Exception:  # pragma: no cover - a compiled pattern does not raise on str
        return None


def match_rule(rule: Rule, line: str) -> _Hit | None:
    """Does ``rule``'s ``match.text`` hold on ``line``? Its span and named groups if so."""
    spec = rule.text
    if spec is None:
        return None
    found: list[re.Match[str]] = []
    for pat in spec.all:
        m = _search(pat, line)
        if m is None:
            return None
        found.append(m)
    if spec.any:
        for pat in spec.any:
            m = _search(pat, line)
            if m is not None:
                found.append(m)
                break
        else:
            return None
    for pat in spec.none:
        if _search(pat, line) is not None:
            return None
    if not found:
        return None
    start = min(m.start() for m in found)
    end = max(m.end() for m in found)
    groups: dict[str, str] = {}
    for m in found:
        for name, value in m.groupdict().items():
            if value and name in spec.extract:
                groups.setdefault(name, value)
    # Where the error itself starts: the last regex to start (with `all`, the context
    # comes first, e.g. "failed to fetch anonymous token: Get URL: x509: ...").
    error_at = max(m.start() for m in found)
    return _Hit(rule, (start, end), groups, len(found), error_at)


def _candidates(index: _Index, line: str, long_log: bool = False) -> set[int]:
    """The rules whose literals occur in ``line``.

    A short paste tests each literal with ``in`` (nothing to compile); a long log uses
    the finder regex, compiled once, which reads each line once.
    """
    wanted = set(index.always)
    low = line.lower()
    if long_log:
        finder, owners = index.finder
        for m in finder.finditer(low):
            wanted |= owners[m.group(1)]
        return wanted
    for literal, rules in index.literals:
        if literal in low:
            wanted |= rules
    return wanted


def _best_hit(index: _Index, line: str, long_log: bool = False) -> _Hit | None:
    best: tuple[tuple[int, int, int], _Hit] | None = None
    for i in _candidates(index, line, long_log):
        rule = index.rules[i]
        hit = match_rule(rule, line)
        if hit is None:
            continue
        key = (rule.text_priority, hit.strength, -i)
        if best is None or key > best[0]:
            best = (key, hit)
    return best[1] if best else None


def _candidate_lines(index: _Index, text: str, n_lines: int) -> Iterable[int]:
    """Indices of the lines that may match some rule, in order.

    Short pastes are simply read line by line; a long log is scanned once for every
    literal (a trie regex) and only the lines with a hit are looked at.
    """
    if index.always or n_lines <= SCAN_THRESHOLD:
        yield from range(n_lines)
        return
    low = text.lower()
    if len(low) != len(text):  # lower() changed lengths (rare letters): line by line
        yield from range(n_lines)
        return
    line_no = 0
    pos = 0
    search = index.scan.search
    while True:
        m = search(low, pos)
        if m is None:
            return
        line_no += low.count("\n", pos, m.start())
        yield line_no
        next_newline = low.find("\n", m.start())
        if next_newline < 0:
            return
        line_no += 1
        pos = next_newline + 1


class _Group:
    """The lines showing one distinct error."""

    __slots__ = ("count", "fields", "hit", "line", "lines")

    def __init__(self, hit: _Hit, line: str, fields: dict[str, str], lines: list[int]) -> None:
        self.hit = hit
        self.line = line
        self.fields = fields
        self.lines = lines
        self.count = 1


def _fields_for(hit: _Hit, line: str, lines: Sequence[str], index_no: int) -> dict[str, str]:
    fields = extract(line, hit.error_at)
    for name, value in hit.groups.items():
        fields[name] = value
    if "image" not in fields and "registry" not in fields:
        # The image named a few lines above ("docker pull IMAGE", "Trying to pull IMAGE"),
        # else in the next lines (a helper error, then the pull that failed for it).
        above = range(index_no - 1, max(-1, index_no - 1 - LOOKBACK), -1)
        below = range(index_no + 1, min(len(lines), index_no + 1 + LOOKAHEAD))
        for other in (*above, *below):
            found = image_fields(normalise_line(lines[other]))
            if found.get("image"):
                for key, value in found.items():
                    fields.setdefault(key, value)
                break
    return fields


def explain(catalog: Catalog, text: str) -> list[TextMatch]:
    """Every distinct registry error ``text`` shows, in order of first appearance.

    Never empty: when nothing is recognised the one result has category ``other``.
    """
    index = _index(catalog)
    lines = text.split("\n")
    groups: dict[tuple[Any, ...], _Group] = {}
    long_log = len(lines) > SCAN_THRESHOLD
    for i in _candidate_lines(index, text, len(lines)):
        line = normalise_line(lines[i])
        hit = _best_hit(index, line, long_log)
        if hit is None:
            continue
        fields = _fields_for(hit, line, lines, i)
        key = (hit.rule.id, fields.get("registry"), fields.get("host"), fields.get("image"))
        group = groups.get(key)
        if group is None:
            groups[key] = _Group(hit, line, fields, [i + 1])
        else:
            group.count += 1
            if len(group.lines) < MAX_LINE_NUMBERS:
                group.lines.append(i + 1)
    if not groups:
        return [_unrecognised(lines)]
    results = [_result(group) for group in groups.values()]
    results.sort(key=lambda m: m.lines[0])
    lead = max(
        range(len(results)),
        key=lambda j: (results[j].priority, -results[j].severity.rank, -results[j].lines[0]),
    )
    results[lead] = replace(results[lead], leading=True)
    return results


# --------------------------------------------------------------------------- results


def _sentence(text: str) -> str:
    """Fallback words without their mark, capitalised when they open the sentence
    ("The registry answers..."; a value such as "docker.io" is never capitalised)."""
    if text.startswith(_FALLBACK_MARK):
        text = text[1:2].upper() + text[2:]
    return text.replace(_FALLBACK_MARK, "")


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
        if not value or "****" in value:
            continue
        try:
            parse_target(value)
        except (InvalidReference, ValueError):
            continue
        return f"regdoctor check {shlex.quote(value)}"
    return None


#: How prose (titles, explanations) names a value the paste did not reveal; commands
#: keep a ``<name>`` placeholder to fill in.
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


def _prose_missing(name: str) -> str:
    fallback = PROSE_FALLBACK.get(name)
    return _FALLBACK_MARK + fallback if fallback else placeholder(name)


def _result(group: _Group) -> TextMatch:
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
    fields = _clean_fields(group.fields)
    context = template_context(fields)
    return TextMatch(
        rule=rule.id,
        category=rule.category,
        severity=rule.severity,
        confidence=rule.confidence.text,
        priority=rule.text_priority,
        title=_sentence(render(rule.text_title or rule.title, context, _prose_missing)),
        explanation=_sentence(
            render(rule.text_explanation or rule.explanation, context, _prose_missing)
        ),
        remediation=tuple(
            RemediationStep(
                text=render(step.text, context, placeholder),
                commands={
                    tool: render(cmd, context, placeholder) for tool, cmd in step.commands.items()
                },
            )
            for step in rule.remediation
        ),
        references=rule.references,
        lines=tuple(group.lines),
        count=group.count,
        line=redacted,
        span=span,
        fields=fields,
        check=suggest_check(fields),
    )


_FIELD_WORDS = (
    ("registry", "registry"),
    ("image", "image"),
    ("host", "host"),
    ("address", "address"),
    ("status", "HTTP status"),
    ("code", "registry error code"),
    ("platform", "platform"),
)


def _unrecognised(lines: Sequence[str]) -> TextMatch:
    shown_no = 0
    shown = ""
    fields: dict[str, str] = {}
    looked = 0
    for i, raw in enumerate(lines):
        if looked >= _UNRECOGNISED_LINES:
            break
        line = normalise_line(raw).strip()
        if not line:
            continue
        errorish = bool(_ERRORISH.search(line))
        if not shown or (errorish and not _ERRORISH.search(shown)):
            shown, shown_no = line, i + 1
        if errorish or len(lines) <= 20:
            looked += 1
            for key, value in extract(line).items():
                fields.setdefault(key, value)
    fields = _clean_fields(fields)
    found = [f"{word} {fields[key]}" for key, word in _FIELD_WORDS if fields.get(key)]
    if not shown:
        explanation = "The text is empty: there is nothing to explain."
    else:
        explanation = (
            "regdoctor has no rule for this text, so it cannot name the cause. "
            "It is either not a registry error, or one regdoctor does not know yet."
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
        )
    )
    return TextMatch(
        rule=UNRECOGNISED,
        category="other",
        severity=Severity.INFO,
        confidence="low",
        priority=0,
        title="No known registry error in this text",
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
