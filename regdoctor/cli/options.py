"""The option groups the commands share, defined once (pre-commit style): time,
network and TLS, credentials, rule folders, configuration sources, and ``check``'s
whole set, which every command that checks registries accepts. argparse only: importing
this module costs nothing a ``--help`` would not pay anyway."""

from __future__ import annotations

import argparse
from collections.abc import Callable

RUNTIME_CHOICES = ("docker", "podman", "containerd", "kubernetes", "all")


def add_check_arguments(
    parser: argparse.ArgumentParser,
    *,
    report_format: bool = True,
    verbose: bool = True,
    fail_on: bool = True,
) -> None:
    """``check``'s arguments, which every command that checks registries accepts.
    ``report_format=False`` leaves out ``--format`` (serve, bundle and the TUI have their
    own output), ``verbose=False`` leaves out ``-v``, ``fail_on=False`` ``--fail-on``."""
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="a registry (registry.example.com, host:5000, https://host:5443) or an image "
        "(nginx, host:5000/team/app:1.2, ghcr.io/org/app@sha256:...); default: every "
        "registry and mirror the configuration names, or Docker Hub when it names none",
    )
    output = parser.add_argument_group("output")
    if report_format:
        output.add_argument(
            "--format",
            choices=("plain", "json", "markdown", "prometheus", "junit"),
            default="plain",
            help="plain (terminal), json (schema v3), markdown (support ticket), prometheus "
            "(text exposition, node_exporter textfile), junit (CI test report)",
        )
        output.add_argument(
            "--summary",
            action="store_true",
            help="only one verdict line per target (status, target, category, cause), "
            "as each finishes: for chat, tickets and CI logs",
        )
    if fail_on:
        output.add_argument(
            "--fail-on",
            choices=("error", "warning"),
            default="warning",
            help="the lowest severity that makes the exit code non-zero (default: warning)",
        )
    output.add_argument(
        "--redact-hosts",
        action="store_true",
        help="also mask internal host names, addresses and user names (public "
        "registries such as docker.io stay readable)",
    )
    if verbose:
        output.add_argument("-v", "--verbose", action="store_true", help="list every observation")
    output.add_argument(
        "--debug", action="store_true", help="redacted trace of every request on stderr; tracebacks"
    )
    add_time_arguments(parser)
    add_rules_dir_argument(parser)
    add_network_arguments(parser)
    add_credential_arguments(parser)
    add_discovery_arguments(
        parser,
        no_config="ignore the runtimes' configuration (command-line settings only)",
    )
    image = parser.add_argument_group("image")
    image.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="OS/ARCH[/VARIANT]",
        help="the image must exist for this platform (repeatable)",
    )


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds: {text!r}")
    return value


def add_rules_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rules-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="also judge with the rules in DIR (repeatable; test them with "
        "`regdoctor rules test --dir DIR`)",
    )


def add_time_arguments(
    parser: argparse.ArgumentParser,
    *,
    deadline: float = 30.0,
    title: str = "time",
    what: str = "each network phase",
) -> argparse._ArgumentGroup:
    """``--timeout`` and ``--deadline``, the same for every command that talks to a
    registry."""
    timing = parser.add_argument_group(title)
    timing.add_argument(
        "--timeout",
        type=seconds,
        default=None,
        metavar="S",
        help=f"timeout of {what} (default: 5, and the runtimes' own 10 s for a TLS "
        "handshake, so that a slow registry is not called broken)",
    )
    timing.add_argument(
        "--deadline",
        type=seconds,
        default=deadline,
        metavar="S",
        help=f"the whole run ends by then (default: {deadline:g})",
    )
    return timing


def add_network_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, client_cert: bool = True
) -> None:
    """``--dns-server``, ``--insecure``, ``--ca-file`` (and ``--cert``/``--key``)."""
    net = (
        parser.add_argument_group("network and TLS")
        if isinstance(parser, argparse.ArgumentParser)
        else parser
    )
    net.add_argument(
        "--dns-server",
        metavar="HOST[:PORT]",
        help="resolve through this DNS server only (never the system resolver)",
    )
    net.add_argument(
        "--insecure",
        action="store_true",
        help="treat the registries as insecure: allow plain HTTP, skip TLS verification",
    )
    net.add_argument(
        "--ca-file",
        action="append",
        default=[],
        metavar="PEM",
        help="trust this CA bundle too (repeatable)",
    )
    if client_cert:
        net.add_argument("--cert", metavar="PEM", help="client certificate (mTLS)")
        net.add_argument("--key", metavar="PEM", help="client key (mTLS)")


def add_credential_arguments(parser: argparse.ArgumentParser) -> None:
    auth = parser.add_argument_group("credentials")
    auth.add_argument("-u", "--username", help="registry user name")
    auth.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password or token from standard input",
    )


def add_discovery_arguments(
    parser: argparse.ArgumentParser, *, no_config: str | None = None
) -> None:
    """Where the configuration is read; with ``no_config``, also ``--no-config`` with
    that help text (what ignoring the configuration means for the command)."""
    group = parser.add_argument_group(
        "configuration sources",
        "Where the runtimes' configuration is read. --root DIR treats DIR as / "
        "(also REGDOCTOR_CONFIG_ROOT); the per-file flags are real paths and win.",
    )
    group.add_argument("--root", metavar="DIR", help="read every configuration file below DIR")
    group.add_argument(
        "--runtime",
        choices=RUNTIME_CHOICES,
        default=None,
        help="judge as this runtime does, and read only its configuration (default: the "
        "runtimes found on this host or named in its configuration, else all)",
    )
    group.add_argument("--daemon-config", metavar="PATH", help="Docker daemon.json")
    group.add_argument(
        "--docker-config", metavar="PATH", help="Docker client config.json (or its directory)"
    )
    group.add_argument("--registries-conf", metavar="PATH", help="containers registries.conf")
    group.add_argument("--auth-file", metavar="PATH", help="containers auth.json")
    group.add_argument("--containerd-config", metavar="PATH", help="containerd config.toml")
    group.add_argument("--kubelet-config", metavar="PATH", help="kubelet config.yaml")
    group.add_argument(
        "--kube-manifests",
        action="append",
        default=[],
        metavar="PATH",
        help="Kubernetes manifests (file, directory, or - for stdin); repeatable",
    )
    if no_config is not None:
        parser.add_argument("--no-config", action="store_true", help=no_config)


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


def bounded_number(
    kind: type[int] | type[float], low: float, high: float, what: str, noun: str = ""
) -> Callable[[str], int | float]:
    """An argparse ``type`` accepting a ``kind`` number in ``[low, high]``; ``what``
    says the range (``between 1 and 256``), ``noun`` the unit (``number of seconds``)."""
    noun = noun or ("whole number" if kind is int else "number")

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {noun}: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {what}: {text!r}")
        return value

    return parse
