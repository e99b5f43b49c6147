"""Remediation commands filled for the shell: values quoted where they land, and a shell
variable where the value is not known.

A rule's command is a template (:mod:`regdoctor.engine.template`). A value a server or a
paste supplied is data, so it is written in the form the shell reads back as that same
text wherever the placeholder sits: bare (``shlex.quote`` unless it is plainly safe),
inside single quotes, double quotes, a heredoc body or a comment. A value that is not
known becomes a shell variable (``{registry}`` -> ``"${REGISTRY:?}"``, in double quotes
where it stands bare: the value filled in is one word, never split or globbed) that a
first line of the command sets (``REGISTRY=''  # fill in: ...``): the command never
holds ``?`` or ``<registry>`` (which the shell reads as a redirection), and run before
the variable is filled in, it stops with "REGISTRY: parameter null or not set" instead
of acting on an empty name. A quoted heredoc (``<<'EOF'``) whose body needs such a
variable is turned into an unquoted one, with the body's other ``$``, backquotes and
backslashes escaped.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from regdoctor.engine.shell_names import shell_variable
from regdoctor.engine.template import format_value, is_plain_name, resolve_conditionals

__all__ = ["VARIABLE_HELP", "render_command", "shell_variable"]

_SENTINEL = "\x00"
#: Values the shell reads back unchanged without quotes (no glob, brace, tilde,
#: expansion or separator character).
_SAFE_BARE = re.compile(r"^[A-Za-z0-9_.,:/@%+=-]+$")
_OPENER = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([A-Za-z0-9_]+))")

#: What a user fills in for a variable, by template name.
VARIABLE_HELP: Mapping[str, str] = {
    "registry": "the registry, as in image references (host[:port])",
    "host": "the registry's host name",
    "hostport": "the registry's host:port",
    "port": "the registry's port",
    "image": "the image (registry/repository:tag)",
    "repository": "the repository (path/name, no tag)",
    "reference": "the tag or digest",
    "tag": "the tag",
    "digest": "the digest (sha256:...)",
    "url": "the URL that failed (https://...)",
    "address": "the IP address that was dialled",
    "proxy": "the proxy URL (http://host:port)",
    "secret": (
        "the name of the pull secret the pod uses "
        "(kubectl get pod POD -o jsonpath='{.spec.imagePullSecrets[*].name}')"
    ),
    "namespace": "the Kubernetes namespace",
    "service_account": (
        "the pod's service account (kubectl get pod POD -o jsonpath='{.spec.serviceAccountName}')"
    ),
    "helper": "the credential helper (the part after docker-credential-)",
    "path": "the file's path",
    "name": "the host name that was looked up",
    "peer": "the server's host:port",
    "peer_host": "the server's host name",
    "peer_port": "the server's port",
    "realm_host": "the token server's host name",
    "platform": "the platform (os/arch)",
    "requested": "the platform (os/arch)",
    "node": "the node's name (kubectl get nodes)",
    "pod": "the pod's name",
    "deployment": "the deployment's name",
    "container": "the container's name in the pod",
    "mirror": "the mirror (host:port)",
    "secret_namespace": "the namespace that has the secret",
    "new_secret": (
        "a name for the new pull secret, one no Secret of the namespace has "
        "(kubectl get secrets -n NAMESPACE)"
    ),
}


@dataclass
class _Heredoc:
    opener: tuple[int, int]
    delimiter: str
    quoted: bool
    dash: bool
    body: tuple[int, int] = (0, 0)
    names: list[int] = field(default_factory=list)  # sentinel numbers in the body


@dataclass
class _Scan:
    states: list[str] = field(default_factory=list)  # per sentinel
    heredocs: list[_Heredoc] = field(default_factory=list)


@functools.lru_cache(maxsize=512)
def _scan_once(flat: str) -> _Scan:
    """:func:`_scan`, once per template text (a log's many errors render the same rules'
    commands again and again; the result is only read)."""
    return _scan(flat)


def _scan(flat: str) -> _Scan:
    """Where each sentinel sits for the shell: ``plain``, ``single``, ``double``,
    ``comment``, ``heredoc`` or ``heredoc-quoted``; and the heredocs."""
    scan = _Scan()
    quote = ""
    comment = escaped = False
    word_start = True
    line_openers: list[_Heredoc] = []
    pending: list[_Heredoc] = []
    i, n = 0, len(flat)
    while i < n:
        if pending and (i == 0 or flat[i - 1] == "\n"):
            doc = pending.pop(0)
            start = i
            while i < n:
                j = flat.find("\n", i)
                end = n if j < 0 else j
                line = flat[i:end]
                if (line.lstrip("\t") if doc.dash else line) == doc.delimiter:
                    doc.body = (start, i)
                    i = end + 1
                    break
                for k in range(i, end):
                    if flat[k] == _SENTINEL:
                        doc.names.append(len(scan.states))
                        scan.states.append("heredoc-quoted" if doc.quoted else "heredoc")
                i = end + 1
            else:
                doc.body = (start, n)
            continue
        ch = flat[i]
        if ch == _SENTINEL:
            state = {"'": "single", '"': "double"}.get(quote, "plain")
            scan.states.append("comment" if comment else state)
            escaped = False
            word_start = False
            i += 1
            continue
        if comment:
            if ch == "\n":
                comment = False
                pending.extend(line_openers)
                line_openers = []
                word_start = True
            i += 1
            continue
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and word_start:
            comment = True
        elif ch == "\n":
            pending.extend(line_openers)
            line_openers = []
        elif ch == "<" and flat.startswith("<<", i) and not flat.startswith("<<<", i):
            m = _OPENER.match(flat, i)
            if m:
                delimiter = m.group(2) or m.group(3) or m.group(4) or ""
                quoted = m.group(4) is None or flat[m.start() : m.end()].find("\\") >= 0
                doc = _Heredoc((m.start(), m.end()), delimiter, quoted, bool(m.group(1)))
                scan.heredocs.append(doc)
                line_openers.append(doc)
                i = m.end()
                word_start = False
                continue
        word_start = ch in " \t\n;&|()" and not quote
        i += 1
    return scan


def _known(text: str, state: str) -> str:
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    if state == "plain":
        return text if _SAFE_BARE.match(text) else shlex.quote(text)
    if state == "single":
        return text.replace("'", "'\\''")
    if state == "double":
        return re.sub(r'([\\"$`])', r"\\\1", text)
    if state == "heredoc":
        return re.sub(r"([\\$`])", r"\\\1", text)
    return text  # a quoted heredoc body, a comment: read literally


def _unknown(variable: str, state: str) -> str:
    if state == "comment":
        return "$" + variable
    expansion = "${" + variable + ":?}"
    if state == "single":
        return f"'\"{expansion}\"'"
    if state == "plain":
        # quoted: a filled-in value with a space or a glob character stays one word
        return f'"{expansion}"'
    return expansion  # inside "...", a heredoc: the shell neither splits nor globs


@functools.lru_cache(maxsize=512)
def _parse_once(template: str) -> tuple[str, tuple[str, ...]] | None:
    """A template (its conditionals resolved) as its literal text with a sentinel where
    each placeholder goes, and the placeholders' names; ``None`` when it does not parse.
    Once per template text, like :func:`_scan_once`."""
    import string

    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    names: list[str] = []
    literal_parts: list[str] = []
    for literal, name, _spec, _conv in parsed:
        literal_parts.append(literal.replace(_SENTINEL, ""))
        if name is not None:
            names.append(name)
            literal_parts.append(_SENTINEL)
    return "".join(literal_parts), tuple(names)


def render_command(template: str, context: Mapping[str, Any]) -> str:
    """Fill the command ``template`` from ``context`` (see the module docstring)."""
    template = resolve_conditionals(template, context)
    parsed = _parse_once(template)
    if parsed is None:
        return template
    flat, names = parsed
    if not names:
        return flat  # nothing to fill in: no quoting to work out
    scan = _scan_once(flat)
    states = list(scan.states)  # a copy: a heredoc made unquoted changes its entries
    missing = [not is_plain_name(name) or context.get(name) is None for name in names]
    # Quoted heredocs whose body needs a variable become unquoted.
    rewrite: dict[int, tuple[int, str]] = {}
    escape_from: list[tuple[int, int]] = []
    for doc in scan.heredocs:
        if doc.quoted and any(missing[k] for k in doc.names):
            start, end = doc.opener
            rewrite[start] = (end, f"<<{'-' if doc.dash else ''}{doc.delimiter}")
            escape_from.append(doc.body)
            for k in doc.names:
                states[k] = "heredoc"
    out: list[str] = []
    variables: list[str] = []

    def fill(number: int) -> str:
        name, state = names[number], states[number] if number < len(states) else "plain"
        if missing[number]:
            variable = shell_variable(name if is_plain_name(name) else "value")
            if variable not in variables:
                variables.append(variable)
            return _unknown(variable, state)
        return _known(format_value(context.get(name)), state)

    if not rewrite and not escape_from:
        # the common case: no heredoc to rewrite, so the literal text goes as it is
        pieces = flat.split(_SENTINEL)
        out.append(pieces[0])
        for number, piece in enumerate(pieces[1:]):
            out.append(fill(number))
            out.append(piece)
        return _with_preamble("".join(out), variables, names)
    number = 0
    i = 0
    while i < len(flat):
        if i in rewrite:
            end, text = rewrite[i]
            out.append(text)
            i = end
            continue
        ch = flat[i]
        if ch == _SENTINEL:
            out.append(fill(number))
            number += 1
        elif ch in "\\$`" and any(a <= i < b for a, b in escape_from):
            out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    return _with_preamble("".join(out), variables, names)


def _with_preamble(command: str, variables: list[str], names: tuple[str, ...]) -> str:
    """``command`` after a line per unknown value it uses: ``NAME=''  # fill in: ...``."""
    if not variables:
        return command
    name_of = {shell_variable(n): n for n in names}
    preamble = []
    for variable in variables:
        default = "the " + variable.lower().replace("_", " ")
        preamble.append(
            f"{variable}=''  # fill in: {VARIABLE_HELP.get(name_of.get(variable, ''), default)}"
        )
    return "\n".join(preamble) + "\n" + command
