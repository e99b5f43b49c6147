"""The JSON document (schema v3): ``Report.to_dict()``, made JSON-safe and redacted.

The document is described by ``regdoctor/schemas/check-v3.json`` (JSON Schema 2020-12)
and documented field by field in ``docs/json-schema.md``. Key order is the order of
``Report.to_dict()``; the same report always gives the same text.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from typing import Any

from regdoctor.model import Report, Secret
from regdoctor.redact.secrets import MASK, Redactor, redact_obj

__all__ = ["render_json", "to_document"]


def _jsonable(value: Any) -> Any:
    """Turn what may hide in ``facts`` into plain JSON values (never raising)."""
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    return str(value)


def to_document(report: Report, *, redactor: Redactor | None = None) -> dict[str, Any]:
    """The report as the schema-v3 document (a dict), with secrets masked."""
    data = _jsonable(report.to_dict())
    return redactor.redact_obj(data) if redactor is not None else redact_obj(data)


def render_json(report: Report, *, redactor: Redactor | None = None) -> str:
    """The report as schema-v3 JSON text (indented, no trailing newline)."""
    return json.dumps(
        to_document(report, redactor=redactor), indent=2, sort_keys=False, allow_nan=False
    )
