"""Hunted verdicts, second round (session 10): blob storage on another host.

A registry that keeps its blobs elsewhere (S3, a CDN, distribution's ``redirect``
storage middleware) answers every blob request with ``307 Temporary Redirect`` to the
storage host; ``/v2/`` and the manifest work, and every runtime then fails on the first
blob at the storage host. Each runtime follows the redirect with the same HTTP client,
so the same TLS configuration as the registry's (moby v20.10.24
distribution/registry.go NewV2Repository: one ``http.Client`` over
``registry.NewTransport(endpoint.TLSConfig)``; containerd v1.6.20
remotes/docker/resolver.go: the host's ``Client`` from its hosts.toml entry;
containers/image v5.23.1 docker/docker_client.go: the registry's ``tlsClientConfig``
from its certs.d directory): a CA for the storage host is read from the *registry's*
certs.d directory (or hosts.toml ``ca``), not from one named after the storage host.
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import (
    PASSWORD,
    STORAGE_HOST,
    STORAGE_IP,
    USERNAME,
    Registry,
    Scenario,
)
from tests.scenarios.runtimes.table import (
    ALL,
    APP,
    SECURE_IP,
    TLS_IP,
    C,
    D,
    K,
    P,
    _auth,
    _ca_everywhere,
    _hosts,
)
from tests.scenarios.runtimes.table_hunt import TOKEN_NAMES
from tests.scenarios.runtimes.table_podman2 import TLS_NAMES
from tests.scenarios.runtimes.table_registries_conf import APP_BY_DIGEST

TLS_HOST = "tls.test:5443"
STORAGE_NAMES = {**TLS_NAMES, STORAGE_HOST: STORAGE_IP}


def _tls_hosts_toml(hostport: str) -> dict[str, str]:
    return {
        f"containerd/certs.d/{hostport}/hosts.toml": (
            f'server = "https://{hostport}"\n\n[host."https://{hostport}"]\n'
            '  capabilities = ["pull", "resolve"]\n'
            f'  ca = "/etc/containerd/certs.d/{hostport}/ca.crt"\n'
        )
    }


HUNT2_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "blob-storage-refused",
        "tls",
        f"{TLS_HOST}/{APP}",
        ALL,
        (Registry("tls", TLS_IP, 5443, "tls", storage="refused"),),
        STORAGE_NAMES,
        certs=_ca_everywhere(TLS_HOST),
        etc_files=_tls_hosts_toml(TLS_HOST),
        server_side=True,
        server_fix=r"storage",
        expect={D: False, C: False, K: False, P: False},
        note="/v2/ and the manifest answer; every blob request is sent to "
        "storage.test:9443, where nothing listens",
    ),
    Scenario(
        "blob-storage-untrusted",
        "tls",
        f"{TLS_HOST}/{APP}",
        ALL,
        (Registry("tls", TLS_IP, 5443, "tls", storage="untrusted"),),
        STORAGE_NAMES,
        certs=_ca_everywhere(TLS_HOST),
        etc_files=_tls_hosts_toml(TLS_HOST),
        expect={D: False, C: False, K: False, P: False},
        note="the blob storage's certificate is from a CA nobody trusts: the fix installs "
        "it where the runtime reads the registry's CAs",
    ),
)


def _storage_ca(directory: str) -> dict[str, str]:
    """The storage host's CA (the one nobody else trusts) as ``storage-ca.crt`` in
    DIRECTORY of each runtime's certs.d."""
    return {
        f"{base}/certs.d/{directory}/storage-ca.crt": "other_ca"
        for base in ("docker", "containers", "containerd")
    }


