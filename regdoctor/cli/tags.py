"""``regdoctor tags``: list, resolve and group a repository's tags; judge drift,
divergence, policy, platforms and signatures (see docs/tags.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from regdoctor.cli.errors import say_error
from regdoctor.model import ExitCode


def run(args: argparse.Namespace) -> int:
    from regdoctor.cli.check import UsageError, build_options
    from regdoctor.reference import ReferenceError

    try:
        options = build_options(args)
        tags_options = _tags_options(args)
    except (UsageError, ReferenceError, ValueError) as exc:
        say_error("tags", exc)
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.tags.command import run as run_tags
    from regdoctor.tags.state import StateError

    try:
        result = run_tags(tags_options, options, insecure=args.insecure)
    except ReferenceError as exc:
        say_error("tags", exc)
        return int(ExitCode.CANNOT_RUN)
    except StateError as exc:
        say_error("tags", f"state file {exc}")
        return int(ExitCode.CANNOT_RUN)
    from rich.console import Console

    from regdoctor.redact import Redactor
    from regdoctor.tags.render import render_json, render_plain

    redactor = Redactor([options.credentials.password] if options.credentials else [])
    console = Console(highlight=False, soft_wrap=args.format == "json")
    if args.format == "json":
        render_json(result, console, redactor)
    else:
        render_plain(result, console, verbose=args.verbose, redactor=redactor)
    return result.exit_code


def _tags_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from regdoctor.tags.command import TagsOptions, repo_target
    from regdoctor.tags.policy import TagPolicy
    from regdoctor.tags.state import default_state_path

    repo_target(args.repository, args.insecure)  # validate early
    state = None
    if args.state is not None:
        state = Path(args.state) if args.state else default_state_path()
        if args.state and not state.parent.is_dir():
            raise ValueError(f"--state {state}: directory {state.parent} does not exist")
        if args.state and state.exists() and not state.is_file():
            raise ValueError(f"--state {state}: not a regular file")
    manifests = tuple(Path(p) for p in args.manifests)
    for path in manifests:
        if not path.exists():
            raise ValueError(f"--manifests {path}: no such file or directory")
    return TagsOptions(
        repository=args.repository,
        match=args.match,
        compare=tuple(args.compare),
        mirrors=tuple(dict.fromkeys([*args.mirror, *_configured_mirrors(args)])),
        manifests=manifests,
        state=state,
        policy=TagPolicy(args.policy) if args.policy else None,
        require_signature=args.require_signature,
        concurrency=args.concurrency,
        page_size=args.page_size,
        max_tags=args.max_tags,
    )


def _configured_mirrors(args: argparse.Namespace) -> list[str]:
    """Every mirror the effective configuration (any runtime) uses for this repository's
    registry, as ``scheme://host:port``, so that a stale pull-through cache is found
    without naming it."""
    if getattr(args, "no_config", False):
        return []
    from urllib.parse import urlsplit

    from regdoctor.cli.check import discover

    effective = discover(args)
    found: list[str] = []
    for runtime in effective.runtimes:
        try:
            plan = effective.plan(args.repository, runtime)
        except ValueError:
            continue
        for endpoint in plan.endpoints:
            if endpoint.role == "mirror" and endpoint.used:
                parts = urlsplit(endpoint.url)
                found.append(
                    f"{parts.scheme}://{endpoint.hostport}" if parts.scheme else endpoint.hostport
                )
    return found
