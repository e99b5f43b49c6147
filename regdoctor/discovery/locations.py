"""Every well-known place a pull's configuration lives, in one table. Paths are as the
machine sees them (``/etc/...``); :meth:`regdoctor.discovery.base.Paths.at` puts them
below ``--root``. The parsers read from here, and so does the list of files a report
or a bundle shows (:mod:`regdoctor.discovery.files`)."""

from __future__ import annotations

__all__ = [
    "CONTAINERD_CERTS_D",
    "CONTAINERD_CONFIG",
    "CONTAINERD_DROP_INS",
    "CONTAINERS_CERTS_D",
    "CONTAINERS_REGISTRIES_D",
    "DOCKER_CERTS_D",
    "DOCKER_DAEMON_JSON",
    "DOCKER_DROP_INS",
    "HOSTS",
    "KUBELET_CONFIG",
    "KUBELET_CREDENTIALS",
    "KUBERNETES_PULL_SECRETS",
    "REGISTRIES_CONF",
    "REGISTRIES_CONF_D",
]

#: dockerd's configuration file (``--config-file``).
DOCKER_DAEMON_JSON = "/etc/docker/daemon.json"
#: Per-registry CAs and client certificates for dockerd (``<host:port>/*.crt``).
DOCKER_CERTS_D = "/etc/docker/certs.d"
#: systemd drop-ins that may set a proxy for dockerd / containerd.
DOCKER_DROP_INS = "/etc/systemd/system/docker.service.d"
CONTAINERD_DROP_INS = "/etc/systemd/system/containerd.service.d"
#: containerd's configuration, and its default ``config_path`` for ``hosts.toml``.
CONTAINERD_CONFIG = "/etc/containerd/config.toml"
CONTAINERD_CERTS_D = "/etc/containerd/certs.d"
#: containers/image (podman, skopeo, CRI-O).
REGISTRIES_CONF = "/etc/containers/registries.conf"
REGISTRIES_CONF_D = "/etc/containers/registries.conf.d"
CONTAINERS_REGISTRIES_D = "/etc/containers/registries.d"
CONTAINERS_CERTS_D = "/etc/containers/certs.d"
#: The kubelet's configuration and its node-wide pull credentials.
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
KUBELET_CREDENTIALS = "/var/lib/kubelet/config.json"
#: Where a copy of a cluster's pull secrets may be put for ``--root`` (regdoctor's own).
KUBERNETES_PULL_SECRETS = "/etc/kubernetes/pull-secrets"
#: The resolver's static names.
HOSTS = "/etc/hosts"
