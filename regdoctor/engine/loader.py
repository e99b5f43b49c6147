"""Loading the rule catalog: the bundled rules plus any user rule folders.

One YAML file per rule (``<area>/<id>.yaml``); sibling ``<id>.cases.yaml`` files hold the
rule's test cases and are skipped here. A file that cannot be read, parsed or validated
becomes a :class:`RuleLoadError` in ``Catalog.errors`` and loading goes on with the rest.
A rule id defined twice is an error for the second file; the first one stays in force
(bundled rules load first, then ``extra_dirs`` in the order given).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regdoctor.engine.schema import Rule, RuleLoadError, RuleValidationError
from regdoctor.engine.sources import BUNDLED_RULES_DIR, CASES_SUFFIX

__all__ = [
    "BUNDLED_RULES_DIR",
    "CASES_SUFFIX",
    "MAX_YAML_NODES",
    "Catalog",
    "load_catalog",
    "load_rule",
    "load_yaml",
    "rule_files",
]


_MAX_RULE_BYTES = 256 * 1024


@dataclass(frozen=True)  # no __slots__: unpickled at each start (see engine/schema.py)
class Catalog:
    """The rules loaded, and the files that could not be loaded."""

    rules: tuple[Rule, ...] = ()
    errors: tuple[RuleLoadError, ...] = ()

    def get(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)


#: Most YAML nodes a rule file may expand to, aliases counted each time they are used
#: (a "billion laughs" file is a few lines that expand to 10^9 nodes).
MAX_YAML_NODES = 100_000


def load_yaml(path: Path) -> Any:
    """Read and parse one YAML file the bounded way every command reads YAML
    (``regdoctor.bounded``: a FIFO, a device or a file over 256 KiB is not read; aliases
    that expand beyond :data:`MAX_YAML_NODES` nodes are refused before anything is built).

    Raises ``ValueError`` with a readable message (line and column when known).
    """
    import yaml

    from regdoctor.bounded import UnreadableFile, read_bounded, yaml_documents_bounded

    try:
        text = read_bounded(path, _MAX_RULE_BYTES).decode("utf-8")
    except UnreadableFile as exc:
        raise ValueError(f"refused: {exc.strerror}") from exc
    except OSError as exc:
        raise ValueError(f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text: {exc}") from exc
    try:
        documents = yaml_documents_bounded(text, max_nodes=MAX_YAML_NODES)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"invalid YAML{where}: {problem}") from exc
    except RecursionError as exc:
        raise ValueError("refused: nested too deeply") from exc
    if len(documents) > 1:
        raise ValueError(f"expected a single document, found {len(documents)}")
    return documents[0] if documents else None


def rule_files(directory: Path) -> Iterator[Path]:
    """The rule files under ``directory`` (recursively, sorted), without cases files."""
    for path in sorted(directory.rglob("*.yaml")):
        if path.name.endswith(CASES_SUFFIX) or not path.is_file():
            continue
        yield path


def load_rule(path: Path) -> Rule:
    """Load and validate one rule file. Raises :class:`RuleValidationError`."""
    try:
        data = load_yaml(path)
    except ValueError as exc:
        raise RuleValidationError([str(exc)]) from exc
    from regdoctor.engine.parse import parse_rule  # the validator: not for a cached catalog

    return parse_rule(data, path)


def _sources(extra_dirs: Iterable[Path], bundled: bool) -> Iterator[tuple[Path, bool]]:
    if bundled:
        yield BUNDLED_RULES_DIR, True
    for directory in extra_dirs:
        yield Path(directory), False


def load_catalog(extra_dirs: Sequence[Path] = (), *, bundled: bool = True) -> Catalog:
    """The bundled rules plus the rules in ``extra_dirs`` (folders or single files).

    ``bundled=False`` loads only ``extra_dirs`` (``regdoctor rules test DIR``, tests).
    """
    rules: list[Rule] = []
    errors: list[RuleLoadError] = []
    seen: dict[str, Path] = {}
    for source, is_bundled in _sources(extra_dirs, bundled):
        if source.is_file():
            paths: Iterable[Path] = [source]
        elif source.is_dir():
            paths = rule_files(source)
        else:
            if not is_bundled:
                errors.append(RuleLoadError(source, ("no such rule file or folder",)))
            continue
        for path in paths:
            try:
                rule = load_rule(path)
            except RuleValidationError as exc:
                errors.append(RuleLoadError(path, exc.problems))
                continue
            if rule.id in seen:
                errors.append(
                    RuleLoadError(path, (f"id: {rule.id!r} is already defined in {seen[rule.id]}",))
                )
                continue
            seen[rule.id] = path
            rules.append(rule)
    return Catalog(rules=tuple(rules), errors=tuple(errors))
