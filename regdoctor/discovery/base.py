"""What every discovery module shares: where files are (``--root``), how a file is read
without ever raising, and the records a parser returns.

A parser never raises on bad input: a file that cannot be read or parsed, or whose
values have the wrong shape, yields :class:`Issue` records (with line and column where
the format tells) and whatever could still be understood. Rules judge the issues; the
check goes on.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The bounded readers live in ``regdoctor.bounded`` (the rule loader and ``tags
# --manifests`` use them too); re-exported here for the discovery modules.
from regdoctor.bounded import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES
from regdoctor.bounded import MAX_YAML_DEPTH as MAX_YAML_DEPTH
from regdoctor.bounded import MAX_YAML_NODES as MAX_YAML_NODES
from regdoctor.bounded import UnreadableFile as UnreadableFile
from regdoctor.bounded import read_bounded as read_bounded
from regdoctor.bounded import yaml_documents_bounded as yaml_documents_bounded

#: The configuration root of the discovery under way (``--root DIR``): every file a
#: parser reads is resolved inside it, so a link in another machine's tree never reads
#: this host's file. Set by :func:`reading_below` (``effective.discover``).
_ROOT: ContextVar[Path | None] = ContextVar("regdoctor_config_root", default=None)


@contextmanager
def reading_below(root: Path | None) -> Iterator[None]:
    """Within this block, :func:`read_text` resolves symlinks inside ``root``."""
    token = _ROOT.set(root)
    try:
        yield
    finally:
        _ROOT.reset(token)


@dataclass(frozen=True, eq=False)
class Paths:
    """Where to look. ``root`` is treated as ``/``: with ``--root DIR`` every path,
    including the ones taken from the environment (``$HOME``, ``$DOCKER_CONFIG``,
    ``$XDG_CONFIG_HOME``...), is looked up below DIR. Per-file overrides
    (``--daemon-config`` ...) are real paths and are never re-rooted."""

    root: Path = Path("/")
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    overrides: Mapping[str, Path] = field(default_factory=dict)

    def at(self, path: str | Path) -> Path:
        """``path`` as seen by the machine whose files are below ``root``: below another
        machine's tree, its symlinks are resolved inside the root (an absolute link
        target starts again at ``root``), never on this host."""
        text = str(path)
        if str(self.root) in ("/", ""):
            return Path(text)
        from regdoctor.bounded import within_root

        return within_root(self.root, self.root / text.lstrip("/"))

    def within(self, path: Path) -> Path:
        """A path already below ``root`` (a directory entry, a name appended to
        :meth:`at`) with its symlinks resolved inside the root."""
        from regdoctor.bounded import within_root

        return within_root(self.root, path)

    def shown(self, path: str | Path) -> str:
        """``path`` as the machine whose files are below ``root`` names it (the inverse
        of :meth:`at`): what a fix command run on that machine must use."""
        text, root = str(path), str(self.root).rstrip("/")
        if root and text.startswith(root + "/"):
            return text[len(root) :]
        return text

    def home(self) -> Path:
        return self.at(self.env.get("HOME") or "/root")

    def uid(self) -> int:
        """The uid of the user whose configuration is examined (podman's
        ``/run/containers/<uid>/auth.json``): the owner of ``$HOME`` as this tree has it
        (with ``--root``, another machine's number; under ``sudo -E``, the user's, not
        root's), else this process's."""
        try:
            return self.home().stat().st_uid
        except OSError:
            return os.getuid()

    def uid_guessed(self) -> bool:
        """Whether :meth:`uid` is a guess: podman takes the uid it runs as
        (containers/image getPathToAuthWithOS ``os.Getuid()``), which regdoctor cannot
        know. It is this process's own when checking this machine and ``$HOME`` is this
        user's; with ``--root``, under ``sudo -E`` (another user's ``$HOME``) or without
        a ``$HOME``, it is the owner of ``$HOME``, or this process's uid: a guess."""
        try:
            owner = self.home().stat().st_uid
        except OSError:
            return True
        return str(self.root) not in ("/", "") or owner != os.getuid()

    def env_path(self, name: str) -> Path | None:
        value = self.env.get(name)
        return self.at(value) if value else None

    def xdg_config_home(self) -> Path:
        return self.env_path("XDG_CONFIG_HOME") or self.home() / ".config"

    def override(self, name: str) -> Path | None:
        return self.overrides.get(name)


