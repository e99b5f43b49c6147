"""The runtime model: what docker, containerd and podman do with their configuration.

Pure functions over plain inputs (no I/O, no network); every behaviour cites the
upstream file and tag it was read from. See docs/runtime-model.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from regdoctor.lazy_exports import lazy_exports

from .common import (
    AuthLookup,
    Endpoint,
    ErrorKind,
    ImageRef,
    Problem,
    Severity,
    Timeout,
    split_reference,
)

if TYPE_CHECKING:
    from .containerd import (
        HostsFile,
        containerd_endpoints,
        containerd_falls_back,
        cri_legacy_endpoints,
        host_dir_candidates,
        image_pull_progress_timeout,
        parse_hosts_toml,
        validate_cri_registry,
    )
    from .docker import (
        DaemonWouldNotStart,
        docker_cli_auth,
        docker_endpoints,
        docker_falls_back,
        docker_tries_plain_http_after,
        is_secure_index,
        parse_insecure_registries,
        validate_mirror,
    )
    from .docker_daemon import validate_daemon_json
    from .podman import (
        RewriteError,
        alias_problem,
        auth_file_candidates,
        find_registry,
        load_registries_conf,
        podman_endpoints,
        podman_falls_back,
        resolve_short_name,
    )
    from .timeouts import TIMEOUTS, timeout

#: name -> the submodule that defines it, imported on first use (PEP 562): a check pays
#: only for the runtimes in its scope (a podman-only host never imports the docker and
#: containerd models, their Go URL parser, or the timeouts table).
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "HostsFile",
            "containerd_endpoints",
            "containerd_falls_back",
            "cri_legacy_endpoints",
            "host_dir_candidates",
            "image_pull_progress_timeout",
            "parse_hosts_toml",
            "validate_cri_registry",
        ),
        "containerd",
    ),
    **dict.fromkeys(
        (
            "DaemonWouldNotStart",
            "docker_cli_auth",
            "docker_endpoints",
            "docker_falls_back",
            "docker_tries_plain_http_after",
            "is_secure_index",
            "parse_insecure_registries",
            "validate_mirror",
        ),
        "docker",
    ),
    "validate_daemon_json": "docker_daemon",
    **dict.fromkeys(
        (
            "RewriteError",
            "alias_problem",
            "auth_file_candidates",
            "find_registry",
            "load_registries_conf",
            "podman_endpoints",
            "podman_falls_back",
            "resolve_short_name",
        ),
        "podman",
    ),
    "TIMEOUTS": "timeouts",
    "timeout": "timeouts",
}

RUNTIMES = ("docker", "containerd", "podman")


def falls_back(runtime: str, kind: ErrorKind | str, *, mirror: bool = False) -> bool:
    """Does ``runtime`` try its next endpoint after a failure of ``kind``?"""
    k = ErrorKind(kind)
    if runtime in ("docker", "dockerd"):
        from .docker import docker_falls_back

        return docker_falls_back(k, mirror=mirror)
    if runtime in ("containerd", "cri", "ctr"):
        from .containerd import containerd_falls_back

        return containerd_falls_back(k)
    if runtime in ("podman", "skopeo", "crio", "cri-o"):
        from .podman import podman_falls_back

        return podman_falls_back(k)
    raise ValueError(f"unknown runtime {runtime!r}")


__all__ = [
    "RUNTIMES",
    "TIMEOUTS",
    "AuthLookup",
    "DaemonWouldNotStart",
    "Endpoint",
    "ErrorKind",
    "HostsFile",
    "ImageRef",
    "Problem",
    "RewriteError",
    "Severity",
    "Timeout",
    "alias_problem",
    "auth_file_candidates",
    "containerd_endpoints",
    "containerd_falls_back",
    "cri_legacy_endpoints",
    "docker_cli_auth",
    "docker_endpoints",
    "docker_falls_back",
    "docker_tries_plain_http_after",
    "falls_back",
    "find_registry",
    "host_dir_candidates",
    "image_pull_progress_timeout",
    "is_secure_index",
    "load_registries_conf",
    "parse_hosts_toml",
    "parse_insecure_registries",
    "podman_endpoints",
    "podman_falls_back",
    "resolve_short_name",
    "split_reference",
    "timeout",
    "validate_cri_registry",
    "validate_daemon_json",
    "validate_mirror",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
