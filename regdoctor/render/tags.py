"""Present a :class:`~regdoctor.tags.command.TagsResult`: plain (Rich, every untrusted
value escaped) or JSON. No verdicts here: findings come from the rules."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from regdoctor.engine.template import plural
from regdoctor.escape import safe_text
from regdoctor.redact.secrets import Redactor, redact, redact_lines

if TYPE_CHECKING:
    from rich.console import Console

    from regdoctor.tags.command import TagsResult

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def to_document(result: TagsResult, redactor: Redactor | None = None) -> dict[str, Any]:
    """The JSON document, redacted."""
    text = json.dumps(_document(result))
    text = (redactor.redact if redactor else redact)(text)
    return json.loads(text)  # type: ignore[no-any-return]


def _document(result: TagsResult) -> dict[str, Any]:
    listing, resolution = result.listing, result.resolution
    tags = [info.to_dict() for info in resolution.tags.values()] if resolution else []
    groups = resolution.groups() if resolution else {}
    document: dict[str, Any] = {
        "schema": "regdoctor.tags/v1",
        "repository": f"{result.target.registry}/{result.target.repository}",
        "endpoint": result.session.base,
        "started_at": result.started_at,
        "duration_ms": result.duration_ms,
        "status": result.status,
        "exit_code": result.exit_code,
        "error": result.session.error,
        "listing": listing.facts() if listing else None,
        "resolution": resolution.facts(result.target.repository or "") if resolution else None,
        "resolve_ms": resolution.duration_ms if resolution else None,
        "tags": tags,
        "digests": [{"digest": d, "tags": t} for d, t in groups.items()],
        "aliases": [{"digest": d, "tags": t} for d, t in groups.items() if len(t) > 1],
        "moved": [
            {
                "tag": d.tag,
                "from": d.previous_digest,
                "from_first_seen": d.previous_first_seen,
                "from_last_seen": d.previous_last_seen,
                "to": d.digest,
                "to_first_seen": d.first_seen,
            }
            for d in result.drifts
        ],
        "state_file": str(result.state_path) if result.state_path else None,
        "compared": [
            {"registry": c.registry, "role": c.role, "ok": c.ok, "error": c.error}
            for c in result.comparisons
        ],
        "subjects": [s.to_dict() for s in result.subjects],
        "findings": [f.to_dict() for f in result.findings],
    }
    return document


def json_text(result: TagsResult, redactor: Redactor | None = None) -> str:
    """The JSON document as text (indented as ``json.dumps(indent=1)`` writes it, by a
    faster writer), redacted line by line: a 2,000-tag scan's document is half a
    megabyte, and redacting it whole took longer than the scan."""
    from regdoctor.render.json_indent import dumps_indent1

    return redact_lines(dumps_indent1(_document(result)), redactor)


def render_json(result: TagsResult, console: Console, redactor: Redactor | None = None) -> None:
    console.out(json_text(result, redactor), highlight=False)


def render_plain(
    result: TagsResult, console: Console, *, verbose: bool = False, redactor: Redactor | None = None
) -> None:
    from rich.text import Text

    clean_redact = redactor.redact if redactor else redact

    def clean(value: object) -> str:
        return safe_text(clean_redact("" if value is None else str(value)), keep_newlines=False)

    def line(*parts: tuple[str, str] | str) -> None:
        text = Text()
        for part in parts:
            if isinstance(part, tuple):
                text.append(clean(part[0]), style=part[1])
            else:
                text.append(clean(part))
        console.print(text, soft_wrap=True)

    repo = f"{result.target.registry}/{result.target.repository}"
    line((repo, "bold"), f"  {result.session.base}")
    if result.session.error:
        line(("cannot use the repository: ", "red"), result.session.error)
    listing, resolution = result.listing, result.resolution
    if listing is not None:
        extra = " (truncated at the cap)" if listing.truncated else ""
        extra += " (pagination loop stopped)" if listing.loop else ""
        if not listing.ok:
            line(("tags/list failed: ", "red"), f"{listing.outcome}: {listing.error}")
        else:
            line(f"{plural(len(listing.tags), 'tag')} in {plural(listing.pages, 'page')}{extra}")
    if resolution is not None:
        facts = resolution.facts(result.target.repository or "")
        line(
            f"{facts['resolved']}/{plural(facts['tags'], 'tag')} resolved to "
            f"{plural(facts['digests'], 'digest')} in "
            f"{resolution.duration_ms / 1000:.2f}s ({facts['head_requests']} HEAD, "
            f"{facts['get_requests']} GET, {_or_unknown(facts['connections'])} "
            f"connections, concurrency {facts['concurrency']})"
        )
        groups = resolution.groups()
        limit = None if verbose else 8
        console.print()
        for digest, tags in groups.items():
            shown = tags if limit is None or len(tags) <= limit else tags[:limit]
            more = "" if len(shown) == len(tags) else f" +{len(tags) - len(shown)} more"
            media = resolution.tags[tags[0]].media_type or "?"
            label = "aliases " if len(tags) > 1 else ""
            line(
                (digest, "cyan"),
                f"  {media.rsplit('.', 1)[-1] if not verbose else media}  {label}",
                (", ".join(shown) + more, "bold"),
            )
        failed = [i for i in resolution.tags.values() if i.outcome != "found"]
        for info in failed:
            line((info.tag, "bold"), (f"  {info.outcome}: {info.error}", "red"))
    if result.drifts:
        console.print()
        line(("moved since the last run", "bold"), f" ({result.state_path})")
        for d in result.drifts:
            line(
                f"  {d.tag}: {d.previous_digest} (first seen {d.previous_first_seen}) -> "
                f"{d.digest} (first seen {d.first_seen})"
            )
    for comparison in result.comparisons:
        if not comparison.ok:
            line(
                (f"{comparison.role} {comparison.registry}: ", "red"), comparison.error or "failed"
            )
    findings = result.findings
    console.print()
    if not findings:
        line(("no findings", "green"))
    for finding in findings:
        style = _STYLE.get(str(finding.severity), "")
        line(
            (f"{finding.severity}", style),
            f" [{finding.category}] ",
            (finding.target, "bold"),
            f": {finding.title}",
        )
        if verbose or finding.severity != "info":
            for text_line in finding.explanation.strip().splitlines():
                line(f"    {text_line}")
            for step in finding.remediation[:2]:
                line(f"    fix: {step.text}")
                command = step.commands.get("docker")
                if command:
                    line(("      $ ", "dim"), command)


def _or_unknown(value: object) -> str:
    return "?" if value is None else str(value)
