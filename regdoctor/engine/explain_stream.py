"""Reading a paste or a log of any size for ``explain``, in bounded memory.

:class:`Scanner` takes the text in chunks of any size (``feed``) and keeps only:

* a window of :data:`LOOKBACK` lines before and :data:`LOOKAHEAD` lines after the line
  being read (the image named just above an error fills in what the error line lacks);
* at most :data:`MAX_DISTINCT` distinct errors, each with its first line and up to
  :data:`MAX_LINE_NUMBERS` line numbers. Errors beyond that are counted, not kept
  (``omitted_lines``, ``omitted_distinct``: at least that many more distinct errors);
* the first lines of the input (for the "nothing recognised" answer).

Lines that are binary data (NUL or other control bytes, or a high share of bytes that
are not UTF-8) are skipped and counted: a "401" inside random bytes is not an HTTP
status. Text up to :data:`SCAN_THRESHOLD` lines is read line by line; a longer log block
by block, each block searched once for the literals of every rule
(:mod:`regdoctor.engine.explain_index`): only the lines holding one are read, and only the
regexes whose literals they hold are run.
"""

from __future__ import annotations

import functools
import re
from collections import deque
from collections.abc import Iterable
from typing import Any

from regdoctor.engine.explain_index import Hit, Index, best_hit
from regdoctor.engine.extract import extract, image_fields

__all__ = [
    "LOOKAHEAD",
    "LOOKBACK",
    "MAX_DISTINCT",
    "MAX_LINE_CHARS",
    "MAX_LINE_NUMBERS",
    "Group",
    "ScanResult",
    "Scanner",
    "is_binary_line",
    "normalise_line",
    "unfold_yaml",
    "unwrap",
    "unwrap_terminal",
]

#: A line longer than this is matched on its first this many characters only.
MAX_LINE_CHARS = 16_384
#: At most this many line numbers are kept per error (``count`` has the total).
MAX_LINE_NUMBERS = 200
#: At most this many distinct errors are kept; more are counted only.
MAX_DISTINCT = 1_000
#: How many lines above (and below) a match are searched for the image it is about.
LOOKBACK = 5
LOOKAHEAD = 2
#: Text is handled in blocks of about this many characters.
BLOCK_CHARS = 1 << 20
#: Up to this many lines, every line is looked at; longer logs are scanned for literals.
SCAN_THRESHOLD = 400
#: The narrowest terminal width taken for a hard wrap.
MIN_WRAP_WIDTH = 60
#: Lines kept from the start of the input for the "nothing recognised" answer.
HEAD_LINES = 400
#: Distinct omitted errors are counted exactly up to this many, then "at least".
_OMITTED_KEYS = 100_000
_SHAPES = 20_000

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
#: Buildkite's per-line timestamp (an APC string): removed whole, before other escapes.
_BK_TIME = re.compile(r"\x1b_bk;t=\d+\x07")
_ESCAPED_QUOTE = re.compile(r'\\+"')
#: A Go ``\xNN`` escape whose backslash a log escaped again (``\\x15``).
_ESCAPED_HEX = r"\\{2,}(?=x[0-9A-Fa-f]{2})"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")
#: Dotted names and addresses, then numbers: what differs between two lines of one error.
_DOTTED = r"(?<![\w-])([\w-]++(?:\.[\w-]+)+)"
_NUMBER = r"\d+"