@dataclass(frozen=True, eq=False)
class Issue:
    """One problem with one configuration file."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None
    key: str | None = None
    fatal: bool = True  # the runtime refuses the file (or fails to start) because of it

    def located(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
            if self.column is not None:
                where.append(f"column {self.column}")
        if self.key:
            where.append(self.key)
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key": self.key,
            "message": self.message,
            "fatal": self.fatal,
        }


@dataclass(eq=False)
class FileResult:
    """What reading one file gave: the parsed data (or None) and the problems."""

    path: Path
    source: str  # the discovery module: docker_daemon, docker_config, ...
    runtime: str
    format: str
    exists: bool = False
    data: Any = None
    issues: list[Issue] = field(default_factory=list)
    effect: str = ""  # what the runtime does with a broken file

    @property
    def file(self) -> str:
        return str(self.path)

    @property
    def parsed(self) -> bool:
        return self.data is not None

    def issue(
        self,
        message: str,
        *,
        key: str | None = None,
        line: int | None = None,
        column: int | None = None,
        fatal: bool = True,
    ) -> None:
        if len(self.issues) < 100:
            self.issues.append(Issue(self.file, message, line, column, key, fatal))

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "source": self.source,
            "runtime": self.runtime,
            "format": self.format,
            "exists": self.exists,
            "parsed": self.parsed,
            "issues": [i.to_dict() for i in self.issues],
        }


def read_text(result: FileResult) -> str | None:
    """The file's text, or None (with an issue when it exists but cannot be read)."""
    path = result.path
    from regdoctor.bounded import read_within_root, within_root

    root = _ROOT.get()
    try:
        if not within_root(root, path).exists():
            return None
        result.exists = True
        raw = read_within_root(root, path, MAX_CONFIG_BYTES)
    except UnreadableFile as exc:
        result.exists = True
        result.issue(str(exc.strerror))
        return None
    except OSError as exc:
        result.exists = True
        result.issue(f"cannot read: {exc.strerror or exc}")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        result.issue(f"not UTF-8 text (byte {exc.start})", line=line)
        return None
    return text.removeprefix("\ufeff")


def read_json_object(result: FileResult) -> dict[str, Any] | None:
    """Read, parse and keep (``result.data``) a file that must hold one JSON object;
    None, with the problem recorded on ``result``, when it does not."""
    text = read_text(result)
    if text is None:
        return None
    data = parse_json(result, text)
    if data is None:
        return None
    if not isinstance(data, dict):
        result.issue("the file must hold one JSON object")
        return None
    result.data = data
    return data


def parse_json(result: FileResult, text: str) -> Any:
    """JSON, with Go-like strictness (no NaN), line and column on errors."""
    import json

    def no_constants(name: str) -> Any:
        raise ValueError(f"invalid character {name[:1]!r} looking for beginning of value")

    try:
        data = json.loads(text, parse_constant=no_constants)
        if data is None:
            result.issue("the file holds null, not an object", line=1, column=1)
        return data
    except json.JSONDecodeError as exc:
        result.issue(_json_message(exc, text), line=exc.lineno, column=exc.colno)
    except (ValueError, RecursionError) as exc:
        result.issue(f"invalid JSON: {exc}")
    return None


def _json_message(exc: Any, text: str) -> str:
    """Python's message, with the Go wording the runtime would print when it differs."""
    message = exc.msg
    before = text[: exc.pos].rstrip()
    char = text[exc.pos : exc.pos + 1]
    if message.startswith("Expecting property name") and before.endswith(","):
        return (
            f"trailing comma before {char!r} (the runtime says: invalid character "
            f"{char!r} looking for beginning of object key string)"
        )
    if message.startswith("Expecting value") and before.endswith(",") and char == "]":
        return "trailing comma before ']' (invalid character ']' looking for beginning of value)"
    if message.startswith("Expecting value") and not text.strip():
        return "empty file (unexpected end of JSON input)"
    return f"invalid JSON: {message}"


@functools.cache
def _toml_where() -> re.Pattern[str]:
    return re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_toml(result: FileResult, text: str) -> Any:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _toml_where().search(message)
        line = column = None
        if match:
            line, column = int(match.group(1)), int(match.group(2))
            message = message[: match.start()].strip()
        elif "(at end of document)" in message:
            lines = text.split("\n")
            line, column = len(lines), len(lines[-1]) + 1
            message = message.replace("(at end of document)", "at the end of the file").strip()
        result.issue(f"invalid TOML: {message}", line=line, column=column)
    except (ValueError, RecursionError) as exc:
        result.issue(f"invalid TOML: {exc}")
    return None


def parse_yaml_documents(result: FileResult, text: str) -> list[Any] | None:
    """Every document of a YAML (or JSON) stream, with the safe loader."""
    import yaml

    try:
        return [d for d in yaml_documents_bounded(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        result.issue(
            f"invalid YAML: {problem}",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        )
    except (ValueError, RecursionError) as exc:
        result.issue(f"invalid YAML: {exc}")
    return None


def key_path(*parts: str | int) -> str:
    """``registry-mirrors[0]``, ``credHelpers["host:5000"]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out


def where(result: FileResult | str, *parts: str | int) -> str:
    """``/etc/docker/daemon.json#registry-mirrors[0]``: provenance of one value."""
    file = result.file if isinstance(result, FileResult) else result
    return f"{file}#{key_path(*parts)}" if parts else file


def expect_type(
    result: FileResult, value: Any, kind: type | tuple[type, ...], *parts: str | int
) -> bool:
    """Whether ``value`` has the type; records a schema issue when not."""
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        ok = False
    else:
        ok = isinstance(value, kind)
    if not ok:
        names = {
            str: "a string",
            list: "a list",
            dict: "an object",
            bool: "true or false",
            int: "a number",
        }
        wanted = names.get(kind, str(kind)) if isinstance(kind, type) else "a number"
        result.issue(
            f"must be {wanted}, not {_json_type(value)}",
            key=key_path(*parts),
        )
    return ok


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
