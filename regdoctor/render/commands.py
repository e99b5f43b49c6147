"""Remediation commands as every front end shows them: grouped, ordered, safe to paste.

One place decides, for the plain report, the Markdown ticket and the TUI:

- **which runtimes come first**: the runtimes the report judged (found on the host, or
  chosen with ``--runtime``: ``Report.runtimes``); the others are folded (plain: one
  line, ``-v`` shows them; Markdown: ``<details>``);
- **merged commands**: runtimes whose command is the same share one block
  (``docker, podman:``);
- **lines a shell reads back as written**: commands are printed flush left, never
  wrapped by the terminal library; a line too long for the width is broken between
  words with a `` \\`` continuation the program writes itself, except inside a heredoc,
  whose body and closing delimiter are left exactly as they are (a heredoc whose
  delimiter is indented never ends).

Nothing here escapes or redacts: the caller cleans each command first (its own
redactor, :func:`regdoctor.escape.safe_text` line by line).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from regdoctor.escape import safe_text
from regdoctor.model import RemediationStep

__all__ = [
    "TOOLS",
    "CommandGroup",
    "command_lines",
    "finding_scope",
    "group_commands",
    "markdown_fence",
    "markdown_remediation",
    "md_prose",
    "ordered_runtimes",
    "paste_lines",
    "step_groups",
]

#: The order runtimes are listed in.
TOOLS: tuple[str, ...] = ("docker", "podman", "containerd", "kubernetes")


@dataclass(frozen=True, slots=True)
class CommandGroup:
    """One command and the runtimes it is for."""

    runtimes: tuple[str, ...]
    command: str
    #: A diagnostic (``checks``): it only looks; otherwise part of the fix.
    check: bool = False

    @property
    def label(self) -> str:
        return ", ".join(self.runtimes) + (" (check)" if self.check else "")


def command_lines(command: str) -> list[str]:
    """``command`` as lines: CRLF as LF, blank lines at either end and trailing spaces
    dropped (none of which changes what a shell does)."""
    lines = [line.rstrip(" ") for line in command.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def ordered_runtimes(names: Iterable[str]) -> list[str]:
    """``names`` once each, in :data:`TOOLS` order (others after, sorted)."""
    names = list(dict.fromkeys(names))
    return [t for t in TOOLS if t in names] + sorted(n for n in names if n not in TOOLS)


@functools.cache
def _fill_in() -> re.Pattern[str]:
    return re.compile(r"^[A-Z][A-Z0-9_]*=''  # fill in: ")


def _shared_first_lines(lines: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """Checks are independent lines: the leading lines several runtimes share (``curl``,
    ``getent``) are taken out of each runtime's command (``lines`` is changed) and
    returned once per runtime, so that they merge into one block. Never inside a line
    continuation or a heredoc, nor when a command sets a variable for its later lines."""
    by_first: dict[str, list[str]] = {}
    for name, body in lines.items():
        if body and not any(_fill_in().match(line) for line in body):
            by_first.setdefault(body[0], []).append(name)
    shared: list[tuple[str, list[str]]] = []
    for names in by_first.values():
        bodies = [lines[n] for n in names]
        if len(names) < 2 or all(b == bodies[0] for b in bodies):
            continue  # one runtime, or the same command: merged whole anyway
        from regdoctor.render.shell import heredoc_lines  # only for differing commands

        prefix = 0
        inside = heredoc_lines(bodies[0])
        for cut in range(1, min(len(b) for b in bodies) + 1):
            if any(b[cut - 1] != bodies[0][cut - 1] for b in bodies):
                break
            # a cut is safe where a command ends: not before a continuation line or a
            # heredoc's body (its closing delimiter ends it)
            after = cut < len(inside) and inside[cut]
            if not bodies[0][cut - 1].endswith("\\") and not after:
                prefix = cut
        if not prefix:
            continue
        for name in names:
            shared.append((name, lines[name][:prefix]))
            lines[name] = lines[name][prefix:]
    return shared


def group_commands(
    commands: Mapping[str, str], scope: Sequence[str] = (), *, check: bool = False
) -> tuple[list[CommandGroup], list[CommandGroup]]:
    """(the groups to show, the groups to fold). Runtimes with the same command share a
    group; a group is shown when one of its runtimes is in ``scope`` (all are when
    ``scope`` is empty), shown groups of runtimes in scope first, in ``scope`` order."""
    lines = {
        name: command_lines(commands[name])
        for name in ordered_runtimes(commands)
        if isinstance(commands[name], str) and commands[name].strip()
    }
    entries = _shared_first_lines(lines) if check else []
    entries += [(name, body) for name, body in lines.items() if body]
    by_command: dict[str, list[str]] = {}
    for name, body in entries:
        by_command.setdefault("\n".join(body), []).append(name)
    groups = [CommandGroup(tuple(names), command, check) for command, names in by_command.items()]
    if not scope:
        return groups, []
    rank = {name: i for i, name in enumerate(scope)}

    def first(group: CommandGroup) -> int:
        return min((rank[r] for r in group.runtimes if r in rank), default=len(rank))

    shown = sorted((g for g in groups if any(r in rank for r in g.runtimes)), key=first)
    folded = [g for g in groups if not any(r in rank for r in g.runtimes)]
    return shown, folded


def step_groups(
    step: RemediationStep, scope: Sequence[str] = ()
) -> tuple[list[CommandGroup], list[CommandGroup]]:
    """(shown, folded) for a step: its checks (diagnostics) first, then its fix."""
    checks = step.checks if isinstance(step.checks, Mapping) else {}
    commands = step.commands if isinstance(step.commands, Mapping) else {}
    shown_checks, folded_checks = group_commands(checks, scope, check=True)
    shown, folded = group_commands(commands, scope)
    return shown_checks + shown, folded_checks + folded


def paste_lines(command: str, width: int | None) -> list[str]:
    """The lines to print for ``command``, flush left: a line wider than ``width`` is
    broken between words with `` \\`` continuations (its comment moved above it); a
    heredoc body, its closing delimiter and a line that cannot be broken without changing
    the command stay as they are (the terminal may fold it on screen; it is one line)."""
    lines = command_lines(command)
    if width is None:
        return lines
    from regdoctor.render.shell import heredoc_lines, shell_wrap  # a finding's commands

    out: list[str] = []
    for line, in_heredoc in zip(lines, heredoc_lines(lines), strict=True):
        if in_heredoc or len(line) <= width:
            out.append(line)
            continue
        # A word wider than the width is not cut: it gets a line of its own.
        pieces = shell_wrap(line, width, long_words=True)
        out.extend(pieces if pieces else [line])
    return out


# -- Markdown ---------------------------------------------------------------------------


@functools.cache
def _md_live() -> re.Pattern[str]:
    return re.compile(r"([\\\[\]<>&])")


@functools.cache
def _md_line_start() -> re.Pattern[str]:
    return re.compile(r"^(\s*)([#+\-=>|]|\d+[.)])")


@functools.cache
def _code_span() -> re.Pattern[str]:
    return re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def md_prose(value: object, max_chars: int = 4000) -> str:
    """A rule's sentence (values filled in) as Markdown prose: its code spans are kept
    (they render literally, whatever is inside), and outside them everything that could
    make a link, an image, HTML or an entity is escaped, as is a heading, list or table
    marker at the start. One line."""
    text = safe_text(value, keep_newlines=False, max_chars=max_chars)
    out: list[str] = []
    pos = 0
    for m in _code_span().finditer(text):
        out.append(_md_live().sub(r"\\\1", text[pos : m.start()]).replace("|", "\\|"))
        out.append(m.group(0))
        pos = m.end()
    out.append(_md_live().sub(r"\\\1", text[pos:]).replace("|", "\\|"))
    return _md_line_start().sub(r"\1\\\2", "".join(out))


def markdown_fence(lines: Sequence[str], info: str = "sh") -> list[str]:
    """A fenced block holding ``lines`` literally, at column 0 (so a heredoc in it still
    ends when copied from the raw text); its fence is longer than any backtick run in it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *lines, fence]


