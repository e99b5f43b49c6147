"""What the configuration says, as ``config.*`` observations for the rules: a file that
does not parse, an unused mirror, a missing credential helper, a pull secret that does
not match. Configuration files (and Kubernetes workloads) become targets of their own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from regdoctor.discovery import containerd_hosts, docker_config, docker_daemon
from regdoctor.discovery.base import FileResult, Paths
from regdoctor.discovery.plans import HUB
from regdoctor.model import Observation, Target

if TYPE_CHECKING:
    from regdoctor.discovery import kube
    from regdoctor.discovery.effective import Effective


def observations(effective: Effective) -> list[tuple[Target, list[Observation]]]:
    """Configuration files (and Kubernetes workloads) as targets of their own, each
    with the ``config.*`` observations the rules judge."""
    out: list[tuple[Target, list[Observation]]] = []
    for result in effective.files():
        if not result.exists:
            continue
        target = config_target(result.file, result.runtime)
        obs = [_file_observation(target, result)]
        obs.extend(_file_details(effective, target, result))
        out.append((target, [_as_machine_names(o, effective) for o in obs]))
    if effective.kube is not None:
        by_workload: dict[str, list[kube.PullCheck]] = {}
        for check in effective.kube.checks:
            by_workload.setdefault(check.workload, []).append(check)
        for workload, checks in by_workload.items():
            target = config_target(workload, "kubernetes", source=checks[0].source)
            out.append(
                (
                    target,
                    [
                        make_observation(
                            target,
                            "kube.pull_secret",
                            check.problem is None,
                            check.facts(),
                            source=check.source,
                        )
                        for check in checks
                    ],
                )
            )
    return out


def _file_details(effective: Effective, target: Target, result: FileResult) -> list[Observation]:
    obs: list[Observation] = []
    daemon = next((d for d in effective.daemon if d.file is result), None)
    if daemon is not None:
        obs.extend(_daemon_observations(target, daemon))
    client = None
    if effective.client is not None and effective.client.file is result:
        client = effective.client
    elif effective.containers is not None:
        client = next((a for a in effective.containers.auth_files if a.file is result), None)
    if client is not None:
        obs.extend(_client_observations(target, client, effective.paths))
    if effective.containerd is not None:
        if effective.containerd.file is result:
            obs.extend(_containerd_observations(target, effective.containerd))
        hosts = next((h for h in effective.containerd.hosts_files if h.file is result), None)
        if hosts is not None:
            obs.extend(_hosts_observations(target, hosts))
    if effective.kubelet is not None and effective.kubelet.file is result and result.parsed:
        facts = effective.kubelet.to_dict()
        obs.append(
            make_observation(
                target,
                "config.kubelet",
                True,
                {
                    "file": result.file,
                    "serialize_image_pulls": facts["serializeImagePulls"],
                    "max_parallel_image_pulls": facts["maxParallelImagePulls"],
                    "pull_concurrency": facts["pull_concurrency"],
                    "runtime": facts["runtime"],
                    "image_service_endpoint": facts["imageServiceEndpoint"]
                    or facts["containerRuntimeEndpoint"],
                    "credential_provider_config": facts["credential_provider_config"],
                },
            )
        )
    return obs


def config_target(name: str, runtime: str | None, *, source: str | None = None) -> Target:
    """A configuration file (or a Kubernetes workload) as a target judged alone."""
    return Target(
        raw=name,
        registry=name,
        host="",
        port=0,
        kind="config",
        runtime=runtime,
        source=source or name,
    )


def make_observation(
    target: Target,
    kind: str,
    ok: bool,
    facts: Mapping[str, Any],
    *,
    error: str | None = None,
    source: str | None = None,
) -> Observation:
    from regdoctor.redact.secrets import redact

    return Observation(
        kind=kind,
        target=target.id,
        ok=ok,
        phase="config",
        facts=dict(facts),
        error=redact(error) if error else None,
        source=source,
    )


#: config.toml tables only the CRI plugin reads (version 2, version 3): a problem there
#: stops the kubelet's pulls, not containerd's own (ctr, dockerd through containerd)
_CRI_KEYS = ('plugins."io.containerd.grpc.v1.cri"', 'plugins."io.containerd.cri.v1.images"')


def _file_observation(target: Target, result: FileResult) -> Observation:
    errors = [i for i in result.issues if i.fatal]
    warnings = [i for i in result.issues if not i.fatal]
    first = (errors or warnings)[0] if (errors or warnings) else None
    only_cri = (
        result.runtime == "containerd"
        and bool(result.issues)
        and all((i.key or "").startswith(_CRI_KEYS) for i in result.issues)
    )
    return make_observation(
        target,
        "config.file",
        not errors,
        {
            "file": result.file,
            "source": result.source,
            "runtime": result.runtime,
            "format": result.format,
            "parsed": result.parsed,
            "errors": len(errors),
            "warnings": len(warnings),
            "issues": [i.located() for i in (*errors, *warnings)][:20],
            "line": first.line if first else None,
            "column": first.column if first else None,
            "effect": result.effect,
            **({"runtimes": ["kubernetes"]} if only_cri else {}),
        },
        error=first.located() if first else None,
        source=result.file,
    )


def _daemon_observations(target: Target, daemon: docker_daemon.DaemonConfig) -> list[Observation]:
    obs = []
    for mirror in daemon.mirrors:
        obs.append(
            make_observation(
                target,
                "config.mirror",
                not mirror.path,
                {
                    "runtime": "docker",
                    "mirror": mirror.url,
                    "mirror_of": HUB,
                    "file": daemon.file.file,
                    "key": f"registry-mirrors[{mirror.index}]",
                    "used": not mirror.path,
                    "unused_reason": "path" if mirror.path else None,
                    "path": mirror.path or None,
                },
                source=mirror.source,
            )
        )
    for entry in daemon.insecure:
        if not (entry.scheme or entry.path or entry.fatal):
            continue
        obs.append(
            make_observation(
                target,
                "config.insecure_registry",
                False,
                {
                    "runtime": "docker",
                    "entry": entry.entry,
                    "file": daemon.file.file,
                    "key": f"insecure-registries[{entry.index}]",
                    "scheme": entry.scheme,
                    "path": entry.path or None,
                    "effective": entry.host or None,
                    "fatal": entry.fatal,
                },
                source=entry.source,
            )
        )
    return obs


def _client_observations(
    target: Target, client: docker_config.ClientConfig, paths: Paths
) -> list[Observation]:
    obs = []
    helpers: list[tuple[str, str, str, str | None]] = []
    if client.creds_store:
        helpers.append((client.creds_store, "credsStore", "store", None))
    for key, name in client.cred_helpers.items():
        helpers.append((name, f'credHelpers["{key}"]', "helper", key))
    seen: set[tuple[str, str]] = set()
    for name, key, role, entry in helpers:
        if (name, role) in seen:
            continue
        seen.add((name, role))
        # only for a configured helper: a check without one never resolves credentials
        from regdoctor.discovery import credentials

        found = credentials.find_helper(name, paths.env)
        obs.append(
            make_observation(
                target,
                "config.credential_helper",
                found is not None,
                {
                    "helper": name,
                    "binary": credentials.helper_binary(name),
                    "found": found is not None,
                    "path": found,
                    "role": role,
                    "file": client.file.file,
                    "machine_file": paths.shown(client.file.file),
                    "key": key,
                    "entry": entry,
                    "desktop": name in credentials.DESKTOP_HELPERS,
                },
                error=None if found else _not_found(credentials.helper_binary(name)),
                source=f"{client.file.file}#{key}",
            )
        )
    plaintext = [k for k, e in client.auths.items() if e.plaintext]
    obs.append(
        make_observation(
            target,
            "config.auths",
            not plaintext,
            {
                "file": client.file.file,
                "kind": client.kind,
                "entries": len(client.auths),
                "plaintext_keys": plaintext,
                "plaintext_count": len(plaintext),
                "store": client.creds_store,
            },
            source=client.file.file,
        )
    )
    return obs


def _not_found(binary: str) -> str:
    return f'exec: "{binary}": executable file not found in $PATH'


def _containerd_observations(
    target: Target, cfg: containerd_hosts.ContainerdConfig
) -> list[Observation]:
    obs = []
    assert cfg.file is not None
    for registry, endpoints in cfg.legacy_mirrors.items():
        for url, source in endpoints:
            shadowed = bool(cfg.config_path) and cfg.config_path_source != "containerd 2.x default"
            obs.append(
                make_observation(
                    target,
                    "config.mirror",
                    not shadowed,
                    {
                        "runtime": "containerd",
                        "mirror": url,
                        "mirror_of": registry,
                        "file": cfg.file.file,
                        "key": source.split("#", 1)[-1],
                        "used": not shadowed,
                        "unused_reason": "config_path_set" if shadowed else None,
                        "path": None,
                        # only the CRI plugin reads config.toml's registry tables; ctr
                        # --hosts-dir never does
                        "runtimes": ["kubernetes"],
                    },
                    source=source,
                )
            )
    if cfg.legacy_auth_keys:
        obs.append(
            make_observation(
                target,
                "config.auths",
                False,
                {
                    "file": cfg.file.file,
                    "kind": "containerd",
                    "entries": len(cfg.legacy_auth_keys),
                    "plaintext_keys": [r for r, _s in cfg.legacy_auth_keys],
                    "plaintext_count": len(cfg.legacy_auth_keys),
                    "store": None,
                },
                source=cfg.file.file,
            )
        )
    return obs


def _hosts_observations(target: Target, hosts: containerd_hosts.HostsFile) -> list[Observation]:
    obs = []
    for entry in hosts.hosts:
        reason = None if hosts.read else hosts.unread_reason
        if reason is None and not entry.pulls:
            reason = "capabilities"
        obs.append(
            make_observation(
                target,
                "config.mirror",
                reason is None,
                {
                    "runtime": "containerd",
                    "mirror": entry.url,
                    "mirror_of": hosts.registry,
                    "file": hosts.file.file,
                    "key": entry.source.split("#", 1)[-1],
                    "used": reason is None,
                    "unused_reason": reason,
                    "path": entry.path or None,
                    "directory": hosts.root,
                    "capabilities": list(entry.capabilities),
                },
                source=entry.source,
            )
        )
    return obs


def _as_machine_names(observation: Observation, effective: Effective) -> Observation:
    """The ``file`` fact as the machine names it (``/etc/docker/daemon.json`` also when it
    was read below ``--root``): a fix command runs on that machine."""
    from dataclasses import replace

    file = observation.facts.get("file")
    if not isinstance(file, str):
        return observation
    shown = effective.paths.shown(file)
    if shown == file:
        return observation
    return replace(observation, facts={**observation.facts, "file": shown})
