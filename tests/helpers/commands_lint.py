"""What a remediation command must never hold: a ``<name>`` placeholder (the shell reads
it as a redirection), the ``?`` of an unknown value, or a syntax error (``bash -n``)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping
from typing import Any

#: ``<registry>``, ``<image>``: not ``</dev/null``, ``<<'EOF'``, ``<(cmd)``.
ANGLE_PLACEHOLDER = re.compile(r"<[A-Za-z_][\w.-]*>")
#: A ``?`` standing alone where a value belongs (``/?@sha256``, ``login ?``); not a URL's
#: query (``list?n=1``), a glob inside a word, or ``${NAME:?}``.
QUESTION_PLACEHOLDER = re.compile(r"(?<![\w$:{}*\\])\?(?![\w}])")
#: Upper-case stand-ins for a value (``kubectl debug node/NODE``): a variable instead.
WORD_PLACEHOLDER = re.compile(
    r"(?<![\w${.])(?:NODE|NAMESPACE|POD|REPOSITORY|IMAGE|MIRROR|USER|PASSWORD|TOKEN)(?![\w}=])"
)


_HEREDOC_OPENER = re.compile(r"<<-?[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([A-Za-z0-9_]+))")


def unquoted_variables(command: str) -> list[str]:
    """The ``${NAME:?}`` of unknown values that stand outside double quotes (and outside
    heredoc bodies and comments), where the shell splits and globs what is filled in."""
    found: list[str] = []
    lines = command.split("\n")
    i = 0
    while i < len(lines):
        line, quote, delimiters = lines[i], "", []
        j = 0
        while j < len(line):
            ch = line[j]
            if quote == "'":
                quote = "" if ch == "'" else quote
            elif ch == "\\":
                j += 1
            elif quote == '"':
                quote = "" if ch == '"' else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "#" and (j == 0 or line[j - 1] in " \t;&|("):
                break
            elif line.startswith("${", j) and (m := re.match(r"\$\{(\w+):\?\}", line[j:])):
                found.append(m.group(0))
            elif (m := _HEREDOC_OPENER.match(line, j)) and not line.startswith("<<<", j):
                delimiters.append(m.group(1) or m.group(2) or m.group(3))
                j = m.end()
                continue
            j += 1
        i += 1
        for delimiter in delimiters:  # skip the bodies, in order
            while i < len(lines) and lines[i].lstrip("\t") != delimiter:
                i += 1
            i += 1
    return found


def command_problems(command: str) -> list[str]:
    problems = []
    if unquoted := unquoted_variables(command):
        problems.append(f"unquoted {unquoted[0]} (the value filled in is split and globbed)")
    if m := ANGLE_PLACEHOLDER.search(command):
        problems.append(f"placeholder {m.group(0)}")
    if QUESTION_PLACEHOLDER.search(command):
        problems.append("a ? where a value belongs")
    code = "\n".join(
        line.split(" #")[0] for line in command.splitlines() if not line.startswith("#")
    )
    if m := WORD_PLACEHOLDER.search(code):
        problems.append(f"placeholder {m.group(0)}")
    result = subprocess.run(
        ["bash", "-n"], input=command, capture_output=True, text=True, timeout=10
    )
    if result.returncode:
        problems.append("bash -n: " + result.stderr.strip())
    return problems


def document_commands(document: Mapping[str, Any]) -> Iterable[tuple[str, str, str]]:
    """(rule, runtime, command) of every finding of a check's JSON document."""
    for finding in document.get("findings") or []:
        for step in finding.get("remediation") or []:
            for runtime, command in (step.get("commands") or {}).items():
                yield finding.get("rule", "?"), runtime, command


def assert_commands_clean(document: Mapping[str, Any]) -> None:
    bad = {
        f"{rule} [{runtime}]": problems
        for rule, runtime, command in document_commands(document)
        if (problems := command_problems(command))
    }
    assert not bad, bad


# -- checks apart from fixes ---------------------------------------------------------------