#: What CI consoles and log viewers put before each line, as a whole (each optional part
#: is tried once, in this order): Buildkite's timestamp (an APC escape, ``ESC _bk;t=MS
#: BEL``); an RFC 3339 or ``HH:MM:SS`` timestamp, bare (GitHub Actions' raw log) or in
#: brackets (Jenkins' Timestamper); GitHub Actions' ``##[error]`` workflow command; a
#: journal prefix (``Dec 06 12:00:00 host unit[pid]:``); the columns of a ``kubectl
#: describe`` Events table (``Warning  Failed  12s (x3 over 1m)  kubelet, node  ``) or of
#: ``kubectl get events`` (``12s  Warning  Failed  pod/web-1  ``); OpenShift's web
#: console Events table copied as text (``3:21:09 PM | Warning | Failed | ``); ``argo
#: get``'s STEP, PODNAME and DURATION columns (`` └---✖ step  pod-123  5s  ``). Before
#: them all, a Markdown quote's ``> ``. What is left keeps its own indentation, so a
#: wrapped message's continuation still reads as one.
_FRAME_PREFIX = (
    r"(?:> ?)*"
    r"(?:\x1b_bk;t=\d+\x07)?"
    r"(?:\[?(?:\d{4}-\d\d-\d\d[T ])?\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\] ?"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d) )?"
    r"(?:##\[(?:error|warning|notice|debug|info)\])?"
    r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [\w.@\-/]+(?:\[\d+\])?: )?"
    r"(?:\s*(?:\d+[smhd]\w*|<unknown>)\s+(?=(?:Normal|Warning)\s))?"
    r"(?:\s*(?:Normal|Warning) {2,}[A-Za-z]+ {2,}"
    r"(?:(?:<unknown>|[\w.]+(?: \(x\d+ over [\w.]+\))?) {2,}[\w.-]+(?:, [\w.-]+)?"
    r"|[a-z]+/[\w.-]+)"
    r" {2,})?"
    r"(?:\d\d?:\d\d:\d\d [AP]M \| (?:[\w.-]+ \| ){0,2}(?:Normal|Warning) \| [\w-]+ \| )?"
    r"(?:\s*[\u2514\u251c\u2502\u00b7-]*\s*[\u2714\u2716\u25f7\u25cb\u26a0]"
    r" \S+ {2,}\S+ {2,}\d\S* {2,})?"
)
#: The commands whose name PowerShell puts before their first error line (``docker : ``,
#: a ``NativeCommandError``), with ``.exe`` or not.
_NATIVE_COMMANDS = frozenset(
    [
        "docker",
        "podman",
        "kubectl",
        "oc",
        "helm",
        "nerdctl",
        "crictl",
        "ctr",
        "skopeo",
        "buildah",
        "crane",
    ]
)
#: GitLab Runner's suffix on its job log lines: `` (manager.go:237:0s)``, the source line
#: that printed it and how long it took.
_FRAME_SUFFIX = r" \([\w-]+\.go:\d+:[\d.hms]+\)$"
#: OpenShift's web console glues an event's count to its message when the table is copied
#: (``...: denied3 times in the last 47 minutes``).
_COUNT_SUFFIX = r"\d+ times in the last (?:\d+ )?(?:second|minute|hour|day)s?$"
#: PowerShell's record of a native command's error (``At line:1 char:1``, ``+ docker pull
#: x``, ``+ ~~~~``, ``+ CategoryInfo : NotSpecified: (Error response ...ame or
#: password:String) [], RemoteException``): the message again, cut in its middle.
_POWERSHELL_RECORD = (
    r"^\s*(?:At line:\d+ char:\d+$|At \S.*:\d+ char:\d+$|\+ ~+$"
    r"|\+ (?:CategoryInfo|FullyQualifiedErrorId) +: )"
)
#: A message quoted as the value of a key at the end of the line: ``"message": "..."``
#: (``-o json``), ``message: '...'`` (``-o yaml``), ``error="..."`` (logfmt), or Tekton's
#: ``... The pod errored with the message: "..."."``. The closing quote (and a comma or
#: full stop before or after it) would keep a rule anchored at the message's end from
#: seeing it.
_QUOTED_VALUE = (
    r"^\s*(?:.*?\bwith the message: |(?:- )?\"?(?:message|msg|error|err)\"?(?:: |=))"
    r"([\"'])(.*?)\.?\1[.,]?$"
)
#: Typographic quotes (chat clients, word processors) and no-break spaces, as ASCII.
_TYPOGRAPHIC = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2032": "'",
        "\u00a0": " ",
        "\u202f": " ",
    }
)
#: The first characters a framed line can start with (the framing regexes are compiled
#: only when a line starts with one: a plain "Error response ..." never pays for them).
_FRAME_START = frozenset("\x1b[#0123456789 \tJFMASONDW<>+")


#: How a line holding a quoted message can end.
_QUOTE_ENDS = frozenset("\"',.")


