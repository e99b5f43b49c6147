"""Arguments of ``regdoctor config``, and the discovery arguments ``check`` shares
(kept apart so that --help stays import-light)."""

from __future__ import annotations

import argparse

RUNTIME_CHOICES = ("docker", "podman", "containerd", "kubernetes", "all")


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
        default="all",
        help="only this runtime's configuration (default: all)",
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "images",
        nargs="*",
        metavar="IMAGE",
        help="an image or registry; default: every registry the configuration names",
    )
    parser.add_argument("--format", choices=("plain", "json"), default="plain")
    parser.add_argument(
        "--sources", action="store_true", help="also list every file read and what it says"
    )
    parser.add_argument("--debug", action="store_true", help="tracebacks on errors")
    add_discovery_arguments(parser)