def markdown_remediation(
    steps: Sequence[RemediationStep],
    *,
    scope: Sequence[str] = (),
    clean_prose: Callable[[str], str],
    clean_command: Callable[[str], str],
    fold: bool = True,
    drop_others: bool = False,
) -> list[str]:
    """The numbered steps as Markdown: each step's text as prose, then one ``sh`` block per
    group of runtimes with the same command, the runtimes in ``scope`` first and the
    others in a ``<details>`` block (``fold=False``: shown too; ``drop_others``: named in
    one line that points to ``--verbose``, for a ticket over its length budget).
    ``clean_prose`` and ``clean_command`` redact and escape (the command keeping its
    newlines)."""
    out: list[str] = []
    for number, step in enumerate(steps, 1):
        out += [f"{number}. {md_prose(clean_prose(step.text))}", ""]
        shown, folded = step_groups(step, scope)
        if not fold:
            shown, folded = shown + folded, []
        for group in shown:
            out += _markdown_group(group, clean_command)
        if folded and drop_others:
            names = ", ".join(ordered_runtimes(r for g in folded for r in g.runtimes))
            out += [f"(Commands for {names}: `--verbose`.)", ""]
        elif folded:
            names = ", ".join(ordered_runtimes(r for g in folded for r in g.runtimes))
            out += [f"<details><summary>other runtimes: {names}</summary>", ""]
            for group in folded:
                out += _markdown_group(group, clean_command)
            out += ["</details>", ""]
    return out


def _markdown_group(group: CommandGroup, clean_command: Callable[[str], str]) -> list[str]:
    lines = command_lines(clean_command(group.command))
    return [f"{group.label}:", "", *markdown_fence(lines), ""]


def finding_scope(scope: Sequence[str], runtimes: Sequence[str]) -> tuple[str, ...]:
    """The runtimes whose commands a finding shows first: those of the report's scope
    it names (a finding on one runtime's credential or CA is that runtime's to fix, as
    the TUI shows it), else the report's scope."""
    mine = tuple(r for r in scope if r in runtimes)
    return mine or tuple(scope)
