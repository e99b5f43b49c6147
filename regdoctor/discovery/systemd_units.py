"""The environment systemd gives dockerd and containerd: ``Environment=`` of their
units' drop-ins (``/etc/systemd/system/docker.service.d/*.conf``,
``containerd.service.d/*.conf``), where Docker's and containerd's documentation put the
daemon's proxy (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``).

A daemon pulls in its own process, so it uses these, never the shell's variables:
dockerd 20.10 builds its registry transport with ``http.ProxyFromEnvironment``
(``registry/registry.go`` ``NewTransport``), as does containerd's CRI plugin
(``pkg/cri/server/image_pull.go`` ``newTransport``, 1.6). ``ctr`` and podman pull in
the user's own process, with the user's environment.

Read as systemd does (``src/shared/dropin.c``, ``src/core/load-fragment.c``
``config_parse_environ``): drop-ins in file-name order; ``Environment=`` lines of the
``[Service]`` section, each one or more assignments separated by spaces, quoted or
bare; a later assignment of a variable wins; an empty ``Environment=`` clears the list;
a trailing backslash continues a line. Not read: ``EnvironmentFile=``, the vendor unit
itself, ``/run/systemd/system`` drop-ins.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from regdoctor.discovery import locations
from regdoctor.discovery.base import FileResult, Paths, read_text

SOURCE = "systemd"
#: the runtime whose pulls a unit's environment governs -> its drop-in directory
DROP_INS = {
    "docker": locations.DOCKER_DROP_INS,
    "kubernetes": locations.CONTAINERD_DROP_INS,
}
MAX_DROP_INS = 64


@dataclass(eq=False)
class UnitEnvironment:
    """A daemon's ``Environment=``; ``sources`` maps each variable to the drop-in (as
    the machine names it) that set it last."""

    directory: str
    env: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    files: list[FileResult] = field(default_factory=list)

    @property
    def unreadable(self) -> bool:
        """A drop-in that could not be read (one holding a proxy login is often 0600):
        what the daemon's environment holds is then unknown."""
        return any(f.exists and not f.parsed for f in self.files)


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


def apply_drop_in(text: str, unit: UnitEnvironment, shown: str) -> None:
    """Apply one drop-in's ``[Service]`` ``Environment=`` lines to ``unit``."""
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
            unit.env.clear()
            unit.sources.clear()
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue  # systemd: "Invalid environment assignment, ignoring"
        for word in words:
            name, eq, val = word.partition("=")
            if eq and name.replace("_", "a").isalnum() and not name[0].isdigit():
                unit.env[name] = val.replace("%%", "%")  # systemd's escape of a "%"
                unit.sources[name] = shown


def discover(paths: Paths, runtime: str) -> UnitEnvironment | None:
    """The drop-in environment of the daemon that pulls for ``runtime`` (docker:
    dockerd; kubernetes: containerd's CRI plugin); None for a runtime pulling in the
    user's own process."""
    directory = DROP_INS.get(runtime)
    if directory is None:
        return None
    unit = UnitEnvironment(directory)
    try:
        base = paths.at(directory)
        entries = sorted(p for p in base.iterdir() if p.name.endswith(".conf"))
    except OSError:
        return unit
    for path in entries[-MAX_DROP_INS:]:  # the last ones win: keep those
        shown = f"{directory}/{path.name}"
        result = FileResult(paths.within(path), SOURCE, runtime, "systemd")
        text = read_text(result)
        unit.files.append(result)
        if text is not None:
            result.data = {}
            apply_drop_in(text, unit, shown)
    return unit
