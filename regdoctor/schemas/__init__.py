"""JSON Schemas of regdoctor's machine-readable outputs, shipped inside the package.

``check-v3``: the document ``regdoctor check --format json`` prints
(documented in ``docs/json-schema.md``); ``check-v2``, the one it printed before
configuration files moved out of ``targets[]`` (kept for readers of older documents).
``explain-v1``: what ``regdoctor explain --format json`` prints (``docs/explain-schema.md``).
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

__all__ = ["SCHEMAS", "load_schema"]

#: The schemas this package ships, by name.
SCHEMAS: tuple[str, ...] = ("check-v2", "check-v3", "explain-v1")

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@functools.cache
def _schema_text(name: str) -> str:
    return resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")


def load_schema(name: str = "check-v3") -> dict[str, Any]:
    """The JSON Schema called ``name`` (a fresh dict on every call)."""
    if not _NAME.match(name) or name not in SCHEMAS:
        raise KeyError(f"unknown schema {name!r}; known: {', '.join(SCHEMAS)}")
    schema: dict[str, Any] = json.loads(_schema_text(name))
    return schema
