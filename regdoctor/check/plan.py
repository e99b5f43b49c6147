"""Plan a run from a :class:`~regdoctor.check.request.CheckRequest`: validate what was
asked, build the run's options, read the effective configuration, and choose the targets
with the observations the configuration gives them. :meth:`RunPlan.run` then runs the
pipeline; :meth:`RunPlan.context` collects what a report shows beside the judgement.

With TARGETs the plan checks those, with the settings the configuration gives them
(request values win). Without, it checks every registry and mirror the configuration
names (Docker Hub when it names none). Configuration files become targets of kind
``config``, judged on what discovery observed.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from regdoctor.check.request import DEFAULT_TARGET, NAMED_FILES, CheckRequest, UsageError
from regdoctor.options import CheckOptions

if TYPE_CHECKING:  # annotations: a check that collects no context defines no ReportContext
    from regdoctor.check.pipeline import OnDone
    from regdoctor.check.routes import Routes
    from regdoctor.discovery.effective import Effective
    from regdoctor.model import Credentials, Observation, Report, ReportContext, Target
    from regdoctor.probes.base import TargetState
    from regdoctor.redact.secrets import Redactor

__all__ = ["DEFAULT_TIMEOUT", "RunPlan", "build_options", "discover", "plan", "readable_file"]

#: The wait for one network phase when ``--timeout`` is not given.
DEFAULT_TIMEOUT = 5.0


def readable_file(value: str, flag: str) -> Path:
    """A file named on the command line: it must be a regular, readable file."""
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


def dns_server(value: str | None) -> tuple[str, int] | None:
    """``--dns-server IP[:PORT]``."""
    if not value:
        return None
    from regdoctor.reference.targets import InvalidReference, split_hostport

    try:
        hp = split_hostport(value)
    except InvalidReference as exc:
        raise UsageError(f"--dns-server: {exc}") from None
    try:
        ipaddress.ip_address(hp.host)
    except ValueError:
        raise UsageError(f"--dns-server needs an IP address, not {hp.host!r}") from None
    return hp.host, hp.port or 53


def platform(value: str) -> str:
    """``--platform OS/ARCH[/VARIANT]``, normalised."""
    parts = value.strip().lower().split("/")
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise UsageError(f"--platform {value!r}: expected OS/ARCH or OS/ARCH/VARIANT")
    return "/".join(parts)


def config_root(request: CheckRequest, env: Mapping[str, str] | None = None) -> Path:
    """``--root`` (or ``REGDOCTOR_CONFIG_ROOT``): the directory treated as ``/``."""
    env = os.environ if env is None else env
    value = request.root or env.get("REGDOCTOR_CONFIG_ROOT") or "/"
    root = Path(value)
    if not root.is_dir():
        raise UsageError(f"--root {value}: not a directory")
    return root


def rule_dirs(request: CheckRequest) -> tuple[Path, ...]:
    """``--rules-dir`` folders, checked: a typo must not silently drop a team's rules."""
    dirs = tuple(Path(d) for d in request.rules_dirs)
    for directory in dirs:
        if not directory.is_dir():
            raise UsageError(f"--rules-dir {directory}: not a folder of rule files")
    return dirs


def _named_config_file(value: str, flag: str) -> None:
    """A file the caller named must exist and be readable: that is a usage error (exit 3),
    unlike a file regdoctor found on its own, whose problems are findings."""
    path = Path(value)
    if flag == "--docker-config" and path.is_dir():
        path = path / "config.json"  # DOCKER_CONFIG style: the directory
        if not path.exists():
            raise UsageError(f"{flag} {value}: no config.json in that directory")
    readable_file(str(path), flag)


def discover(request: CheckRequest) -> Effective:
    """The effective configuration the request points at (never raises on bad files)."""
    from regdoctor.discovery.effective import RUNTIMES, paths_from
    from regdoctor.discovery.effective import discover as discover_effective

    for key, value in request.config_files.items():
        if value:
            _named_config_file(value, NAMED_FILES[key])
    overrides: dict[str, Path | None] = {}
    for key in NAMED_FILES:
        named = request.config_files.get(key)
        overrides[key] = Path(named) if named else None
    paths = paths_from(config_root(request), os.environ, overrides)
    runtimes = RUNTIMES if request.runtime in ("", "all") else (request.runtime,)
    return discover_effective(paths, runtimes=runtimes, kube_inputs=list(request.kube_manifests))


