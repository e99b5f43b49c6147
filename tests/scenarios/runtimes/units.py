"""systemd unit drop-ins of the scenario node, as systemd reads them for ``Environment=``.

The sandbox owns ``/etc/systemd/system`` (a bind mount in its mount namespace only), so
a fix may write ``/etc/systemd/system/docker.service.d/http-proxy.conf``. The
``systemctl`` shim then behaves as systemd does: ``daemon-reload`` reads the drop-ins
anew (:func:`unit_environment`), and ``restart docker|containerd`` starts the real daemon
with the environment loaded at the last reload (a restart without ``daemon-reload``
keeps the old one, as systemd does).

What is read, as systemd (v247-v252, ``src/core/load-fragment.c``
``config_parse_environ``; ``src/shared/dropin.c``) does:

- ``<unit>.d/*.conf`` in file-name order (only ``/etc/systemd/system``: the sandbox has
  no vendor unit setting an environment);
- ``Environment=`` lines of the ``[Service]`` section, each holding one or more
  assignments separated by spaces, in double or single quotes or bare (unquoted as a
  shell does; systemd's C escapes inside quotes are not decoded);
  a later assignment of a variable replaces an earlier one, and an empty
  ``Environment=`` clears the list;
- lines ending in a backslash continue on the next; ``#`` and ``;`` start comments.

- ``%`` starts a specifier (``config_parse_environ`` resolves each assignment with
  ``unit_env_printf``): ``%%`` is one ``%``; any other ``%X`` is modelled as systemd treats
  an unknown specifier (the assignment is logged and ignored). A valid specifier (``%a``,
  ``%n``...) would be substituted instead: the value is wrong either way, which is what a
  fix writing a percent-encoded proxy login must avoid.

Not modelled: ``EnvironmentFile=``.
"""

from __future__ import annotations

import shlex
from pathlib import Path

#: the units the shim restarts -> their drop-in directory below /etc/systemd/system
UNITS = ("docker", "containerd")


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith(("#", ";"))):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def parse_environment(text: str, into: dict[str, str] | None = None) -> dict[str, str]:
    """The ``Environment=`` assignments of one unit file's ``[Service]`` section, applied
    over ``into`` (the earlier drop-ins' result)."""
    env = dict(into or {})
    section = ""
    for line in _logical_lines(text):
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if not sep or section != "Service" or key.strip() != "Environment":
            continue
        value = value.strip()
        if not value:
            env.clear()  # an empty assignment resets the list
            continue
        try:
            words = shlex.split(value, posix=True)
        except ValueError:
            continue  # systemd logs "Invalid environment assignment, ignoring" and skips it
        for word in words:
            name, eq, val = word.partition("=")
            if eq and name and name.replace("_", "a").isalnum() and not name[0].isdigit():
                resolved = _specifiers(val)
                if resolved is not None:
                    env[name] = resolved
    return env


def _specifiers(value: str) -> str | None:
    """``value`` with ``%%`` read as ``%``; None (the assignment ignored) for any other
    specifier."""
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] != "%":
            out.append(value[i])
            i += 1
        elif value[i + 1 : i + 2] == "%":
            out.append("%")
            i += 2
        else:
            return None
    return "".join(out)


def unit_environment(etc: Path, unit: str) -> dict[str, str]:
    """``Environment=`` of ``unit``.service from its drop-ins below ``etc`` (the sandbox's
    ``/etc`` as the host sees it)."""
    directory = etc / "systemd" / "system" / f"{unit}.service.d"
    env: dict[str, str] = {}
    if not directory.is_dir():
        return env
    for path in sorted(directory.glob("*.conf"), key=lambda p: p.name):
        env = parse_environment(path.read_text(errors="replace"), env)
    return env
