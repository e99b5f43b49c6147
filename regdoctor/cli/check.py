"""``regdoctor check``: run the probes, judge, render, and exit with a trustworthy code."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from regdoctor.model import Credentials, ExitCode, Secret

DEFAULT_TARGET = "docker.io"


class UsageError(Exception):
    """A problem with the arguments: one line, exit code 3."""


def _readable_file(value: str, flag: str) -> Path:
    import stat

    path = Path(value)
    if path.is_dir():
        raise UsageError(f"{flag} {value}: is a directory, expected a file")
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            # a FIFO or a device: opening a FIFO without a writer blocks forever
            raise UsageError(f"{flag} {value}: not a regular file")
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise UsageError(f"{flag} {value}: {exc.strerror or exc}") from None
    return path


def _dns_server(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    from regdoctor.reference import ReferenceError, split_hostport

    try:
        hp = split_hostport(value)
    except ReferenceError as exc:
        raise UsageError(f"--dns-server: {exc}") from None
    import ipaddress

    try:
        ipaddress.ip_address(hp.host)
    except ValueError:
        raise UsageError(f"--dns-server needs an IP address, not {hp.host!r}") from None
    return hp.host, hp.port or 53


def _credentials(args: argparse.Namespace) -> Credentials | None:
    if args.password_stdin and not args.username:
        raise UsageError("--password-stdin needs --username")
    if not args.username:
        return None
    if not args.password_stdin:
        raise UsageError(
            "--username needs --password-stdin (passwords are never taken as arguments)"
        )
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("--password-stdin: pipe the password on standard input")
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise UsageError("--password-stdin: standard input was empty")
    credentials = Credentials(args.username, Secret(password), source="--username/--password-stdin")
    args._credentials = credentials  # so that a later usage error can mask it
    return credentials


def config_root(args: argparse.Namespace) -> Path:
    """``--root`` (or ``REGDOCTOR_CONFIG_ROOT``): the directory treated as ``/``."""
    value = getattr(args, "root", None) or os.environ.get("REGDOCTOR_CONFIG_ROOT") or "/"
    root = Path(value)
    if not root.is_dir():
        raise UsageError(f"--root {value}: not a directory")
    return root


#: Configuration files a user can name on the command line, with their flag.
_NAMED_FILES = {
    "daemon_config": "--daemon-config",
    "docker_config": "--docker-config",
    "registries_conf": "--registries-conf",
    "auth_file": "--auth-file",
    "containerd_config": "--containerd-config",
    "kubelet_config": "--kubelet-config",
}


def _named_config_file(value: str, flag: str) -> None:
    """A file the user named must exist and be readable: that is a usage error (exit 3),
    unlike a file regdoctor found on its own, whose problems are findings."""
    path = Path(value)
    if flag == "--docker-config" and path.is_dir():
        path = path / "config.json"  # DOCKER_CONFIG style: the directory
        if not path.exists():
            raise UsageError(f"{flag} {value}: no config.json in that directory")
    _readable_file(str(path), flag)


def discovery_paths(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from regdoctor.discovery.effective import paths_from

    for attribute, flag in _NAMED_FILES.items():
        value = getattr(args, attribute, None)
        if value:
            _named_config_file(value, flag)
    overrides = {
        "daemon_config": getattr(args, "daemon_config", None),
        "docker_config": getattr(args, "docker_config", None),
        "registries_conf": getattr(args, "registries_conf", None),
        "auth_file": getattr(args, "auth_file", None),
        "containerd_config": getattr(args, "containerd_config", None),
        "kubelet_config": getattr(args, "kubelet_config", None),
    }
    return paths_from(config_root(args), os.environ, overrides)


def discover(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The effective configuration the arguments point at (never raises on bad files)."""
    from regdoctor.discovery.effective import RUNTIMES
    from regdoctor.discovery.effective import discover as discover_effective

    runtime = getattr(args, "runtime", "all") or "all"
    runtimes = RUNTIMES if runtime == "all" else (runtime,)
    return discover_effective(
        discovery_paths(args),
        runtimes=runtimes,
        kube_inputs=list(getattr(args, "kube_manifests", []) or []),
    )


def rule_dirs(args: argparse.Namespace) -> tuple[Path, ...]:
    """``--rules-dir`` folders, checked: a typo must not silently drop a team's rules."""
    dirs = tuple(Path(d) for d in getattr(args, "rules_dir", None) or [])
    for directory in dirs:
        if not directory.is_dir():
            raise UsageError(f"--rules-dir {directory}: not a folder of rule files")
    return dirs