def _credentials(request: CheckRequest) -> Credentials | None:
    if request.password is not None and not request.username:
        raise UsageError("--password-stdin needs --username")
    if not request.username:
        return None
    if request.password is None:
        raise UsageError(
            "--username needs --password-stdin (passwords are never taken as arguments)"
        )
    from regdoctor.model import Credentials

    return Credentials(request.username, request.password, source="--username/--password-stdin")


def _debug_trace(redactor: Redactor) -> Callable[[str], None]:
    def trace(message: str) -> None:
        from regdoctor.escape import safe_text

        # untrusted text (headers, bodies, exception texts) is data: escape it
        print(f"debug: {safe_text(redactor.redact(message))}", file=sys.stderr)

    return trace


def build_options(request: CheckRequest) -> CheckOptions:
    """The run's options, every named file and value checked (:class:`UsageError`)."""
    from regdoctor.redact.secrets import Redactor

    if bool(request.cert) != bool(request.key):
        raise UsageError("--cert and --key go together")
    credentials = _credentials(request)
    # One redactor for the whole run: secrets a credential helper hands over during the
    # run are added to it, so --debug and every renderer mask them too.
    redactor = Redactor()
    if credentials:
        redactor.add_credentials(credentials.username, credentials.password)
    return CheckOptions(
        timeout=request.timeout if request.timeout is not None else DEFAULT_TIMEOUT,
        timeout_given=request.timeout is not None,
        deadline=request.deadline,
        dns_server=dns_server(request.dns_server),
        ca_files=tuple(readable_file(p, "--ca-file") for p in request.ca_files),
        client_cert=readable_file(request.cert, "--cert") if request.cert else None,
        client_key=readable_file(request.key, "--key") if request.key else None,
        credentials=credentials,
        platforms=tuple(platform(p) for p in request.platforms),
        insecure=request.insecure,
        config_root=config_root(request),
        trace=_debug_trace(redactor) if request.debug else None,
        redactor=redactor,
        rule_dirs=rule_dirs(request),
    )


@dataclass(eq=False)
class RunPlan:
    """What a run will check: targets (registries, images and configuration files), the
    options, and the observations the configuration gives each target (by target id)."""

    targets: list[Target]
    options: CheckOptions
    preset: dict[str, list[Observation]] = field(default_factory=dict)
    #: The effective configuration read for the plan (None with ``no_config``).
    effective: Effective | None = None
    #: The runtimes in scope and how each reaches a target.
    routes: Routes | None = None

    @property
    def redactor(self) -> Redactor:
        """The run's redactor (it learns secrets fetched during the run)."""
        from regdoctor.redact.secrets import Redactor

        redactor = self.options.redactor
        if redactor is None:
            redactor = Redactor()
            credentials = self.options.credentials
            if credentials is not None:
                redactor.add_credentials(credentials.username, credentials.password)
        return redactor

    @property
    def usernames(self) -> list[str]:
        credentials = self.options.credentials
        return [credentials.username] if credentials is not None else []

    async def run(
        self,
        command: Sequence[str] = (),
        *,
        on_done: OnDone | None = None,
        states: dict[str, TargetState] | None = None,
    ) -> Report:
        """Run the plan. ``on_done``, ``states``: see
        :func:`~regdoctor.check.pipeline.run_check`."""
        from regdoctor.check.pipeline import run_check

        return await run_check(
            self.targets,
            self.options,
            command=command,
            preset=self.preset,
            routes=self.routes,
            on_done=on_done,
            states=states,
        )

    def run_sync(self, command: Sequence[str] = ()) -> Report:
        import asyncio

        return asyncio.run(self.run(command))

    def context(self, *, host: bool = True) -> ReportContext:
        """This host, the configuration files of the plan's root, the environment."""
        from regdoctor.check.context import collect_context

        return collect_context(self.options.config_root, self.effective, host=host)