#: Programs that only look (read, resolve, connect, print); with ``SUBCOMMANDS_THAT_LOOK``
#: for the ones whose subcommand decides.
PROGRAMS_THAT_LOOK = frozenset(
    [
        "grep",
        "egrep",
        "cat",
        "head",
        "tail",
        "less",
        "ls",
        "stat",
        "find",
        "readlink",
        "realpath",
        "file",
        "getent",
        "dig",
        "host",
        "nslookup",
        "resolvectl",
        "curl",
        "wget",
        "nc",
        "ncat",
        "ss",
        "ip",
        "ping",
        "tracepath",
        "traceroute",
        "echo",
        "printf",
        "awk",
        "jq",
        "yq",
        "base64",
        "sha256sum",
        "date",
        "env",
        "printenv",
        "id",
        "whoami",
        "test",
        "[",
        "true",
        "false",
        ":",
        "timeout",
        "journalctl",
        "ps",
        "pgrep",
        "command",
        "type",
        "which",
        "uname",
        "hostname",
        "openssl",
        "cut",
        "sort",
        "uniq",
        "wc",
        "tr",
        "diff",
        "cmp",
        "column",
        "sed",
        "df",
        "findmnt",
        "du",
        "dmesg",
        "man",
    ]
)
SUBCOMMANDS_THAT_LOOK = {
    "kubectl": {"get", "describe", "logs", "debug", "auth", "explain", "version", "events"},
    "docker": {
        "info",
        "version",
        "inspect",
        "manifest",
        "image",
        "images",
        "context",
        "buildx",
        "system",
    },
    "podman": {"info", "version", "inspect", "manifest", "images", "image", "search", "system"},
    "skopeo": {"inspect", "list-tags"},
    "crictl": {"info", "inspect", "inspecti", "images", "version", "ps"},
    "ctr": {"version", "images", "image", "plugins", "info"},
    "nerdctl": {"info", "version", "inspect", "images"},
    "systemctl": {"status", "show", "cat", "is-active", "is-enabled"},
    "containerd": {"config", "--version", "-v"},
    "crio": {"config", "version"},
    "update-ca-trust": {"list"},
    "trust": {"list"},
    "openssl": {"s_client", "x509", "verify", "crl", "asn1parse", "version"},
    "nft": {"list"},
    "timedatectl": {"status", "show", "timesync-status"},
    "chronyc": {"tracking", "sources", "sourcestats"},
    "iptables": {"-S", "-L", "-nL", "-nvL"},
    "regdoctor": {"check", "bench", "explain", "config", "tags"},
    "sudo": set(),
}
_VALIDATORS = re.compile(
    r"python3 -m json\.tool|python3 -c '[^']*tomllib\.load\([^']*'|podman machine ssh date"
    r"|bash -c '</dev/tcp/[^']*'"
    # the same on a node's own root (busybox has no bash), its echo inside the node
    r"|chroot /host sh -c \"timeout \d+ bash -c '</dev/tcp/[^']*' && echo open \|\| echo closed\""
)
_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\\\]|\\\\.)*\"")
_SEGMENT_SPLIT = re.compile(r"\|\||&&|[|;]|\$\(|`|\(")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_WRITES = re.compile(r"(?<![0-9&])>>?\s*(?!/dev/null|&)|\btee\b|\bsed\s+-i|\bmkdir\b|\bcp\b|\bmv\b")


def _segment_looks(segment: str) -> bool:
    words = segment.strip().split()
    while words and (
        _ASSIGNMENT.match(words[0]) or words[0] in ("sudo", "!", "then", "do", "else", "exec")
    ):
        words = words[1:]
    if words[:1] == ["env"] and len(words) > 1:  # env VAR=value CMD: CMD is what runs
        rest = [w for w in words[1:] if not w.startswith("-")]
        while rest and _ASSIGNMENT.match(rest[0]):
            rest = rest[1:]
        if rest:
            return _segment_looks(" ".join(rest))
    if not words or words[0] in ("fi", "done", "}", "{", ")", "if", "for", "while", "EOF"):
        return True
    program = words[0].rsplit("/", 1)[-1]
    if program == "timeout":  # timeout 5 CMD...
        rest = [w for w in words[1:] if not w[0].isdigit() and not w.startswith("-")]
        return _segment_looks(" ".join(rest)) if rest else True
    if program in ("bash", "sh") and "/dev/tcp/" in segment:
        return True
    if program in SUBCOMMANDS_THAT_LOOK and program != "sudo":
        subcommand = next(
            (
                w
                for w in words[1:]
                if not w.startswith("-") or program in ("iptables", "containerd")
                if w not in ("--user", "-n", "k8s.io")
            ),
            "",
        )
        if program == "openssl" or subcommand in SUBCOMMANDS_THAT_LOOK[program]:
            if program in ("docker", "podman") and subcommand in ("image", "manifest", "buildx"):
                return any(w in ("inspect", "ls", "imagetools") for w in words[2:4]) and not any(
                    w in ("build", "push", "rm", "prune") for w in words[2:4]
                )
            if program in ("docker", "podman") and subcommand == "system":
                return any(w in ("df", "info", "connection") for w in words[2:3])
            if program == "ctr" and subcommand in ("images", "image"):
                return any(w in ("ls", "list", "check") for w in words[2:5])
            if program == "kubectl" and subcommand == "debug":
                return "chroot" not in segment or "cat" in segment or "getent" in segment
            return subcommand in SUBCOMMANDS_THAT_LOOK[program]
        return False
    return program in PROGRAMS_THAT_LOOK


def is_note(command: str) -> bool:
    """The command is only comments: advice for where no command fits (``# on every node:
    as for containerd``). It neither looks nor fixes."""
    return all(not line.strip() or line.strip().startswith("#") for line in command.splitlines())


def looks_only(command: str) -> bool:
    """The command only looks: every line (comments, blank lines and the ``VAR=''`` line
    of a fill-in value aside) runs programs that read, resolve or connect, and writes no
    file. Heredoc bodies are data, not commands."""
    lines: list[str] = []
    heredoc_end: str | None = None
    for raw in command.splitlines():
        line = raw.strip()
        if heredoc_end is not None:
            if line == heredoc_end:
                heredoc_end = None
            continue
        if not line or line.startswith("#"):
            continue
        if m := re.search(r"<<-?\s*'?\"?([A-Za-z_]+)", line):
            heredoc_end = m.group(1)
        lines.append(line.split(" #")[0])
    code = " ; ".join(lines).replace("\\ ;", " ")
    # validators that only read: JSON and TOML parsers, a VM's clock
    code = _VALIDATORS.sub("true", code)
    code = _QUOTED.sub("Q", code)  # quoted text is an argument, not code
    if _WRITES.search(code):
        return False
    return all(_segment_looks(s) for s in _SEGMENT_SPLIT.split(code) if s.strip())