def normalise_line(line: str) -> str:
    """A line as rules see it: no ANSI colour codes, ``\\"`` unescaped, no trailing CR,
    no CI console, journal or ``kubectl`` events framing (:data:`_FRAME_PREFIX`, GitLab
    Runner's :data:`_FRAME_SUFFIX`), at most :data:`MAX_LINE_CHARS` characters."""
    if len(line) > MAX_LINE_CHARS:
        line = line[:MAX_LINE_CHARS]
    if "\x1b" in line:
        line = _ANSI.sub("", _BK_TIME.sub("", line))
    if not line.isascii():
        line = line.translate(_TYPOGRAPHIC)
    if '\\"' in line:
        line = _ESCAPED_QUOTE.sub('"', line)
    if "\\\\x" in line:
        # Go's "\x15" escaped once more by a JSON or logfmt log: read it once, as text
        line = _rx(_ESCAPED_HEX).sub(r"\\", line)
    line = line.rstrip("\r")
    if line.endswith("s)"):
        line = _rx(_FRAME_SUFFIX).sub("", line)
    elif " in the last " in line:
        line = _rx(_COUNT_SUFFIX).sub("", line)
    if line[:1] in _FRAME_START:
        if line.lstrip()[:1] in "+A" and _rx(_POWERSHELL_RECORD).match(line):
            return ""
        frame = _rx(_FRAME_PREFIX).match(line)
        if frame is not None and frame.end():
            line = line[frame.end() :]
    if " : " in line[:16]:
        command, _sep, rest = line.partition(" : ")
        if command.removesuffix(".exe") in _NATIVE_COMMANDS:
            line = rest
    if line[-1:] in _QUOTE_ENDS:
        quoted = _rx(_QUOTED_VALUE).match(line)
        if quoted is not None:
            value = quoted.group(2)
            line = value.replace("''", "'") if quoted.group(1) == "'" else value
    return line


def _visible_width(line: str) -> int:
    line = line.rstrip("\r")
    return len(_ANSI.sub("", _BK_TIME.sub("", line)) if "\x1b" in line else line)


def _opening(line: str) -> str:
    """How a line starts, digits blanked: rows of one log template start alike."""
    return _rx(_NUMBER).sub("0", line.lstrip()[:6])


def unwrap_terminal(lines: list[str]) -> tuple[list[str], list[int] | None]:
    """A short paste copied from a terminal that hard-wrapped its long lines, joined back
    (``lines`` and ``None`` when it was not wrapped).

    A terminal cuts a line at its width W, mid-word, and goes on at the start of the next
    row: the wrapped rows are exactly W characters wide (colour codes take no column) and
    are the widest of the paste. Two or more *different* rows of the widest width, each
    followed by a non-empty row that does not start as it does, at least one followed by a
    narrower row (the wrapped line's tail), are taken for that. A log of one template
    (every line as wide, each starting with a timestamp) is not; nor is one long line
    repeated (a single wrapped row is tried joined with the next only when it shows no
    error alone, in :meth:`Scanner._read_line`). Each row of
    width W is then joined with the row after it, with nothing in between. Returns the
    joined lines and, for each, the offset of its first row (its line number)."""
    widths = [_visible_width(line) for line in lines]
    if len(lines) < 2:
        return lines, None
    width = max(widths)
    if width < MIN_WRAP_WIDTH:
        return lines, None
    rows = [i for i, w in enumerate(widths[:-1]) if w == width and lines[i + 1].strip()]
    if (
        len({lines[i] for i in rows}) < 2
        or any(_opening(lines[i + 1]) == _opening(lines[i]) for i in rows)
        or all(widths[i + 1] == width for i in rows)
    ):
        return lines, None
    joined: list[str] = []
    numbers: list[int] = []
    i = 0
    while i < len(lines):
        start, text = i, lines[i].rstrip("\r")
        while widths[i] == width and i + 1 < len(lines) and lines[i + 1].strip():
            i += 1
            text += lines[i].rstrip("\r")
        joined.append(text)
        numbers.append(start)
        i += 1
    return joined, numbers


#: A YAML ``message:`` key (``kubectl get events -o yaml``, a status condition) whose
#: value the emitter may fold over the next, more indented lines.
_YAML_MESSAGE = r"^(\s*(?:- )?)message: "


