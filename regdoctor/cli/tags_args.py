"""Arguments of ``regdoctor tags`` (kept apart so that --help stays import-light)."""

from __future__ import annotations

import argparse

from regdoctor.cli.check_args import (
    add_credential_arguments,
    add_network_arguments,
    add_time_arguments,
)


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The TLS, auth, time and output options ``check`` has (same names, same meaning)."""
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=("plain", "json"), default="plain")
    output.add_argument("-v", "--verbose", action="store_true", help="show every tag and detail")
    output.add_argument(
        "--debug", action="store_true", help="redacted trace of every request on stderr"
    )
    add_time_arguments(parser, deadline=120.0, what="each request")
    add_network_arguments(parser)
    add_credential_arguments(parser)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"must be between 1 and 256: {text!r}")
    return value


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
        type=_positive,
        default=8,
        metavar="N",
        help="requests in flight and connections at most (default: 8)",
    )
    tags.add_argument(
        "--page-size",
        type=_positive_page,
        default=1000,
        metavar="N",
        help="tags/list page size n (default: 1000)",
    )
    tags.add_argument(
        "--max-tags",
        type=_positive_page,
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
    from regdoctor.cli.config_args import add_discovery_arguments

    add_discovery_arguments(
        parser,
        no_config="do not add the mirrors the runtimes' configuration names for this registry",
    )


def _positive_page(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value