HUNT2_SCENARIOS += (
    Scenario(
        "blob-storage-ca-beside-registry-ca",
        "tls",
        f"{TLS_HOST}/{APP}",
        ALL,
        (Registry("tls", TLS_IP, 5443, "tls", storage="untrusted"),),
        STORAGE_NAMES,
        certs={**_ca_everywhere(TLS_HOST), **_storage_ca(TLS_HOST)},
        etc_files={
            f"containerd/certs.d/{TLS_HOST}/hosts.toml": (
                f'server = "https://{TLS_HOST}"\n\n[host."https://{TLS_HOST}"]\n'
                '  capabilities = ["pull", "resolve"]\n'
                f'  ca = ["/etc/containerd/certs.d/{TLS_HOST}/ca.crt", '
                f'"/etc/containerd/certs.d/{TLS_HOST}/storage-ca.crt"]\n'
            )
        },
        expect={D: True, C: True, K: True, P: True},
        note="the storage's CA beside the registry's CA: every runtime trusts the "
        "storage host (the registry's TLS settings apply to the redirect)",
    ),
    Scenario(
        "blob-storage-ca-in-storage-dir",
        "tls",
        f"{TLS_HOST}/{APP}",
        ALL,
        (Registry("tls", TLS_IP, 5443, "tls", storage="untrusted"),),
        STORAGE_NAMES,
        certs={**_ca_everywhere(TLS_HOST), **_storage_ca("storage.test:9443")},
        etc_files=_tls_hosts_toml(TLS_HOST),
        expect={D: False, C: False, K: False, P: False},
        note="the storage's CA in a certs.d directory named after the storage host: no "
        "runtime reads it for a redirect",
    ),
)


# The same for the token realm: its CA installed beside the registry's (what
# tls-realm-unknown-authority's fix does) is the one the runtimes use for the realm.
HUNT2_SCENARIOS += (
    Scenario(
        "token-realm-ca-beside-registry-ca",
        "credentials",
        f"secure.test/{APP}",
        (D, K, P),  # ctr has no login
        (Registry("secure", SECURE_IP, 443, "token"),),
        TOKEN_NAMES,
        certs={
            **_ca_everywhere("secure.test"),
            **{
                f"{base}/certs.d/secure.test/realm-ca.crt": "other_ca"
                for base in ("docker", "containers", "containerd")
            },
        },
        etc_files={
            "containerd/certs.d/secure.test/hosts.toml": (
                'server = "https://secure.test"\n\n[host."https://secure.test"]\n'
                '  capabilities = ["pull", "resolve"]\n'
                '  ca = ["/etc/containerd/certs.d/secure.test/ca.crt", '
                '"/etc/containerd/certs.d/secure.test/realm-ca.crt"]\n'
            )
        },
        docker_config={"auths": {"secure.test": {"auth": _auth(USERNAME, PASSWORD)}}},
        pull_secret=(USERNAME, PASSWORD),
        realm_ca="other_ca",
        expect={D: True, K: True, P: True},
        note="the token server's CA beside the registry's CA in the registry's certs.d: "
        "every runtime trusts the realm",
    ),
)


# containerd hosts.toml details: a mirror whose path is the API root itself
# (``override_path``), and a mirror that may only ``pull`` used for a pull by digest
# (the pull by tag: table.py's containerd-host-without-resolve). Both agreed with
# regdoctor on the first run: regression guards.
MIRROR_NAMES = {"secure.test": SECURE_IP, "tls.test": TLS_IP}


def _mirror_hosts(host: str, **options: object) -> dict[str, str]:
    return {
        "containerd/certs.d/secure.test/hosts.toml": _hosts(
            "https://secure.test",
            host,
            ca="/etc/containerd/certs.d/secure.test/mirror-ca.crt",
            **options,
        )
    }


