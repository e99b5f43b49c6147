"""Rule templates: ``{name}`` placeholders, checked at load time, filled safely.

Templates use the ``str.format`` syntax as parsed by :class:`string.Formatter`, but only
plain names are allowed, and a few filters: a plural, ``{count|tag}`` -> ``1 tag``,
``3 tags`` (``{count|entry|entries}`` for an irregular plural; a list counts its items);
a list as a sentence says it, ``{names|and}`` -> ``a, b and c``, capped with
``{names|and 5}`` -> ``a, b, c, d, e and 3 more`` (``{names|or}`` likewise); and
``{names|count}``, the number of items. Nothing else: no attribute or index access
(``{a.b}``, ``{a[0]}``), no positional fields, no names starting with ``_``, no
conversions or format specs. Those are rejected when the rule loads, so a rule file
cannot reach into Python objects. Rendering never calls ``str.format``: it looks each
name up in a plain dict of JSON values and writes the value as text. A missing name
renders as ``?``; values are data, so markup in them (``[bold]``) is kept verbatim
(escaping is the renderer's job). Write ``{{`` and ``}}`` for literal braces (JSON in a
command, a Go template).

Conditional text fits advice to the situation: ``{if NAME}...{end}``,
``{if NAME}...{else}...{end}`` and ``{unless NAME}...{end}`` keep their text when the
value of ``NAME`` is set and not empty, false or zero (``unless``: when it is not);
``{if NAME=VALUE}`` when the value is written ``VALUE`` (an enum: ``{if outcome=nxdomain}``).
They nest. Besides every fact and target name, the engine sets ``loopback`` (the
registry is this host: ``localhost``, 127.0.0.0/8, ``::1``), ``port_given`` (the
registry was written with its port, ``host:5000``), ``host_is_ip`` (the registry is an
IP address: a certificate needs an ``IP:`` SAN for it) and ``runtime_docker``,
``runtime_podman``, ``runtime_containerd``, ``runtime_kubernetes`` (the run judges that
runtime: found on this host, or chosen with ``--runtime``). Commands are filled by
:mod:`regdoctor.engine.command_template`, which quotes values for the shell.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Callable, Iterator, Mapping
from typing import Any

MISSING = "?"
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_MAX_VALUE_CHARS = 1000
_FORMATTER = string.Formatter()

#: Names filled from the target (the registry endpoint the rule judges).
TARGET_NAMES: tuple[str, ...] = (
    "registry",
    "host",
    "port",
    "hostport",
    "scheme",
    "repository",
    "reference",
    "image",
    "target",
    # for conditionals: the registry is this host; the registry was written with a port
    "loopback",
    "port_given",
    "host_is_ip",
)
#: Names filled by the engine from the triggering observations (see ``evaluate``).
ENGINE_NAMES: tuple[str, ...] = (
    "peer",
    "peer_host",
    "peer_port",
    "kind",
    "step",
    "phase",
    "error",
    # the environment's proxy is in the path of the target's requests: its host:port
    # (never its credentials) and the variable that named it
    "via_proxy",
    "via_proxy_env",
    "via_proxy_unit",
    "via_proxy_unit_name",
    # the pod names an imagePullSecret whose key the kubelet skips for this image
    "pod_secret_unmatched",
    # the key of the pull secret's entry the kubelet authenticates with
    "pod_secret_key",
    # config.toml, when the kubelet's credentials are its registry.configs auth
    "cri_auth_file",
    # the service account of a pod that names no pull secret (its secrets are passed)
    "service_account",
)
#: Names ``explain`` fills from a pasted error (see ``regdoctor.engine.extract``), besides
#: the target names it can also derive (registry, host, port, image...).
TEXT_NAMES: tuple[str, ...] = (
    "address",
    "resolver",
    "platform",
    "requested",
    "status",
    "code",
    "url",
    "tag",
    "digest",
    "name",
    "realm_host",
    "proxy",
    "helper",
    "secret",
    "namespace",
    "path",
    "message",
    "line",
    "wanted",
    "names",
    "requested",
    # phrases that vanish when their value is unknown: " at 10.0.0.2:53" or ""
    "resolver_text",
    "image_text",
    "helper_text",
    "path_text",
    "secret_text",
    "secret_text2",
    "repository_text",
)


_PLURAL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\|([a-z][a-z -]*)(?:\|([a-z][a-z -]*))?$")
#: List filters: ``{NAME|and}``, ``{NAME|and 5}``, ``{NAME|or 3}``, ``{NAME|count}``.
_FILTER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\|(and|or|count)(?: ([1-9][0-9]?))?$")
_FILTERS = ("and", "or", "count")


def plural(count: Any, singular: str, plural_form: str | None = None) -> str:
    """``1 tag``, ``3 tags``, ``0 tags``; ``plural_form`` for irregular nouns. A list
    counts its items. A count that is not a number is written as it is, with the plural
    (``? tags``)."""
    many = plural_form or singular + "s"
    if isinstance(count, list | tuple):
        count = len(count)
    if isinstance(count, bool) or not isinstance(count, int | float):
        return f"{format_value(count)} {many}"
    return f"{format_value(count)} {singular if count == 1 else many}"


def plural_field(name: str) -> tuple[str, str, str | None] | None:
    """``count|tag`` -> (``count``, ``tag``, None); None for any other field (a list
    filter such as ``names|and`` is not a plural)."""
    if _FILTER_RE.match(name):
        return None
    m = _PLURAL_RE.match(name)
    return (m.group(1), m.group(2), m.group(3)) if m else None


def filter_field(name: str) -> tuple[str, str, int | None] | None:
    """``names|and 5`` -> (``names``, ``and``, 5); None for any other field."""
    m = _FILTER_RE.match(name)
    if not m:
        return None
    return m.group(1), m.group(2), int(m.group(3)) if m.group(3) else None


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, Mapping):
        return list(value)
    return [value]


def join_list(value: Any, word: str = "and", cap: int | None = None) -> str:
    """A list as a sentence says it: ``a``, ``a and b``, ``a, b and c``; with ``cap``, at
    most that many items then ``and 3 more`` (``word`` ``or``: ``a, b or c``). An empty
    list is ``(none)``, a missing value ``?``."""
    if value is None:
        return MISSING
    items = [format_value(v) for v in _items(value)]
    if not items:
        return "(none)"
    if cap is not None and len(items) > cap:
        return f"{', '.join(items[:cap])} {word} {len(items) - cap} more"
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def apply_filter(value: Any, word: str, cap: int | None) -> str:
    """What ``{NAME|and}``, ``{NAME|or 3}`` and ``{NAME|count}`` write for ``value``."""
    if word == "count":
        if value is None:
            return MISSING
        if isinstance(value, int | float) and not isinstance(value, bool):
            return format_value(value)
        return str(len(_items(value)))
    return join_list(value, word, cap)


#: The conditional markers: ``{if NAME}``, ``{unless NAME}``, ``{else}``, ``{end}``; ``{{``
#: and ``}}`` are matched first so that escaped braces never start one.
_COND_RE = re.compile(
    r"\{\{|\}\}|\{(if|unless) +([A-Za-z][A-Za-z0-9_]*)(?:=([A-Za-z0-9_.:/+-]+))?\}"
    r"|\{(else|end)\}"
)


def is_plain_name(name: str) -> bool:
    """A name a template may use: letters, digits and ``_``, starting with a letter."""
    return bool(_NAME_RE.match(name))


def _test(context: Mapping[str, Any], name: str, wanted: str | None) -> bool:
    """``{if NAME}``: the value is set; ``{if NAME=VALUE}``: it is written ``VALUE``."""
    value = context.get(name)
    if wanted is None:
        return truthy(value)
    return value is not None and format_value(value) == wanted


def truthy(value: Any) -> bool:
    """What ``{if NAME}`` tests: set, and not empty, false or zero."""
    if value is None or value is False:
        return False
    if isinstance(value, str | list | tuple | dict | set | frozenset | int | float):
        return bool(value)
    return True


def _conditionals(template: str, context: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    """``template`` with its conditionals resolved against ``context`` (``None``: keep the
    text of every branch, for validation), and the problems found in their structure."""
    out: list[str] = []
    problems: list[str] = []
    # Each open block: (keyword, name, currently in the else branch, the block's outer
    # "keep" state); text is kept when every enclosing branch is kept.
    stack: list[tuple[str, str, str | None, bool, bool]] = []
    keep = True
    at = 0
    for m in _COND_RE.finditer(template):
        if keep:
            out.append(template[at : m.start()])
        at = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            if keep:
                out.append(token)
            continue
        if m.group(1):
            word, name, wanted = m.group(1), m.group(2), m.group(3)
            stack.append((word, name, wanted, False, keep))
            if context is not None:
                value = _test(context, name, wanted)
                keep = keep and (value if word == "if" else not value)
            continue
        if not stack:
            problems.append(f"{{{m.group(4)}}} without an open {{if NAME}}")
            continue
        word, name, wanted, in_else, outer = stack[-1]
        if m.group(4) == "else":
            if in_else:
                problems.append(f"two {{else}} in one {{{word} {name}}}")
            stack[-1] = (word, name, wanted, True, outer)
            if context is not None:
                value = _test(context, name, wanted)
                keep = outer and not (value if word == "if" else not value)
            continue
        stack.pop()
        keep = outer
    if keep:
        out.append(template[at:])
    for word, name, _wanted, _in_else, _outer in stack:
        problems.append(f"{{{word} {name}}} without its {{end}}")
    return "".join(out), problems


def resolve_conditionals(template: str, context: Mapping[str, Any]) -> str:
    """``template`` keeping only the branches of its conditionals that ``context`` picks."""
    if "{if " not in template and "{unless " not in template:
        return template
    return _conditionals(template, context)[0]


def condition_names(template: str) -> list[str]:
    """The names ``template``'s conditionals test."""
    return [m.group(2) for m in _COND_RE.finditer(template) if m.group(2)]