def build_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from regdoctor.probes.base import CheckOptions
    from regdoctor.redact import Redactor

    dirs = rule_dirs(args)
    if dirs:
        from regdoctor import runner

        runner.use_rule_dirs(dirs)

    if bool(args.cert) != bool(args.key):
        raise UsageError("--cert and --key go together")
    credentials = _credentials(args)
    # One redactor for the whole run: secrets a credential helper hands over during the
    # run are added to it, so --debug and every renderer mask them too.
    redactor = Redactor()
    if credentials:
        redactor.add_credentials(credentials.username, credentials.password)
    trace = None
    if args.debug:

        def trace(message: str) -> None:
            from regdoctor.render.escape import safe_text

            # untrusted text (headers, bodies, exception texts) is data: escape it
            print(f"debug: {safe_text(redactor.redact(message))}", file=sys.stderr)

    return CheckOptions(
        timeout=args.timeout,
        deadline=args.deadline,
        dns_server=_dns_server(args.dns_server),
        ca_files=tuple(_readable_file(p, "--ca-file") for p in args.ca_file),
        client_cert=_readable_file(args.cert, "--cert") if args.cert else None,
        client_key=_readable_file(args.key, "--key") if args.key else None,
        credentials=credentials,
        platforms=tuple(_platform(p) for p in args.platform),
        insecure=args.insecure,
        config_root=config_root(args),
        trace=trace,
        redactor=redactor,
    )


def _platform(value: str) -> str:
    parts = value.strip().lower().split("/")
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise UsageError(f"--platform {value!r}: expected OS/ARCH or OS/ARCH/VARIANT")
    return "/".join(parts)


def plan_targets(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The targets to check and the observations the configuration gives them.

    With TARGETs: those, with the settings the configuration gives them (command-line
    flags win). Without: every registry and mirror the configuration names (Docker Hub
    when it names none). Configuration files become targets of kind ``config``.
    """
    from regdoctor.reference import parse_target

    cli_targets = [parse_target(t, insecure=args.insecure) for t in args.targets]
    if getattr(args, "no_config", False):
        return cli_targets or [parse_target(DEFAULT_TARGET, insecure=args.insecure)], {}
    effective = discover(args)
    if cli_targets:
        targets = [effective.apply(t) for t in cli_targets]
    else:
        targets = effective.check_targets()
        if args.insecure:
            from dataclasses import replace

            targets = [replace(t, insecure=True) for t in targets]
        if not targets:
            targets = [parse_target(DEFAULT_TARGET, insecure=args.insecure)]
    preset: dict[str, list] = {}
    for target in targets:
        observation = effective.endpoint_observation(target)
        if observation is not None:
            preset[target.id] = [observation]
    config_targets = []
    for target, observations in effective.observations():
        config_targets.append(target)
        preset[target.id] = observations
    return [*targets, *config_targets], preset


def run(args: argparse.Namespace) -> int:
    from regdoctor.reference import ReferenceError

    try:
        options = build_options(args)
        targets, preset = plan_targets(args)
    except (UsageError, ReferenceError) as exc:
        from regdoctor.redact import Redactor
        from regdoctor.render.escape import safe_text

        # the message may quote a target with user:password@, or a value that is the
        # password just read from stdin
        credentials = getattr(args, "_credentials", None)
        redactor = Redactor([credentials.password] if credentials else [])
        import re

        for raw in getattr(args, "targets", None) or []:
            userinfo = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*?:([^/@]+)@", raw)
            if userinfo:  # a pasted https://user:password@host: the error quotes it
                redactor.add(userinfo.group(1))
        shown = safe_text(redactor.redact(str(exc)), keep_newlines=False)
        print(f"regdoctor check: error: {shown}", file=sys.stderr)
        return int(ExitCode.CANNOT_RUN)
    from regdoctor.runner import check

    report = check(targets, options, command=["regdoctor", *sys.argv[1:]], preset=preset)
    from rich.console import Console

    from regdoctor.cli.reporting import exit_code, output_redactor
    from regdoctor.render import RENDERERS

    credentials = options.credentials
    redactor = output_redactor(
        report,
        options.redactor,
        redact_hosts=args.redact_hosts,
        usernames=[credentials.username] if credentials else [],
    )
    console = Console(highlight=False, soft_wrap=args.format != "plain")
    RENDERERS[args.format](report, console, verbose=args.verbose, redactor=redactor)
    return exit_code(report, args.fail_on)