def unfold_yaml(lines: list[str]) -> tuple[list[str], list[int] | None]:
    """A YAML ``message:`` value folded over several lines, joined back into one line
    (``lines`` and ``None`` when there is none).

    go-yaml (``kubectl -o yaml``) folds a long scalar at 80 columns: single-quoted
    (``message: 'Failed to pull image "x": rpc error: ...``), plain, or as a ``>-``
    block, the rest of the value on the following lines, indented deeper than the key.
    Those lines are joined to the key's line with a space (what folding means) and read
    as one; returns the lines and, for each, the offset of its first row."""
    if not any("message:" in line for line in lines):
        return lines, None
    pattern = _rx(_YAML_MESSAGE)
    joined: list[str] = []
    numbers: list[int] = []
    folded = False
    i = 0
    while i < len(lines):
        start, text = i, normalise_line(lines[i])
        key = pattern.match(text)
        if key is not None:
            # Columns as printed: a table or log prefix before each row (``kubectl get
            # events``, ``argo get``) leaves the YAML's indentation where it was.
            indent = _column(lines[i], text[key.end(1) :])
            parts = [text.rstrip()]
            while i + 1 < len(lines):
                following = normalise_line(lines[i + 1])
                if not following.strip() or _column(lines[i + 1], following) <= indent:
                    break
                if parts[-1].endswith("\\"):
                    # a double-quoted scalar's escaped line break: no space there
                    parts[-1] = parts[-1][:-1] + following.strip().removeprefix("\\")
                else:
                    parts.append(following.strip())
                i += 1
            if len(parts) > 1:
                folded = True
                # a ">-" block: its indicator is not part of the message
                text = _rx(r"(: )[>|][+-]? ").sub(r"\1", " ".join(parts), count=1)
            else:
                text = lines[start]
        else:
            text = lines[start]
        joined.append(text)
        numbers.append(start)
        i += 1
    return (joined, numbers) if folded else (lines, None)


def _column(raw: str, text: str) -> int:
    """The column where ``text`` (a normalised line's words) starts in the ``raw`` row."""
    words = text.strip()[:24]
    at = raw.find(words) if words else -1
    return at if at >= 0 else len(text) - len(text.lstrip())


def unwrap(lines: list[str]) -> tuple[list[str], list[int] | None]:
    """A short paste's folded YAML messages (:func:`unfold_yaml`) and a terminal's hard
    wrap (:func:`unwrap_terminal`) joined back (YAML again after the wrap: a terminal may
    have wrapped the YAML); the offsets of each line's first row."""
    numbers: list[int] | None = None
    for step in (unfold_yaml, unwrap_terminal, unfold_yaml):
        lines, offsets = step(lines)
        if offsets is not None:
            numbers = offsets if numbers is None else [numbers[j] for j in offsets]
    return lines, numbers


def is_binary_line(line: str) -> bool:
    """Binary data rather than text: a NUL byte, two or more other control bytes (tab, CR
    and ESC are text), or more than a quarter of the characters not decodable as UTF-8.
    Random bytes hold about one control byte in nine and undecodable bytes in half."""
    if "\x00" in line:
        return True
    bad = line.count("\ufffd")
    if bad * 4 > len(line):
        return True
    control = _CONTROL.search(line)
    return control is not None and _CONTROL.search(line, control.end()) is not None


class Group:
    """The lines showing one distinct error."""

    __slots__ = ("count", "fields", "hit", "line", "lines")

    def __init__(self, hit: Hit, line: str, fields: dict[str, str], line_no: int) -> None:
        self.hit = hit
        self.line = line
        self.fields = fields
        self.lines = [line_no]
        self.count = 1

    def add(self, line_no: int) -> None:
        self.count += 1
        if len(self.lines) < MAX_LINE_NUMBERS:
            self.lines.append(line_no)


class ScanResult:
    """What a scan found (a plain class: cheaper to define at start-up than a dataclass)."""

    __slots__ = (
        "binary_lines",
        "groups",
        "head",
        "lines",
        "omitted_distinct",
        "omitted_distinct_capped",
        "omitted_lines",
    )

    def __init__(
        self,
        groups: list[Group],
        lines: int,
        head: list[tuple[int, str]],
        binary_lines: int = 0,
        omitted_lines: int = 0,
        omitted_distinct: int = 0,
        omitted_distinct_capped: bool = False,
    ) -> None:
        self.groups = groups
        self.lines = lines
        self.head = head
        self.binary_lines = binary_lines
        self.omitted_lines = omitted_lines
        self.omitted_distinct = omitted_distinct
        self.omitted_distinct_capped = omitted_distinct_capped


