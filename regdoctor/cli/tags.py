"""``regdoctor tags``: list, resolve and group a repository's tags; judge drift,
divergence, policy, platforms and signatures (see docs/tags.md)."""

from __future__ import annotations

import argparse
import functools
import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from regdoctor.cli.errors import say_error
from regdoctor.cli.options import (
    add_connection_arguments,
    add_discovery_arguments,
    bounded_number,
)
from regdoctor.model import ExitCode

if TYPE_CHECKING:
    from regdoctor.check.request import CheckRequest

#: Once ``run`` returns, the output is written, the event loop closed, the state file
#: (``--state``) renamed into place and its lock released: the process may end without
#: the interpreter's teardown (see ``regdoctor.cli.main``).
EXIT_AT_ONCE = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "repository",
        metavar="IMAGE_REPO",
        help="HOST[:PORT]/NAME, e.g. registry.example.com/team/app",
    )
    tags = parser.add_argument_group("tags")
    tags.add_argument("--match", metavar="GLOB", help="only tags matching this glob (e.g. 'v1.*')")
    tags.add_argument(
        "--concurrency",
        type=bounded_number(int, 1, 256, "between 1 and 256"),
        default=8,
        metavar="N",
        help="requests in flight and connections at most (default: 8)",
    )
    tags.add_argument(
        "--page-size",
        type=bounded_number(int, 1, 10**9, "at least 1"),
        default=1000,
        metavar="N",
        help="tags/list page size n (default: 1000)",
    )
    tags.add_argument(
        "--max-tags",
        type=bounded_number(int, 1, 10**9, "at least 1"),
        default=100_000,
        metavar="N",
        help="stop listing after N tags (default: 100000)",
    )
    checks = parser.add_argument_group("checks")
    checks.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="REGISTRY",
        help="the same repo:tag must resolve to the same digest there (replica; repeatable)",
    )
    checks.add_argument(
        "--mirror",
        action="append",
        default=[],
        metavar="REGISTRY",
        help="a mirror (pull-through cache) of this registry: report stale tags (repeatable)",
    )
    checks.add_argument(
        "--state",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="record tag -> digest and report tags that moved "
        "(default file: $XDG_STATE_HOME/regdoctor/tags-state.json)",
    )
    checks.add_argument(
        "--policy",
        metavar="semver|commit|REGEX",
        help="tags that do not fit are listed (and count as mutable)",
    )
    checks.add_argument(
        "--manifests",
        action="append",
        default=[],
        metavar="PATH",
        help="Kubernetes or Compose files (or a directory): report mutable image references",
    )
    checks.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="OS/ARCH[/VARIANT]",
        help="every tag must exist for this platform (repeatable)",
    )
    checks.add_argument(
        "--require-signature",
        action="store_true",
        help="every tag needs a cosign signature or an OCI referrer",
    )
    add_connection_arguments(parser)
    add_discovery_arguments(
        parser,
        no_config="do not add the mirrors the runtimes' configuration names for this registry",
    )


#: How many net allocations of container objects between two runs of the cyclic garbage
#: collector during a scan (Python's default: 700).
GC_THRESHOLD = 100_000


def run(args: argparse.Namespace) -> int:
    """A scan allocates about as many long-lived objects as it has tags (and the rule
    catalog's), and frees nearly all the rest by reference counting: with the default
    threshold the cyclic collector ran ~80 times in a 2,000-tag scan, for 12-40 ms of
    CPU beside the registry, and found ~700 objects. It runs every
    :data:`GC_THRESHOLD` allocations while this command runs (the caller's threshold
    is restored after it, for a caller that runs commands in-process, as the tests do)."""
    old = gc.get_threshold()
    gc.set_threshold(max(GC_THRESHOLD, old[0]), old[1], old[2])
    try:
        return _run(args)
    finally:
        gc.set_threshold(*old)


def _run(args: argparse.Namespace) -> int:
    from regdoctor.check.plan import build_options
    from regdoctor.check.request import UsageError
    from regdoctor.cli.request import request_from_args
    from regdoctor.reference.targets import InvalidReference

    try:
        request = request_from_args(args, targets=())
        options = build_options(request)
        tags_options = _tags_options(args, request)
    except (UsageError, InvalidReference, ValueError) as exc:
        say_error("tags", exc, args=args)
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.tags.command import run as run_tags
    from regdoctor.tags.state import StateError

    try:
        result = run_tags(tags_options, options, insecure=args.insecure)
    except InvalidReference as exc:
        say_error("tags", exc)
        return int(ExitCode.CANNOT_RUN)
    except StateError as exc:
        say_error("tags", f"state file {exc}")
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.redact.secrets import Redactor

    redactor = Redactor([options.credentials.password] if options.credentials else [])
    if args.format == "json":
        from regdoctor.render.tags import json_text

        # Verbatim to stdout: Rich would split half a megabyte into lines and scan each.
        sys.stdout.write(json_text(result, redactor) + "\n")
        return result.exit_code
    from rich.console import Console

    from regdoctor.render.tags import render_plain

    console = Console(highlight=False, soft_wrap=False)
    render_plain(result, console, verbose=args.verbose, redactor=redactor)
    return result.exit_code


def _tags_options(args: argparse.Namespace, request: CheckRequest):  # type: ignore[no-untyped-def]
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
    configured = None
    if request.no_config:
        mirrors = tuple(dict.fromkeys(args.mirror))
    elif any(request.config_files.values()) or request.kube_manifests:
        # a file named on the command line is checked now: a usage error before the scan
        mirrors = tuple(dict.fromkeys([*args.mirror, *_configured_mirrors(args, request)]))
    else:
        # found while the scan waits on the network (discovery never raises on bad files)
        mirrors = tuple(dict.fromkeys(args.mirror))
        configured = functools.partial(_configured_mirrors, args, request)
    return TagsOptions(
        repository=args.repository,
        match=args.match,
        compare=tuple(args.compare),
        mirrors=mirrors,
        configured_mirrors=configured,
        manifests=manifests,
        state=state,
        policy=TagPolicy(args.policy) if args.policy else None,
        require_signature=args.require_signature,
        concurrency=args.concurrency,
        page_size=args.page_size,
        max_tags=args.max_tags,
    )


def _configured_mirrors(args: argparse.Namespace, request: CheckRequest) -> list[str]:
    """Every mirror the effective configuration (any runtime) uses for this repository's
    registry, as ``scheme://host:port``, so that a stale pull-through cache is found
    without naming it."""
    if request.no_config:
        return []
    from urllib.parse import urlsplit

    from regdoctor.check.plan import discover

    effective = discover(request)
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
