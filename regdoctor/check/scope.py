"""Which runtimes a run judges: ``--runtime R``, else every runtime found on this host
or named in the configuration read, else all of them. The verdicts of the runtimes in
scope set the exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from regdoctor.check.routes import ALL_RUNTIMES

if TYPE_CHECKING:
    from regdoctor.discovery.effective import Effective

__all__ = ["runtimes_in_scope"]

#: A binary on the host, and the runtime whose verdict it calls for.
_BINARIES = {
    "docker": "docker",
    "containerd": "containerd",
    "nerdctl": "containerd",
    "podman": "podman",
    "cri-o": "podman",  # CRI-O pulls with containers/image, as podman does
    "kubelet": "kubernetes",
}


def runtimes_in_scope(
    chosen: str, effective: Effective | None, *, this_host: bool
) -> tuple[str, ...]:
    """``chosen``: ``--runtime`` (``""`` when not given). ``this_host``: the configuration
    read is this machine's own (no ``--root``), so its binaries count too."""
    if chosen == "all":
        return ALL_RUNTIMES
    if chosen:
        return (chosen,)
    found: set[str] = set()
    if effective is not None:
        for result in effective.files():
            if result.exists and result.runtime in ALL_RUNTIMES:
                found.add(result.runtime)
        if effective.kube is not None and effective.kube.workloads:
            found.add("kubernetes")
    if this_host:
        from regdoctor.discovery.host import binaries

        found.update(_BINARIES[name] for name in binaries() if name in _BINARIES)
    return tuple(r for r in ALL_RUNTIMES if r in found) or ALL_RUNTIMES
