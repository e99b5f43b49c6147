"""What ``explain`` does when no rule matched: read the text again, then guess.

Loaded only on that path (``explain_report`` imports it when a scan found nothing), so
it costs nothing when a rule recognises the paste.

1. **Re-read the log line's message.** Logs wrap the client's error in their own
   framing: a JSON log line (``{"level":"error","msg":"..."}``, where Go escapes ``<``,
   ``>`` and ``&`` as ``\\u003c`` ...), logfmt (``time="..." level=error msg="..."``,
   with ``\\"``, ``\\\\`` and ``\\n`` escapes, as containerd and dockerd print), and klog
   or journal prefixes. :func:`unwrap_line` takes the message out, unescaped, one line
   for one line (line numbers stay right), and the rules run on that text. Most rules
   search anywhere in a line and already see through plain prefixes; what the unwrapping
   adds is the unescaping (``\\\\\\"``, ``\\u0026``, ``\\n`` inside a message).
2. **The nearest known message.** When the rules still find nothing, the text is
   compared (TF-IDF over words, cosine similarity) with the mined client message templates
   that map to a category (``fixtures/client-messages/``) and the tuned corpus of pasted
   errors (``fixtures/pasted/*.yaml``, not the held-out split). When the nearest one is
   close enough (:data:`Index.threshold`, chosen by cross-validation on the tuned corpus
   by ``scripts/build_fallback.py``) and is not filed under ``other``, the answer is
   that category with ``confidence: low``, rule ``regdoctor.likely`` and the nearest
   message quoted: a lead to check, not a diagnosis. Below it, ``explain`` abstains
   ("no known registry error") as before.

The index (``fallback-index.json`` next to this module) is built offline by
``scripts/build_fallback.py``; a test keeps it in step with its inputs.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regdoctor.engine.explain_index import index_of
from regdoctor.engine.explain_stream import _CONTROL as _BINARY_CONTROL  # is_binary_line's
from regdoctor.engine.explain_stream import MAX_LINE_CHARS, is_binary_line, scan
from regdoctor.model import RemediationStep, Severity

if TYPE_CHECKING:
    from regdoctor.engine.explain_index import Index as RuleIndex
    from regdoctor.engine.explain_stream import ScanResult
    from regdoctor.engine.loader import Catalog

__all__ = [
    "LIKELY",
    "Index",
    "Nearest",
    "guess",
    "load_index",
    "tokens",
    "unwrap_line",
    "unwrapped",
]

#: The rule id of a fallback answer.
LIKELY = "regdoctor.likely"
INDEX_PATH = Path(__file__).with_name("fallback-index.json")

# ----------------------------------------------------------------- 1. unwrapping

#: klog: ``E1206 12:00:00.123456    1234 file.go:12] message``.
_KLOG = re.compile(r"^\s*[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [\w.\-/]+:\d+\]\s?")
#: syslog/journal: ``Dec 06 12:00:00 host unit[123]: message``.
_JOURNAL = re.compile(r"^\s*[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [\w.@\-/]+(?:\[\d+\])?: ")
#: logfmt message and error values, quoted with Go's ``%q`` escapes.
_LOGFMT = re.compile(r'(?:^|\s)(msg|error|err)="((?:[^"\\]|\\.)*)"')
_KLOG_MESSAGE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_GO_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)")
_JSON_KEYS = ("msg", "message", "error", "err")
#: A structured logger's dotted field that carries a message too (zap, logr): trivy-operator
#: logs a failed scan job as ``"msg":"Scan job container"`` with the job's own error in
#: ``"status.message"`` (pkg/vulnerabilityreport/controller/scanjob.go, v0.1x).
_JSON_KEY_SUFFIXES = tuple(f".{key}" for key in _JSON_KEYS)
_SIMPLE = {"n": " ", "t": " ", "r": " ", '"': '"', "\\": "\\", "'": "'"}


def _go_unquote(text: str) -> str:
    """Undo Go's ``%q`` / JSON escaping (``\\n`` and ``\\t`` become spaces: one line stays
    one line)."""

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] in "ux" and len(code) > 1:
            char = chr(int(code[1:], 16))
            # a control byte stays the escape Go printed (``\x15``): text, not binary
            if char.isspace():
                return " "
            # a control byte that would make the line read as binary data stays the escape
            # Go printed (``\x15``); ESC is decoded (colour codes are removed later)
            return f"\\x{ord(char):02x}" if _BINARY_CONTROL.match(char) else char
        return _SIMPLE.get(code, code)

    return _GO_ESCAPE.sub(one, text)


def _json_message(line: str) -> str | None:
    start = line.find("{")
    if start < 0 or not line.rstrip().endswith("}"):
        return None
    try:
        data = json.loads(line[start:])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    parts = [str(data[key]) for key in _JSON_KEYS if isinstance(data.get(key), str)]
    parts += [
        value
        for key, value in data.items()
        if isinstance(value, str) and key.endswith(_JSON_KEY_SUFFIXES)
    ]
    if not parts:
        return None
    # A multi-line message (``\n`` in the JSON string) stays on its one line, as Go's
    # escapes do in logfmt: line numbers stay the original ones.
    return line[:start] + " ".join(": ".join(parts).split())


def unwrap_line(line: str) -> str:
    """The message a log line carries, unescaped, on one line (``line`` itself when it has
    no framing to remove). Like the rules, it reads the first :data:`MAX_LINE_CHARS`
    characters of a line only."""
    out = _JOURNAL.sub("", line[:MAX_LINE_CHARS], count=1)
    klog = _KLOG.match(out)
    stripped = out[klog.end() :] if klog else out
    message = _json_message(stripped)
    if message is None:
        values = [value for _key, value in _LOGFMT.findall(stripped)]
        if klog:
            # klog's structured form: "message" key="value" ...
            head = _KLOG_MESSAGE.match(stripped)
            if head:
                values.insert(0, head.group(1))
        message = ": ".join(_go_unquote(value) for value in values) if values else stripped
    if "\\" in message:
        message = _go_unquote(message)
    return message


def unwrapped(catalog: Catalog | RuleIndex, result: ScanResult) -> str | None:
    """The lines a scan read (its first lines, as kept for the "nothing recognised"
    answer) with their log framing removed, when the rules find something in that text;
    else ``None``. One line for one line: the head starts at line 1 and is contiguous,
    so line numbers stay the original ones."""
    lines = [unwrap_line(raw) for _no, raw in result.head]
    if all(new == raw[:MAX_LINE_CHARS] for new, (_no, raw) in zip(lines, result.head, strict=True)):
        return None
    text = "\n".join(lines)
    return text if scan(index_of(catalog), (text,)).groups else None


# ----------------------------------------------------------------- 2. nearest message

#: Lines that look like an error (as ``explain`` judges them for its "nothing
#: recognised" answer); when a text has some, only they are compared.
ERRORISH = re.compile(
    r"error|fail|denied|refused|unable|cannot|can't|could not|invalid|timeout|timed out|"
    r"unauthori[sz]ed|forbidden|not found|unknown|x509|\b[45]\d\d\b",
    re.IGNORECASE,
)
#: Words, and three-digit numbers (HTTP statuses); other numbers, hashes' digits and
#: punctuation are dropped.
_TOKEN = re.compile(r"[a-z][a-z0-9_]*(?:'[a-z]+)?|\b\d{3}\b")
#: What docker prints around every pull, failed or not (docker/cli's "Unable to find
#: image '%s' locally" before it pulls, the layer progress lines, the hint to read
#: ``--help``): no cause is in them.
_CHATTER = re.compile(
    r"Unable to find image '[^']*' locally|^\s*See '[\w -]+ --help'\.?\s*$|"
    r"^\s*[\w.-]+: (?:Pulling (?:fs layer|from \S+)|Waiting|Download complete|Pull complete|"
    r"Verifying Checksum|Already exists|Downloading|Extracting)\b"
)
#: URLs, host names, addresses, paths and image references: they name where, not what.
_ADDRESS = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*|[\w-]+(?:[./][\w-]+)+/?")
#: Digests, ids and other long runs of hex digits.
_HEXISH = re.compile(r"(?=[0-9a-f]*\d)[0-9a-f]{7,}", re.ASCII)
#: Lines compared at most.
MAX_LINES = 400


def compared_lines(lines: Iterable[str]) -> list[str]:
    """The lines of a text the comparison uses: the error-looking ones, else all (binary
    data is skipped, as the rules skip it)."""
    text = (unwrap_line(raw) for raw in lines if not is_binary_line(raw))
    kept = [line for line in text if line.strip() and not _CHATTER.search(line)][:MAX_LINES]
    errorish = [line for line in kept if ERRORISH.search(line)]
    return errorish or kept


def tokens(lines: Iterable[str]) -> Counter[str]:
    """Word counts of a text, as the index counts them."""
    counts: Counter[str] = Counter()
    for line in compared_lines(lines):
        line = _ADDRESS.sub(" ", line.lower())
        counts.update(w for w in _TOKEN.findall(line) if not _HEXISH.fullmatch(w))
    return counts


@dataclass(frozen=True)
class Nearest:
    """The known message closest to a text."""

    category: str
    similarity: float
    quote: str
    source: str
    kind: str  # "template" or "paste"


class Index:
    """TF-IDF vectors of the known messages (built from the shipped word counts)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.threshold: float = float(data["threshold"])
        docs: list[Mapping[str, Any]] = list(data["docs"])
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(doc["terms"].keys())
        n = len(docs)
        self.idf = {word: math.log((1 + n) / (1 + k)) + 1 for word, k in df.items()}
        self.docs = docs
        self.vectors = [self.vector(doc["terms"]) for doc in docs]
        self.postings: dict[str, list[int]] = {}
        for i, vec in enumerate(self.vectors):
            for word in vec:
                self.postings.setdefault(word, []).append(i)

    def vector(self, counts: Mapping[str, int]) -> dict[str, float]:
        vec = {
            word: (1 + math.log(k)) * self.idf[word]
            for word, k in counts.items()
            if k > 0 and word in self.idf
        }
        norm = math.sqrt(sum(x * x for x in vec.values())) or 1.0
        return {word: x / norm for word, x in vec.items()}

    def nearest(self, counts: Mapping[str, int], skip: int | None = None) -> Nearest | None:
        """The closest known message (``skip``: a document to leave out, for
        cross-validation), or ``None`` when no word is shared."""
        query = self.vector(counts)
        scores: dict[int, float] = {}
        for word, weight in query.items():
            for i in self.postings.get(word, ()):
                scores[i] = scores.get(i, 0.0) + weight * self.vectors[i][word]
        if skip is not None:
            scores.pop(skip, None)
        if not scores:
            return None
        best = max(scores, key=lambda i: (scores[i], -i))
        doc = self.docs[best]
        return Nearest(
            category=str(doc["category"]),
            similarity=scores[best],
            quote=str(doc["quote"]),
            source=str(doc["source"]),
            kind=str(doc["kind"]),
        )

    def guess(self, counts: Mapping[str, int]) -> Nearest | None:
        """The nearest message when it is close enough and names a cause, else ``None``."""
        near = self.nearest(counts)
        if near is None or near.similarity < self.threshold or near.category == "other":
            return None
        return near


