"""``regdoctor explain --format json``: the explain-v1 document
(``regdoctor/schemas/explain-v1.json``, documented in ``docs/explain-schema.md``).

No Rich here: ``--format json`` stays the lightest output.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from regdoctor.engine.explain import TextMatch
from regdoctor.redact.secrets import redact_obj

__all__ = ["explain_document", "render_explain_json"]


def explain_document(
    matches: Sequence[TextMatch], report: Any | None = None, omitted: TextMatch | None = None
) -> list[dict[str, Any]] | dict[str, Any]:
    """The explain-v1 document: a list of matches; with a live check, an object
    ``{"matches": [...], "check": <check-v3 document>}``. Secrets are masked again.
    ``omitted``: the ``regdoctor.omitted`` note on errors left out past the cap, last."""
    items = redact_obj([m.to_dict() for m in [*matches, *([omitted] if omitted else [])]])
    if report is None:
        return items  # type: ignore[no-any-return]
    from regdoctor.render.json_out import to_document

    return {"matches": items, "check": to_document(report)}


def render_explain_json(
    matches: Sequence[TextMatch], report: Any | None = None, omitted: TextMatch | None = None
) -> str:
    return json.dumps(explain_document(matches, report, omitted), indent=2, ensure_ascii=False)
