# ruff: noqa: E501  (a snippet's lines are the scripts' own, as long as they are)
"""Named pieces of fix scripts that rules share (rule YAML has no include).

A line of a rule's command (``commands`` or ``checks``) that reads ``#@snippet NAME``
is replaced by the snippet's lines, each indented as that line is; a snippet is raw
code, so its braces are doubled for the template (they come out as written). The
expansion happens when the rule is parsed (:mod:`regdoctor.engine.parse`), so every
consumer (``regdoctor rules test``, the fix lint, the renderers) sees the script whole;
a name not defined here is a validation error of the rule.
"""

from __future__ import annotations

import re

__all__ = ["DIRECTIVE", "SNIPPETS", "expand"]

#: ``#@snippet NAME`` alone on its line (any indentation)
DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)#@snippet[ \t]+(?P<name>\S+)[ \t]*$", re.MULTILINE)

#: ``tomllib``, or on a node whose python3 is older than 3.11 (RHEL 8: 3.6, Ubuntu 20.04:
#: 3.8) a reader of what containerd writes in config.toml and hosts.toml (one-line keys
#: and values, tables by name): ``tomllib.loads`` and ``tomllib.TOMLDecodeError`` either
#: way; a line it cannot read stops the script with a message, nothing is written.
TOMLLIB_OR_FALLBACK = """\
try:
    import tomllib
except ImportError:  # Python before 3.11 (RHEL 8 has 3.6): one-line keys and values, as containerd writes them
    import json as _json, re as _re, types as _types
    def _loads(text):
        doc, keys = {}, _re.compile(r'"[^"]*"|[^."' + "'" + r'\\s]+')
        one = r'("[^"\\\\]*"|(-|)[0-9]+(\\.[0-9]+|)|true|false)'
        table = doc
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and not line.startswith("[["):
                table = doc
                for key in keys.findall(line.split("]")[0][1:]):
                    table = table.setdefault(key.strip('"'), {})
                continue
            key, eq, value = line.partition("=")
            value = _re.sub(r'\\s+#[^"]*$', "", value.strip())
            if _re.match(r"'[^']*'$", value):
                value = _json.dumps(value[1:-1])
            if not eq or not _re.match(r"(" + one + r"|\\[\\]|\\[(" + one + r", *)*" + one + r"\\])$", value):
                raise ValueError("without tomllib (Python 3.11+) this line is not read: " + repr(raw) + "; edit by hand")
            *parents, last = [k.strip('"') for k in keys.findall(key)]
            at = table
            for name in parents:
                at = at.setdefault(name, {})
            at[last] = _json.loads(value)
        return doc
    tomllib = _types.SimpleNamespace(loads=_loads, TOMLDecodeError=ValueError)
"""

#: ``loads`` of ``tomllib``, or on a python3 older than 3.11 a reader of what
#: ``containerd config default`` writes (one-line values), for the kubelet's fixes that
#: set the CRI ``config_path``: a line it cannot read stops the script and names
#: ``path`` (the script's config.toml) to edit by hand. Needs ``json`` and ``re``.
CONFIG_PATH_LOADS = """\
try:
    from tomllib import loads
except ImportError:  # Python before 3.11 (RHEL 8 has 3.6): what
    # `containerd config default` writes (one-line values), nothing else
    def loads(text):
        doc, keys = {}, re.compile(r'"[^"]*"|[^."' + "'" + r'\\s]+')
        one = r'("[^"\\\\]*"|(-|)[0-9]+(\\.[0-9]+|)|true|false)'
        many = r"\\[(" + one + r", *)*" + one + r"\\]"
        ok = re.compile("(" + one + r"|\\[\\]|" + many + ")$")
        table = doc
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and not line.startswith("[["):
                table = doc
                for key in keys.findall(line.split("]")[0][1:]):
                    table = table.setdefault(key.strip('"'), {})
                continue
            key, eq, value = line.partition("=")
            value = re.sub(r'\\s+#[^"]*$', "", value.strip())
            if re.match(r"'[^']*'$", value):
                value = json.dumps(value[1:-1])
            if not eq or not ok.match(value):
                why = "by hand (no tomllib to read %r)" % raw
                raise SystemExit("set config_path in %s %s" % (path, why))
            names = [k.strip('"') for k in keys.findall(key)]
            *parents, last = names
            at = table
            for name in parents:
                at = at.setdefault(name, {})
            at[last] = json.loads(value)
        return doc
"""

SNIPPETS: dict[str, str] = {
    "tomllib-or-fallback": TOMLLIB_OR_FALLBACK,
    "config-path-loads": CONFIG_PATH_LOADS,
}


def expand(command: str) -> tuple[str, list[str]]:
    """``command`` with every ``#@snippet NAME`` line replaced, and the names that are
    not snippets (those lines are left as they are)."""
    unknown: list[str] = []

    def one(match: re.Match[str]) -> str:
        name, indent = match.group("name"), match.group("indent")
        text = SNIPPETS.get(name)
        if text is None:
            unknown.append(name)
            return match.group(0)
        body = text.replace("{", "{{").replace("}", "}}").rstrip("\n").split("\n")
        return "\n".join(indent + line if line else line for line in body)

    return DIRECTIVE.sub(one, command), unknown
