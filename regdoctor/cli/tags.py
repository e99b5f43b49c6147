"""``regdoctor tags``: list, resolve and group a repository's tags; judge drift,
divergence, policy, platforms and signatures (see docs/tags.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from regdoctor.model import ExitCode


def run(args: argparse.Namespace) -> int:
    from regdoctor.cli.check import UsageError, build_options
    from regdoctor.reference import ReferenceError

    try:
        options = build_options(args)
        tags_options = _tags_options(args)
    except (UsageError, ReferenceError, ValueError) as exc:
        print(f"regdoctor tags: error: {exc}", file=sys.stderr)
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.tags.command import run as run_tags
    from regdoctor.tags.state import StateError

    try:
        result = run_tags(tags_options, options, insecure=args.insecure)
    except ReferenceError as exc:
        print(f"regdoctor tags: error: {exc}", file=sys.stderr)
        return int(ExitCode.CANNOT_RUN)
    except StateError as exc:
        print(f"regdoctor tags: error: state file {exc}", file=sys.stderr)
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
        mirrors=tuple(args.mirror),
        manifests=manifests,
        state=state,
        policy=TagPolicy(args.policy) if args.policy else None,
        require_signature=args.require_signature,
        concurrency=args.concurrency,
        page_size=args.page_size,
        max_tags=args.max_tags,
    )