def is_loopback(host: object) -> bool:
    """``localhost`` (and its subdomains), 127.0.0.0/8 or ``::1``, written any way."""
    return _is_loopback(str(host or ""))


@functools.lru_cache(maxsize=1024)
def _is_loopback(host: str) -> bool:
    # once per host text: explain asks it of every error it reads, and a log names the
    # same few hosts again and again (ipaddress parses through exceptions)
    from regdoctor.reference.targets import is_loopback as loopback

    text = host.strip("[]").lower().rstrip(".")
    return text.endswith(".localhost") or loopback(text)


def is_ip(host: object) -> bool:
    """``host`` is an IP address (``192.0.2.7``, ``[2001:db8::1]``), not a name."""
    return _is_ip(str(host or ""))


@functools.lru_cache(maxsize=1024)
def _is_ip(host: str) -> bool:
    from regdoctor.reference.targets import is_ip_literal

    return is_ip_literal(host)


def port_given(registry: object) -> bool:
    """``registry`` as written names its port (``host:5000``, ``[::1]:5000``)."""
    text = str(registry or "")
    head, sep, port = text.rpartition(":")
    return bool(sep) and port.isdigit() and (not head.startswith("[") or head.endswith("]"))


#: For conditionals: the run judges this runtime (found on the host, or ``--runtime``).
RUNTIME_NAMES: tuple[str, ...] = (
    "runtime_docker",
    "runtime_podman",
    "runtime_containerd",
    "runtime_kubernetes",
)
#: Names only the user knows (which node, pod, namespace...): in a command they are the
#: shell variable the command sets first, unless a fact gives the value.
USER_NAMES: tuple[str, ...] = (
    "node",
    "pod",
    "namespace",
    "deployment",
    "container",
    "mirror",
    "secret_namespace",
    "new_secret",
)