HUNT2_SCENARIOS += (
    Scenario(
        "containerd-mirror-override-path",
        "hosts.toml",
        f"secure.test/{APP}",
        (C, K),
        (Registry("secure", SECURE_IP, 443, "none"), Registry("tls", TLS_IP, 5443, "tls")),
        MIRROR_NAMES,
        etc_files=_mirror_hosts(
            f"https://{TLS_HOST}/v2", capabilities=["pull", "resolve"], override_path=True
        ),
        certs={"containerd/certs.d/secure.test/mirror-ca.crt": "ca"},
        expect={C: True, K: True},
        note="the mirror's URL is its API root (/v2, override_path = true): containerd "
        "asks it for /v2/team/app/...; the registry itself is down",
    ),
    Scenario(
        "containerd-pull-only-mirror-by-digest",
        "hosts.toml",
        f"secure.test/{APP_BY_DIGEST}",
        (C, K),
        (Registry("secure", SECURE_IP, 443, "none"), Registry("tls", TLS_IP, 5443, "tls")),
        MIRROR_NAMES,
        etc_files=_mirror_hosts(f"https://{TLS_HOST}", capabilities=["pull"]),
        certs={"containerd/certs.d/secure.test/mirror-ca.crt": "ca"},
        expect={C: True, K: True},
        note="a mirror without `resolve`, the registry down, a pull by digest: a digest "
        "needs only `pull` (containerd v1.6.20 remotes/docker/resolver.go Resolve: "
        "HostCapabilityResolve is asked for a tag only), so the mirror serves it",
    ),
)


# Session 10, second round (h-storage2): the storage host's certificate judged per
# runtime, with each runtime's own trust for the REGISTRY host.
HUNT2_SCENARIOS += (
    Scenario(
        "blob-storage-ca-in-containerd-certs-d",
        "tls",
        f"{TLS_HOST}/{APP}",
        ALL,
        (Registry("tls", TLS_IP, 5443, "tls", storage="untrusted"),),
        STORAGE_NAMES,
        certs={
            **_ca_everywhere(TLS_HOST),
            f"containerd/certs.d/{TLS_HOST}/storage-ca.crt": "other_ca",
        },
        expect={D: False, C: True, K: True, P: False},
        note="no hosts.toml: containerd reads every *.crt of the registry's certs.d "
        "directory (v1.6.20 remotes/docker/config/hosts.go loadHostDir -> loadCertFiles) "
        "into the host's client, which follows the redirect; docker's and podman's "
        "certs.d have only the registry's CA",
    ),
    Scenario(
        "blob-storage-untrusted-docker-insecure-cidr",
        "tls",
        f"{TLS_HOST}/{APP}",
        (D, P),
        (Registry("tls", TLS_IP, 5443, "tls", storage="untrusted"),),
        STORAGE_NAMES,
        certs=_ca_everywhere(TLS_HOST),
        daemon_json={"insecure-registries": ["198.18.0.0/24"]},
        expect={D: True, P: False},
        note="an insecure registry by IP range: dockerd sets InsecureSkipVerify on the "
        "endpoint's TLS configuration (moby v20.10.24 registry/registry.go newTLSConfig), "
        "which the redirect to the storage host uses too, so docker pulls; podman verifies",
    ),
)


# The token realm's certificate per runtime: its CA only in containerd's certs.d
# directory (no hosts.toml: the CRI reads the directory's *.crt into the host's client,
# which its authorizer also fetches the token with).
HUNT2_SCENARIOS += (
    Scenario(
        "token-realm-ca-in-containerd-certs-d",
        "credentials",
        f"secure.test/{APP}",
        (D, K, P),  # ctr has no login
        (Registry("secure", SECURE_IP, 443, "token"),),
        TOKEN_NAMES,
        certs={
            **_ca_everywhere("secure.test"),
            "containerd/certs.d/secure.test/realm-ca.crt": "other_ca",
        },
        docker_config={"auths": {"secure.test": {"auth": _auth(USERNAME, PASSWORD)}}},
        pull_secret=(USERNAME, PASSWORD),
        realm_ca="other_ca",
        expect={D: False, K: True, P: False},
        note="the token server's CA only in containerd's certs.d directory for the "
        "registry (no hosts.toml): the CRI trusts the realm, docker and podman do not",
    ),
)