class Scanner:
    """Feed text in chunks, then ``finish()``; memory stays bounded whatever the size."""

    def __init__(self, index: Index, max_distinct: int = MAX_DISTINCT) -> None:
        self.index = index
        self.max_distinct = max_distinct
        self.groups: dict[tuple[Any, ...], Group] = {}
        self._by_shape: dict[tuple[str, tuple[str, ...]], Group] = {}
        self._shape_rule: dict[str, Hit | None] = {}
        self._omitted: set[int] = set()
        self.omitted_lines = 0
        self.omitted_capped = False
        self.binary_lines = 0
        self.head: list[tuple[int, str]] = []
        self._pending = ""  # text after the last newline
        self._window: deque[str] = deque(maxlen=LOOKBACK)  # lines before the buffer
        self._buffer: list[str] = []  # complete lines not yet read
        self._first_line = 1  # line number of _buffer[0]
        self._size = 0
        self._long: bool | None = None  # decided once more than SCAN_THRESHOLD lines came
        self._widest = 0  # a short paste's widest row (a terminal may have wrapped it)

    # ------------------------------------------------------------------ input
    def feed(self, text: str) -> None:
        if not text:
            return
        text = self._pending + text
        cut = text.rfind("\n")
        if cut < 0:
            self._pending = text
            if len(text) > 4 * BLOCK_CHARS:  # one endless line: read what we have
                self._buffer.append(text)
                self._pending = ""
                self._size += len(text)
                self._drain(final=False)
            return
        self._pending = text[cut + 1 :]
        lines = text[:cut].split("\n")
        self._buffer.extend(lines)
        self._size += cut
        if self._long is None and len(self._buffer) > SCAN_THRESHOLD:
            self._long = True
        if self._size >= BLOCK_CHARS:
            self._drain(final=False)

    def finish(self) -> ScanResult:
        if self._pending:
            self._buffer.append(self._pending)
            self._pending = ""
        if self._long is None:
            self._long = len(self._buffer) > SCAN_THRESHOLD
        self._drain(final=True)
        total = self._first_line - 1
        return ScanResult(
            groups=list(self.groups.values()),
            lines=total,
            head=self.head,
            binary_lines=self.binary_lines,
            omitted_lines=self.omitted_lines,
            omitted_distinct=len(self._omitted),
            omitted_distinct_capped=self.omitted_capped,
        )

    # ------------------------------------------------------------------ reading
    def _drain(self, final: bool) -> None:
        buffer = self._buffer
        if not buffer:
            return
        if self._long is None:
            self._long = True
        stop = len(buffer) if final else max(0, len(buffer) - LOOKAHEAD)
        if len(self.head) < HEAD_LINES:
            for offset, raw in enumerate(buffer[: HEAD_LINES - len(self.head)]):
                self.head.append((self._first_line + offset, raw))
        window = list(self._window)
        context = window + buffer
        base = len(window)
        if self._long:
            block = "\n".join(buffer[:stop])
            for i, found in self.index.scan_block(block):
                if i >= stop:
                    break
                self._read_line(context, base + i, self._first_line + i, False, found)
        else:
            lines, numbers = unwrap(buffer[:stop])
            self._widest = max(map(_visible_width, lines), default=0)
            if numbers is None:
                for i in range(stop):
                    self._read_line(context, base + i, self._first_line + i, True)
            else:
                context = window + lines
                for i, offset in enumerate(numbers):
                    self._read_line(context, base + i, self._first_line + offset, True)
        self._window.extend(buffer[max(0, stop - LOOKBACK) : stop])
        self._buffer = buffer[stop:]
        self._first_line += stop
        self._size = sum(len(x) + 1 for x in self._buffer)

    def _read_line(
        self,
        context: list[str],
        at: int,
        line_no: int,
        short: bool,
        found: set[int] | None = None,
    ) -> None:
        """Read one line; ``found``: the literal ids the block search saw in it (``None``:
        search the line itself, as normalised)."""
        raw = context[at]
        line = normalise_line(raw)
        if not line.strip():
            return
        if is_binary_line(line):
            self.binary_lines += 1
            return
        if found is not None and len(raw) > MAX_LINE_CHARS:
            found = None  # literals past the cut do not count
        # a short paste: one `in` per literal, or the automaton once the process has
        # read many lines (Index.found); a long log: the automaton
        search = None if short else True
        if found is None:
            found = self.index.found(line, search)
        if len(self.groups) >= self.max_distinct:
            self._overflow(line, line_no, found)
            return
        hit = best_hit(self.index, line, search, found)
        if short and at + 1 < len(context):
            # A message hard-wrapped in the paste: try it joined with its continuation,
            # an indented line (when the line alone says nothing), or the row after the
            # widest row, a terminal's wrap (also when the row alone matched a rule, if
            # the row after it matches none and the whole matches a more specific one:
            # "x509: certificate" cut before "has expired").
            # A row as wide as the widest may be cut by the terminal (its tail may start
            # with a space: PowerShell cuts at the width, whatever is there); the joined
            # reading wins only when it names a more specific cause (a tie is no proof of
            # a wrap: the widest row is often the error line itself).
            # An indented continuation is joined with one space, as before.
            following = normalise_line(context[at + 1])
            joined = ""
            if following.strip():
                indented = following[:1] in (" ", "\t")
                candidate = (
                    line.rstrip() + " " + following.strip() if indented else line + following
                )
                widest = _visible_width(raw) == self._widest >= MIN_WRAP_WIDTH
                if (indented and hit is None) or (
                    widest and (hit is None or best_hit(self.index, following, None) is None)
                ):
                    joined = candidate
            if joined:
                again = best_hit(self.index, joined, None)
                if again is not None and (
                    hit is None
                    or (again.rule.text_priority, again.strength)
                    > (hit.rule.text_priority, hit.strength)
                ):
                    hit, line = again, joined
        if hit is None:
            return
        fields = self._fields_for(hit, line, context, at)
        key = (hit.rule.id, fields.get("registry"), fields.get("host"), fields.get("image"))
        group = self.groups.get(key)
        if group is None:
            self.groups[key] = Group(hit, line, fields, line_no)
        else:
            group.add(line_no)

    def _overflow(self, line: str, line_no: int, found: set[int]) -> None:
        """Past the cap: no new group. A line of the same shape (same words, same hosts)
        as a kept error counts for it; any other error line is counted as omitted."""
        if not self._by_shape:
            # First time past the cap: index the kept errors by shape (only now, so that
            # ordinary input never pays for it).
            for kept in self.groups.values():
                kept_shape, kept_hosts = _shape(kept.line)
                self._by_shape.setdefault((kept_shape, kept_hosts), kept)
                self._shape_rule.setdefault(kept_shape, kept.hit)
        shape, hosts = _shape(line)
        if shape in self._shape_rule:
            hit = self._shape_rule[shape]
        else:
            hit = best_hit(self.index, line, True, found)
            if len(self._shape_rule) >= _SHAPES:
                self._shape_rule.clear()
            self._shape_rule[shape] = hit
        if hit is None:
            return
        group = self._by_shape.get((shape, hosts))
        if group is not None:
            group.add(line_no)
            return
        self.omitted_lines += 1
        if len(self._omitted) < _OMITTED_KEYS:
            self._omitted.add(hash((hit.rule.id, hosts)))
        else:
            self.omitted_capped = True

    @staticmethod
    def _fields_for(hit: Hit, line: str, context: list[str], at: int) -> dict[str, str]:
        fields = extract(line, hit.error_at)
        for name, value in hit.groups.items():
            fields[name] = value
        if "image" not in fields and "registry" not in fields:
            # The image named a few lines above ("docker pull IMAGE", "Trying to pull
            # IMAGE"), else in the next lines (a helper error, then the pull it failed).
            above = range(at - 1, max(-1, at - 1 - LOOKBACK), -1)
            below = range(at + 1, min(len(context), at + 1 + LOOKAHEAD))
            for other in (*above, *below):
                found = image_fields(normalise_line(context[other]))
                if found.get("image"):
                    for key, value in found.items():
                        fields.setdefault(key, value)
                    break
        return fields


def _shape(line: str) -> tuple[str, tuple[str, ...]]:
    """The line with dotted names, addresses and numbers blanked, and the dotted names
    and addresses it held (two C-level passes, no Python per token)."""
    parts = _rx(_DOTTED).split(line)
    return _rx(_NUMBER).sub("0", "H".join(parts[::2])), tuple(parts[1::2])


@functools.cache
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def scan(index: Index, chunks: Iterable[str], max_distinct: int = MAX_DISTINCT) -> ScanResult:
    """Read every chunk of the text, in order."""
    scanner = Scanner(index, max_distinct)
    for chunk in chunks:
        scanner.feed(chunk)
    return scanner.finish()
