"""Present a :class:`~regdoctor.tags.command.TagsResult`: plain (Rich, every untrusted
value escaped) or JSON. No verdicts here: findings come from the rules."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from regdoctor.engine.template import plural
from regdoctor.escape import safe_text
from regdoctor.redact.secrets import Redactor, mask_literals, redact, walk_obj

if TYPE_CHECKING:
    from rich.console import Console

    from regdoctor.tags.command import TagsResult

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


#: A tag name as the distribution spec defines it: a tag of this shape is printed as it is
#: (but for the literal secrets of the run), never read as text that may hold a secret.
_TAG_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def to_document(result: TagsResult, redactor: Redactor | None = None) -> dict[str, Any]:
    """The JSON document, redacted field by field: every text through the redactor, but
    tag names only for the literal secrets of the run (:func:`_redacted`)."""
    return _redacted(_document(result), redactor)


def _redacted(document: dict[str, Any], redactor: Redactor | None) -> dict[str, Any]:
    """Tag names are the registry's identifiers: a valid one is kept as it is, but for the
    run's literal secrets (a hostile registry could list the password or token it was
    sent as a tag). Read as text, a tag such as ``eyJhbGciOi.eyJzdWIi.c2ln`` looks like a
    JWT and was masked. Everything else (errors, findings, the endpoint) is text from a
    server or a rule: every string is redacted, and the value of a key that names a
    secret is masked (``redact_obj``).

    Each distinct string is redacted once (a ``functools.cache`` per document): a
    2,000-tag scan's document repeats its 500 digests, a few media types and each tag
    name three times, and the pattern pass costs microseconds per string."""
    # pure functions of their text while one document is written (the run's secrets
    # do not change meanwhile)
    text = functools.cache(redactor.redact if redactor is not None else redact)
    name = functools.cache(lambda value: _tag_name(value, redactor))

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return text(value)
        if value is None or isinstance(value, int | float):
            return value
        return walk_obj(value, text)

    def tag(value: Any) -> Any:
        if isinstance(value, list):
            return [tag(v) for v in value]
        return name(value) if isinstance(value, str) else value

    out: dict[str, Any] = {}
    for key, value in document.items():
        field = _TAGGED.get(key)
        if field is None or not isinstance(value, list):
            out[key] = walk(value)
            continue
        out[key] = [
            {k: tag(v) if k == field else walk(v) for k, v in item.items()} for item in value
        ]
    return out


def _tag_name(value: str, redactor: Redactor | None) -> str:
    """A tag name: masked only where it holds a literal secret of the run; a value that
    is no valid tag name is text, redacted as any other."""
    if _TAG_NAME.fullmatch(value):
        return mask_literals(value, redactor)
    return redactor.redact(value) if redactor is not None else redact(value)


#: The lists of the document whose items name tags: list -> the field with the tag(s).
_TAGGED: dict[str, str] = {"tags": "tag", "digests": "tags", "aliases": "tags", "moved": "tag"}


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
    faster writer), redacted field by field (:func:`to_document`): a 2,000-tag scan's
    half a megabyte costs a pattern pass only over the strings that hold a trigger word."""
    from regdoctor.render.json_indent import dumps_indent1

    return dumps_indent1(to_document(result, redactor))


def render_json(result: TagsResult, console: Console, redactor: Redactor | None = None) -> None:
    console.out(json_text(result, redactor), highlight=False)


def render_plain(
    result: TagsResult, console: Console, *, verbose: bool = False, redactor: Redactor | None = None
) -> None:
    from rich.text import Text

    clean_redact = redactor.redact if redactor else redact

    def clean(value: object) -> str:
        if isinstance(value, _Names):
            return safe_text(value, keep_newlines=False)  # redacted as tag names already
        return safe_text(clean_redact("" if value is None else str(value)), keep_newlines=False)

    def names(tags: list[str]) -> str:
        return ", ".join(_tag_name(t, redactor) for t in tags)

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
                (_Names(names(shown) + more), "bold"),
            )
        failed = [i for i in resolution.tags.values() if i.outcome != "found"]
        for info in failed:
            line(
                (_Names(_tag_name(info.tag, redactor)), "bold"),
                (f"  {info.outcome}: {info.error}", "red"),
            )
    if result.drifts:
        console.print()
        line(("moved since the last run", "bold"), f" ({result.state_path})")
        for d in result.drifts:
            line(
                _Names(f"  {_tag_name(d.tag, redactor)}"),
                f": {d.previous_digest} (first seen {d.previous_first_seen}) -> "
                f"{d.digest} (first seen {d.first_seen})",
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


class _Names(str):
    """Text already redacted (tag names): :func:`render_plain` only escapes it."""

    __slots__ = ()


def _or_unknown(value: object) -> str:
    return "?" if value is None else str(value)
