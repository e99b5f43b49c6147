"""Timeouts each runtime applies while pulling, as data (seconds; None = unlimited).

Phases: ``dial`` (TCP connect, net.Dialer.Timeout), ``keepalive`` (TCP keep-alive
probe period), ``tls_handshake`` (http.Transport.TLSHandshakeTimeout),
``response_header`` (http.Transport.ResponseHeaderTimeout; unset everywhere, so
unlimited), ``ping`` (whole /v2/ ping request), ``whole_request`` (http.Client.Timeout
for registry requests), ``no_progress`` (pull aborted when no bytes arrive),
``download_attempts`` (a count, not seconds).
"""

from __future__ import annotations

from .common import Timeout

_MOBY = "moby/moby v20.10.24: "
_CTRD = "containerd/containerd v1.6.20: "
_CIMG = "containers/image v5.23.1: "

TIMEOUTS: dict[str, dict[str, Timeout]] = {
    "docker": {
        "dial": Timeout(30.0, _MOBY + "distribution/registry.go NewV2Repository (net.Dialer)"),
        "keepalive": Timeout(30.0, _MOBY + "distribution/registry.go NewV2Repository"),
        "tls_handshake": Timeout(
            10.0,
            _MOBY + "distribution/registry.go NewV2Repository; registry/registry.go NewTransport",
        ),
        "response_header": Timeout(None, _MOBY + "distribution/registry.go (not set)"),
        "ping": Timeout(
            15.0,
            _MOBY + "registry/auth.go PingV2Registry (http.Client.Timeout)",
            "also 15 s in moby v28.5.2 registry/auth.go",
        ),
        "whole_request": Timeout(None, _MOBY + "distribution/registry.go (no Client.Timeout)"),
        "no_progress": Timeout(
            None,
            _MOBY + "distribution/ (no stall detection found)",
            "unverified: no stall timer found in distribution/",
        ),
        "download_attempts": Timeout(
            5,
            _MOBY + "daemon/config/config.go DefaultDownloadAttempts (max-download-attempts)",
            "a count of attempts per layer, not seconds",
        ),
    },
    "containerd": {
        "dial": Timeout(
            30.0,
            _CTRD + "remotes/docker/config/hosts.go ConfigureHosts; "
            "pkg/cri/server/image_pull.go newTransport",
        ),
        "keepalive": Timeout(30.0, _CTRD + "remotes/docker/config/hosts.go ConfigureHosts"),
        "tls_handshake": Timeout(10.0, _CTRD + "remotes/docker/config/hosts.go ConfigureHosts"),
        "response_header": Timeout(None, _CTRD + "remotes/docker/config/hosts.go (not set)"),
        "expect_continue": Timeout(5.0, _CTRD + "remotes/docker/config/hosts.go ConfigureHosts"),
        "idle_conn": Timeout(30.0, _CTRD + "remotes/docker/config/hosts.go ConfigureHosts"),
        "whole_request": Timeout(
            None, _CTRD + "remotes/docker/config/hosts.go (no Client.Timeout)"
        ),
        "no_progress": Timeout(
            None,
            _CTRD + "pkg/cri/config/config.go (no image_pull_progress_timeout before 1.7)",
            "1.7.0-1.7.9: 60 s, 1.7.10+/2.x: 300 s; see containerd.image_pull_progress_timeout()",
        ),
    },
    "podman": {
        "dial": Timeout(30.0, _CIMG + "pkg/tlsclientconfig/tlsclientconfig.go NewTransport"),
        "keepalive": Timeout(30.0, _CIMG + "pkg/tlsclientconfig/tlsclientconfig.go NewTransport"),
        "tls_handshake": Timeout(10.0, _CIMG + "pkg/tlsclientconfig/tlsclientconfig.go"),
        "response_header": Timeout(
            None, _CIMG + "pkg/tlsclientconfig/tlsclientconfig.go (not set)"
        ),
        "whole_request": Timeout(None, _CIMG + "docker/docker_client.go (no Client.Timeout)"),
        "no_progress": Timeout(None, _CIMG + "docker/ (none found)", "unverified"),
    },
}


def timeout(runtime: str, phase: str) -> Timeout | None:
    """TIMEOUTS lookup; "cri"/"ctr" map to containerd, "skopeo"/"crio" to podman."""
    alias = {
        "cri": "containerd",
        "ctr": "containerd",
        "skopeo": "podman",
        "crio": "podman",
        "cri-o": "podman",
        "dockerd": "docker",
    }
    return TIMEOUTS.get(alias.get(runtime, runtime), {}).get(phase)