def plan_targets(
    request: CheckRequest, effective: Effective | None
) -> tuple[list[Target], dict[str, list[Observation]]]:
    """The targets to check and the observations the configuration gives them."""
    from regdoctor.reference.targets import parse_target

    insecure = request.insecure
    requested = [parse_target(t, insecure=insecure) for t in request.targets]
    if effective is None:
        return requested or [parse_target(DEFAULT_TARGET, insecure=insecure)], {}
    if requested:
        targets = [effective.apply(t) for t in requested]
    else:
        targets = effective.check_targets()
        if insecure:
            targets = [replace(t, insecure=True) for t in targets]
        if not targets:
            targets = [parse_target(DEFAULT_TARGET, insecure=insecure)]
    preset: dict[str, list[Observation]] = {}
    for target in targets:
        observation = effective.endpoint_observation(target)
        if observation is not None:
            preset[target.id] = [observation]
    config_targets = []
    for target, observations in effective.observations():
        config_targets.append(target)
        preset[target.id] = list(observations)
    return [*targets, *config_targets], preset


def plan(request: CheckRequest) -> RunPlan:
    """Validate ``request`` and plan its run. Raises :class:`UsageError` or
    ``regdoctor.reference.targets.InvalidReference``."""
    from regdoctor.check.routes import Routes
    from regdoctor.check.scope import runtimes_in_scope

    options = build_options(request)
    effective = None if request.no_config else discover(request)
    targets, preset = plan_targets(request, effective)
    this_host = str(options.config_root) == "/"
    routes = Routes(
        runtimes_in_scope(request.runtime, effective, this_host=this_host),
        effective,
        insecure=request.insecure,
    )
    options = replace(options, schemes=routes)
    if effective is not None and not request.username:
        # (--username: every runtime is judged with the credential given, as before)
        targets = [_with_credential_groups(effective, t, routes.runtimes) for t in targets]
    return RunPlan(mirrored(targets, routes), options, preset, effective, routes)


def _with_credential_groups(
    effective: Effective, target: Target, runtimes: Sequence[str]
) -> Target:
    """An image whose runtimes in scope would not all send the same credential: the
    others, grouped (each group's dance is observed beside the target's own)."""
    from regdoctor.discovery.targets import credential_groups

    if not target.repository:
        return target
    return credential_groups(effective, target, runtimes)


def mirrored(targets: list[Target], routes: Routes) -> list[Target]:
    """``targets`` plus, for each image, the same image at every mirror a runtime in
    scope pulls it through (dockerd's registry-mirrors, containerd's hosts.toml mirrors,
    registries.conf mirrors): a pull may come from there, so the check looks there too,
    and the verdicts say which one each runtime uses."""
    from regdoctor.check.routes import endpoint_is_target
    from regdoctor.reference.targets import InvalidReference, parse_target

    out = list(targets)
    seen = {t.raw for t in targets}
    at: dict[str, int] = {}  # raw -> index in out of the mirror targets
    for target in targets:
        if target.kind != "registry" or not target.repository or target.mirror_of:
            continue
        reference = f":{target.tag}" if target.tag else ""
        reference = f"@{target.digest}" if target.digest else reference
        for runtime in routes.runtimes:
            cas = routes.mirror_cas(runtime, target)
            route = routes.route(runtime, target)
            # a stopped runtime's endpoints once its fix is in are checked too
            for endpoint in route.endpoints or route.behind:
                if endpoint.host == "" or endpoint_is_target(endpoint, target):
                    continue
                # the repository as sent there: a registries.conf ``location`` with a
                # path rewrites it (alias.test/apps/app -> mirror.test/lib/app)
                repository = endpoint.repository or target.repository
                raw = f"{endpoint.scheme}://{endpoint.host}/{repository}{reference}"
                if endpoint.path_prefix.rstrip("/") != "/v2":
                    # the runtime's API root is under a path regdoctor does not request
                    # there: check the host's own /v2/, the verdicts weigh the two
                    raw = f"{endpoint.scheme}://{endpoint.host}"
                if raw in at:
                    known = out[at[raw]]
                    if target.id not in known.mirror_for:
                        out[at[raw]] = replace(known, mirror_for=(*known.mirror_for, target.id))
                    continue
                if raw in seen:
                    continue
                try:
                    mirror = parse_target(raw, insecure=endpoint.skip_verify)
                except InvalidReference:
                    continue
                seen.add(raw)
                at[raw] = len(out)
                out.append(
                    replace(
                        mirror,
                        mirror_of=target.registry,
                        mirror_for=(target.id,),
                        runtime=runtime,
                        source=f"{runtime} mirror of {target.registry} ({endpoint.source})",
                        ca_files=tuple(cas.get(endpoint.host, ())),
                    )
                )
    return out