@lru_cache(maxsize=1)
def load_index() -> Index:
    return Index(json.loads(INDEX_PATH.read_text(encoding="utf-8")))


def guess(
    head: Iterable[tuple[int, str]], remediation: tuple[RemediationStep, ...]
) -> dict[str, Any] | None:
    """What turns the "nothing recognised" answer (whose ``remediation`` is given) into a
    guess, as ``TextMatch`` field values; ``None`` to abstain."""
    from regdoctor.redact.secrets import redact

    near = load_index().guess(tokens(raw for _no, raw in head))
    if near is None:
        return None
    quote = redact(near.quote)
    steps = (
        RemediationStep(
            text=f"Read the `{near.category}` rules in docs/rules.md and see whether their "
            "description fits; this answer comes from word similarity, not from a rule."
        ),
        *remediation,
    )
    return {
        "rule": LIKELY,
        "category": near.category,
        "severity": Severity.WARNING,
        "confidence": "low",
        "title": f"Likely {near.category}: close to a known message, but no rule matched",
        "explanation": (
            "No rule recognised this text. The closest known message (similarity "
            f"{near.similarity:.2f}, {near.source}) is filed under {near.category}: "
            f'"{quote}". This is a guess from the words the texts share, not a '
            "diagnosis: check it live, or compare the texts yourself."
        ),
        "remediation": steps,
        "fallback": {
            "similarity": round(near.similarity, 3),
            "nearest": quote,
            "source": near.source,
            "kind": near.kind,
        },
    }
