"""Fix commands no real pull had verified (``fix_coverage.py``, session 10): for each
(rule, runtime) pair, the node state that makes ``check`` raise the rule as an error for
that runtime, the real client's outcome there, and regdoctor's fix applied before the
same client pulls again.

- ``tls-runtime-lacks-ca``: the registry's CA installed where only some runtimes read
  it (containerd's certs.d directory without hosts.toml: docker and podman fail;
  docker's certs.d: podman reads it too, containerd and the CRI fail).
- ``tcp-refused-plain-http-80``: a plain-HTTP registry on port 80, named without a port,
  that no runtime is told about: every runtime dials https:// port 443 and is refused.
- ``tls-http-to-tls-port``: a TLS registry (trusted through the system store) that
  each runtime is told is plain HTTP (dockerd ``insecure-registries``, podman
  ``insecure = true``, containerd ``server = "http://..."``): dockerd and podman try
  https:// first and pull, ctr and the CRI get ``400 Bad Request`` (containerd prints
  the status alone; ``explain`` read it as a 401 by word similarity). The same with
  the registry on port 443 and ``server = "http://host"`` without a port: containerd
  dials port 80 (refused), check judged port 443's TLS (strict xfail).
- logins: a private repository and no login (``image-access-denied-anonymous``), a
  token server that refuses anonymous tokens (``auth-token-refused``), a wrong password
  (``auth-rejected-credentials``): the docker and podman logins were a bare
  ``docker login REGISTRY``, which stops without a terminal; a ``credsStore`` that is
  not installed (podman ignores credsStore: ``auth-missing-credentials``), a stale
  Docker Desktop store (``config-credential-store-stale``), a ``credHelpers`` helper
  that fails where the registry wants a login (``config-credential-helper-failed``:
  docker now removes the entry too, as podman's fix does).
- a hosts.toml whose root has the ``ca`` but may only pull, its ``[host]`` resolving
  without one (``tls-hosts-entry-lacks-ca``: check said error with no finding).
- insecure-registries entries that stop dockerd (a trailing slash, a ``tcp://``
  scheme): ``config-daemon-will-not-start`` edits; ``config-insecure-registry-invalid``
  (restart only) rides along.
- the pod's imagePullSecret missing from its namespace, or of type ``Opaque``
  (``k8s-pull-secret-missing``, ``-malformed``): the missing-credential fix no longer
  creates a second Secret on the service account.
- a reviewer's second pass: ``credsStore`` (not ``credHelpers``) naming the failing
  helper (docker's fix removes ``credsStore``: docker login used it again); the CA only
  in docker's certs.d beside a hosts.toml whose ``[host]`` has no ``ca`` (a copied
  ca.crt is never read there: the entry gets the ``ca``); the root ``ca`` off the
  resolve route with every runtime in scope and the CA in docker's certs.d too.
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import (
    PASSWORD,
    USERNAME,
    WRONG_PASSWORD,
    Registry,
    Scenario,
)
from tests.scenarios.runtimes.table import (
    ALL,
    APP,
    NS_PLAIN,
    PLAIN_NAMES,
    SECURE_IP,
    SECURE_TOKEN,
    TLS_REG,
    UNTRUSTED_IP,
    C,
    D,
    K,
    P,
    _ca_everywhere,
    _containerd_ca_hosts,
    _hosts,
    _secure_tls,
)
from tests.scenarios.runtimes.table_creds import WRONG
from tests.scenarios.runtimes.table_podman2 import TLS_NAMES
from tests.scenarios.runtimes.table_verdict3 import PLAIN_80, PLAIN_80_NAMES

TLS_HOST = "tls.test:5443"

FIXCOV_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "fixcov-ca-only-containerd-dir",
        "tls",
        f"{TLS_HOST}/{APP}",
        ALL,
        (TLS_REG,),
        TLS_NAMES,
        certs={f"containerd/certs.d/{TLS_HOST}/ca.crt": "ca"},
        expect={D: False, C: True, K: True, P: False},
        rule="tls-runtime-lacks-ca",
        note="the CA only in containerd's certs.d directory (no hosts.toml: containerd "
        "reads its *.crt); docker and podman do not look there",
    ),
    Scenario(
        "fixcov-ca-only-docker-dir",
        "tls",
        f"{TLS_HOST}/{APP}",
        ALL,
        (TLS_REG,),
        TLS_NAMES,
        certs={f"docker/certs.d/{TLS_HOST}/ca.crt": "ca"},
        expect={D: True, C: False, K: False, P: True},
        rule="tls-runtime-lacks-ca",
        note="the CA only in docker's certs.d (podman reads it too); containerd and the "
        "CRI do not look there",
    ),
    Scenario(
        "fixcov-plain-80-nobody-told",
        "scheme",
        f"plain80.test/{APP}",
        ALL,
        registries=(PLAIN_80,),
        names=PLAIN_80_NAMES,
        hub_trusted=True,
        expect=dict.fromkeys(ALL, False),
        rule="tcp-refused-plain-http-80",
        note="a plain-HTTP registry on port 80 named without a port, no runtime told: "
        "every runtime dials https:// port 443 and is refused",
    ),
    Scenario(
        "fixcov-tls-registry-told-plain-http",
        "scheme",
        f"{TLS_HOST}/{APP}",
        ALL,
        (TLS_REG,),
        TLS_NAMES,
        hub_trusted=True,
        daemon_json={"insecure-registries": [TLS_HOST]},
        etc_files={
            "containers/registries.conf": (
                f'[[registry]]\nlocation = "{TLS_HOST}"\ninsecure = true\n'
            ),
            f"containerd/certs.d/{TLS_HOST}/hosts.toml": _hosts(
                f"http://{TLS_HOST}", f"http://{TLS_HOST}", capabilities=["pull", "resolve"]
            ),
        },
        expect={D: True, C: False, K: False, P: True},
        rule="tls-http-to-tls-port",
        note="a TLS registry (its CA in the system store) that every runtime is told "
        "speaks plain HTTP: dockerd and podman try https:// first and pull; ctr and the "
        "CRI send plain HTTP and get 400 Bad Request",
    ),
    Scenario(
        "fixcov-untrusted-registry-told-plain-http",
        "scheme",
        f"untrusted.test/{APP}",
        (C, K),
        (Registry("untrusted", UNTRUSTED_IP, 443, "untrusted"),),
        {"untrusted.test": UNTRUSTED_IP},
        etc_files={
            "containerd/certs.d/untrusted.test/hosts.toml": _hosts(
                "http://untrusted.test", "http://untrusted.test", capabilities=["pull", "resolve"]
            ),
        },
        fix_ca="other_ca",
        expect={C: False, K: False},
        note='a TLS registry on port 443 and a hosts.toml server = "http://untrusted.test" '
        "(no port): ctr and the CRI dial port 80, where nothing listens (strict xfail)",
    ),
)

#: the registry with a private repository (anonymous tokens grant nothing) and its realm
PRIVATE = {
    "registries": (Registry("secure", SECURE_IP, 443, "token_private"),),
    "names": {"secure.test": SECURE_IP, "auth.test": "127.0.0.1"},
    "hub_trusted": True,
    "certs": _ca_everywhere("secure.test"),
    "etc_files": _containerd_ca_hosts("secure.test"),
}

FIXCOV_SCENARIOS += (
    Scenario(
        "fixcov-private-repository-no-login",
        "credentials",
        f"secure.test/{APP}",
        ALL,
        expect=dict.fromkeys(ALL, False),
        rule="image-access-denied-anonymous",
        note="a private repository and no login anywhere: the anonymous token grants "
        "nothing, every runtime is refused the manifest",
        **PRIVATE,  # type: ignore[arg-type]
    ),
    Scenario(
        "fixcov-token-wrong-password",
        "credentials",
        f"secure.test/{APP}",
        ALL,
        docker_config={"auths": {"secure.test": WRONG}},
        pull_secret=(USERNAME, WRONG_PASSWORD),
        expect=dict.fromkeys(ALL, False),
        note="a token registry and a wrong password in docker's config.json (podman reads "
        "it too) and in the pod's pull secret: the token server refuses the login",
        **PRIVATE,  # type: ignore[arg-type]
    ),
    Scenario(
        "fixcov-credential-store-missing",
        "credentials",
        f"secure.test/{APP}",
        (D, P),
        docker_config={"credsStore": "not-installed", "auths": {"secure.test": {}}},
        note="credsStore names a helper that is not installed, the auths entry is empty "
        "(as docker login with a store leaves it): docker stops at the helper, podman "
        "ignores credsStore and pulls anonymously",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
)

FIXCOV_SCENARIOS += (
    Scenario(
        "fixcov-token-no-login",
        "credentials",
        f"secure.test/{APP}",
        ALL,
        (SECURE_TOKEN,),
        {"secure.test": SECURE_IP, "auth.test": "127.0.0.1"},
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        expect=dict.fromkeys(ALL, False),
        rule="auth-token-refused",
        note="a token registry whose token server refuses anonymous requests, and no "
        "login anywhere",
    ),
)

FIXCOV_SCENARIOS += (
    Scenario(
        "fixcov-helper-locked-login-needed",
        "credentials",
        f"secure.test/{APP}",
        (D, P),
        docker_config={"credHelpers": {"secure.test": "locked"}},
        cred_helpers={"locked": "locked"},
        expect={D: False, P: False},
        note="credHelpers names a helper that fails (the keyring is locked) for a registry "
        "that wants a login: docker ignores the error and is refused anonymously, podman "
        "stops at the helper",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "fixcov-hosts-entry-lacks-ca",
        "hosts.toml",
        f"{TLS_HOST}/{APP}",
        (C, K),
        (TLS_REG,),
        TLS_NAMES,
        certs={f"containerd/certs.d/{TLS_HOST}/ca.crt": "ca"},
        etc_files={
            f"containerd/certs.d/{TLS_HOST}/hosts.toml": (
                f'server = "https://{TLS_HOST}"\n'
                'capabilities = ["pull"]\n'
                f'ca = "/etc/containerd/certs.d/{TLS_HOST}/ca.crt"\n\n'
                f'[host."https://{TLS_HOST}"]\n'
                '  capabilities = ["pull", "resolve"]\n'
            )
        },
        expect={C: False, K: False},
        rule="tls-hosts-entry-lacks-ca",
        note="the ca only on the file's root (server), which may not resolve: the [host] "
        "entry that resolves has none",
    ),
    Scenario(
        "fixcov-insecure-registry-trailing-slash",
        "daemon",
        f"plain.test:5000/{APP}",
        (D,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        daemon_json={"insecure-registries": ["plain.test:5000/"]},
        expect={D: False},
        note="an insecure-registries entry with a trailing slash: dockerd does not start",
    ),
    Scenario(
        "fixcov-insecure-registry-other-scheme",
        "daemon",
        f"plain.test:5000/{APP}",
        (D,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        daemon_json={"insecure-registries": ["tcp://plain.test:5000"]},
        expect={D: False},
        note="an insecure-registries entry with a scheme other than http(s)://: dockerd "
        "does not start",
    ),
)

FIXCOV_SCENARIOS += (
    Scenario(
        "fixcov-desktop-store-stale",
        "credentials",
        f"secure.test/{APP}",
        (D,),
        docker_config={"credsStore": "desktop", "auths": {"secure.test": {}}},
        expect={D: False},
        note="config.json copied from a Docker Desktop machine: credsStore desktop, whose "
        "helper is not installed here, and a registry that wants a login",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
)

FIXCOV_SCENARIOS += (
    Scenario(
        "fixcov-pod-secret-missing",
        "cri",
        f"secure.test/{APP}",
        (K,),
        pull_secret_missing=True,
        expect={K: False},
        note="the pod names the imagePullSecret regcred, which does not exist: the kubelet "
        "pulls without credentials",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
)

FIXCOV_SCENARIOS += (
    Scenario(
        "fixcov-pod-secret-opaque",
        "cri",
        f"secure.test/{APP}",
        (K,),
        pull_secret=(USERNAME, PASSWORD),
        pull_secret_opaque=True,
        expect={K: False},
        note="the pod's imagePullSecret holds the right login as .dockerconfigjson, but "
        "is of type Opaque: the kubelet passes no credentials",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
)

# session 10, second pass (a reviewer's findings on the fixes above)
FIXCOV_SCENARIOS += (
    Scenario(
        "fixcov-store-locked-login-needed",
        "credentials",
        f"secure.test/{APP}",
        (D,),
        docker_config={"credsStore": "locked"},
        cred_helpers={"locked": "locked"},
        expect={D: False},
        note="credsStore (not credHelpers) names a helper that fails (the keyring is locked) "
        "for a registry that wants a login: dockerd is refused anonymously, and docker "
        "login would store the login with that same helper until credsStore is gone",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
)

FIXCOV_SCENARIOS += (
    Scenario(
        "fixcov-ca-only-docker-dir-hosts-entry",
        "tls",
        f"{TLS_HOST}/{APP}",
        (C, K),
        (TLS_REG,),
        TLS_NAMES,
        certs={f"docker/certs.d/{TLS_HOST}/ca.crt": "ca"},
        etc_files={
            f"containerd/certs.d/{TLS_HOST}/hosts.toml": (
                f'server = "https://{TLS_HOST}"\n\n'
                f'[host."https://{TLS_HOST}"]\n'
                '  capabilities = ["pull", "resolve"]\n'
            )
        },
        expect={C: False, K: False},
        rule="tls-runtime-lacks-ca",
        note="the CA only in docker's certs.d, and a hosts.toml whose [host] entry resolves "
        "without a ca: a ca.crt copied beside the hosts.toml is not read (containerd "
        "reads the directory's *.crt only without one); the entry needs the ca",
    ),
)

FIXCOV_SCENARIOS += (
    Scenario(
        "fixcov-hosts-entry-lacks-ca-docker-dir",
        "hosts.toml",
        f"{TLS_HOST}/{APP}",
        ALL,
        (TLS_REG,),
        TLS_NAMES,
        certs={
            f"containerd/certs.d/{TLS_HOST}/ca.crt": "ca",
            f"docker/certs.d/{TLS_HOST}/ca.crt": "ca",
        },
        etc_files={
            f"containerd/certs.d/{TLS_HOST}/hosts.toml": (
                f'server = "https://{TLS_HOST}"\n'
                'capabilities = ["pull"]\n'
                f'ca = "/etc/containerd/certs.d/{TLS_HOST}/ca.crt"\n\n'
                f'[host."https://{TLS_HOST}"]\n'
                '  capabilities = ["pull", "resolve"]\n'
            )
        },
        expect={D: True, C: False, K: False, P: True},
        rule="tls-hosts-entry-lacks-ca",
        note="as fixcov-hosts-entry-lacks-ca, every runtime in scope and the CA in docker's "
        "certs.d too (docker and podman pull): check matched docker's ca.crt against the "
        "hosts.toml and said error with no finding",
    ),
)