def _fields(template: str) -> Iterator[tuple[str, str | None, str | None, str | None]]:
    return iter(_FORMATTER.parse(template))


def template_problems(template: str) -> list[str]:
    """Problems with the placeholders of ``template`` (empty when it is fine)."""
    template, problems = _conditionals(template, None)
    try:
        parsed = list(_fields(template))
    except ValueError as exc:
        return [f"bad braces ({exc}); write {{{{ and }}}} for literal braces"]
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        shown = "{" + name + "}"
        if not name:
            problems.append("empty placeholder {} (name the value: {host})")
        elif not _NAME_RE.match(name) and plural_field(name) is None and filter_field(name) is None:
            problems.append(
                f"placeholder {shown} is not a plain name (no attributes, indexes, "
                "numbers or leading underscores)"
            )
        if conversion:
            problems.append(f"placeholder {shown} uses a conversion !{conversion}")
        if spec:
            problems.append(f"placeholder {shown} uses a format spec :{spec}")
    return problems


def placeholders(template: str) -> list[str]:
    """The names used in ``template`` (empty if it does not parse)."""
    return list(_placeholders(template))


@functools.lru_cache(maxsize=1024)
def _placeholders(template: str) -> tuple[str, ...]:
    """:func:`placeholders`, once per template text (``explain`` asks it of every
    remediation step of every error it reads)."""
    template = _conditionals(template, None)[0]
    try:
        names = [name for _lit, name, _spec, _conv in _fields(template) if name]
        return tuple((filter_field(n) or plural_field(n) or (n,))[0] for n in names)
    except ValueError:
        return ()


def format_value(value: Any) -> str:
    """A value as a reader sees it: lists comma-joined, ``None`` as ``?``."""
    text = _format(value, 0)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 1] + "…"
    return text


def _format(value: Any, depth: int) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, str):
        return value
    if depth > 3:
        return "…"
    if isinstance(value, Mapping):
        if not value:
            return "(none)"
        return ", ".join(f"{k}={_format(v, depth + 1)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        if not value:
            return "(none)"
        return ", ".join(_format(v, depth + 1) for v in value)
    return str(value)


def placeholder(name: str) -> str:
    """How ``explain`` shows a value a paste did not reveal: ``<registry>``."""
    return f"<{name}>"


def step_missing(name: str) -> str:
    """How a remediation step's text names a value that is not known: the shell variable
    its commands set (``$REGISTRY``; ``{path}`` is ``$FIX_PATH``, as in the commands)."""
    from regdoctor.engine.shell_names import shell_variable

    return "$" + shell_variable(name)


def render(
    template: str, context: Mapping[str, Any], missing: Callable[[str], str] | None = None
) -> str:
    """Fill ``template`` from ``context``; never raises.

    A name that is missing (or ``None``) renders as ``?``, or as ``missing(name)`` when
    given (``explain`` names what the paste did not reveal). Conditionals are resolved
    against ``context`` first.
    """
    template = resolve_conditionals(template, context)
    try:
        parsed = list(_fields(template))
    except ValueError:
        return template
    out: list[str] = []
    for literal, name, _spec, _conv in parsed:
        out.append(literal)
        if name is None:
            continue
        filtered = filter_field(name)
        if filtered is not None:
            out.append(apply_filter(context.get(filtered[0]), filtered[1], filtered[2]))
            continue
        counted = plural_field(name)
        if counted is not None:
            out.append(plural(context.get(counted[0]), counted[1], counted[2]))
            continue
        if not _NAME_RE.match(name):
            out.append(MISSING)
            continue
        try:
            value = context.get(name)
            if value is None and missing is not None:
                out.append(missing(name))
            else:
                out.append(format_value(value))
        except Exception:
            out.append(MISSING)
    return "".join(out)
