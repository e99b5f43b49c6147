"""Credentials per runtime: which file and which entry each client really uses.

podman reads its auth files in order (``/run/containers/0/auth.json`` for root, then
``$HOME/.config/containers/auth.json``, then ``~/.docker/config.json``) and stops at the
first that has an entry for the image; the docker CLI reads only its config.json, where
``credHelpers[host]`` beats ``credsStore``, which beats ``auths``. Credential helpers are
real programs on the node's PATH (:func:`.world.cred_helper`).
"""

from __future__ import annotations

from tests.harness.token_server import READER
from tests.scenarios.runtimes.scenario import PASSWORD, USERNAME, WRONG_PASSWORD, Registry, Scenario
from tests.scenarios.runtimes.table import (
    APP,
    SECURE_IP,
    SECURE_NAMES,
    C,
    D,
    K,
    P,
    _auth,
    _ca_everywhere,
    _containerd_ca_hosts,
    _cri_config,
    _secure_tls,
)

RIGHT = {"auth": _auth(USERNAME, PASSWORD)}
WRONG = {"auth": _auth(USERNAME, WRONG_PASSWORD)}
IMAGE = f"secure.test/{APP}"
READER_LOGIN = {"auth": _auth(*READER)}

CREDS_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "creds-podman-authfile-first-wins",
        "credentials",
        IMAGE,
        (D, P),
        docker_config={"auths": {"secure.test": RIGHT}},
        node_files={"/run/containers/0/auth.json": {"auths": {"secure.test": WRONG}}},
        expect={D: True, P: False},
        note="podman's own auth.json (an old login, wrong password) comes before "
        "~/.docker/config.json (the right one): podman stops at the first entry, docker "
        "never reads auth.json",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-auths-key-url-v1",
        "credentials",
        IMAGE,
        (D, P),
        docker_config={"auths": {"https://secure.test/v1/": RIGHT}},
        expect={D: True, P: True},
        note="an auths key written as a URL with /v1/ (old docker login): both clients "
        "strip the scheme and path",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-auths-key-other-namespace",
        "credentials",
        IMAGE,
        (D, P),
        docker_config={"auths": {"secure.test/other": RIGHT}},
        expect={D: True, P: False},
        note="an auths key with a repository path (secure.test/other): docker keys by "
        "host and uses it; podman matches the path against the image's (team/app) and "
        "does not",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-store-empty-beside-auths",
        "credentials",
        IMAGE,
        (D, P),
        docker_config={"credsStore": "keychain", "auths": {"secure.test": RIGHT}},
        cred_helpers={"keychain": "keychain"},
        expect={D: False, P: True},
        note="credsStore's helper exists and answers 'credentials not found in native "
        "keychain' (exit 1); the password is in auths: docker asks only the store, "
        "podman ignores credsStore and uses auths",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-helper-beside-store",
        "credentials",
        IMAGE,
        (D, P),
        docker_config={"credsStore": "keychain", "credHelpers": {"secure.test": "answers"}},
        cred_helpers={"keychain": "keychain", "answers": "answers"},
        expect={D: True, P: True},
        note="credHelpers names a helper that answers for secure.test beside an empty "
        "credsStore: the host's helper wins for both clients",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-token-realm-other-host",
        "credentials",
        IMAGE,
        (D, C, P),
        (Registry("secure", SECURE_IP, 443, "token_private"),),
        {**SECURE_NAMES, "auth.test": "127.0.0.1"},
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        docker_config={"auths": {"secure.test": RIGHT}},
        expect={D: True, C: False, P: True},
        note="login stored for secure.test, token realm on auth.test (private "
        "repository): docker and podman send the registry's credentials to the realm; "
        "ctr has no credential store and needs --user",
    ),
    Scenario(
        "creds-podman-registry-auth-file-falls-through",
        "credentials",
        IMAGE,
        (D, P),
        user_env={"REGISTRY_AUTH_FILE": "/home/node/ci/auth.json"},
        node_files={
            "/home/node/ci/auth.json": {"auths": {"other.test": RIGHT}},
            "/home/node/.config/containers/auth.json": {"auths": {"secure.test": RIGHT}},
        },
        expect={D: False, P: True},
        note="REGISTRY_AUTH_FILE names a file without an entry for the registry: podman "
        "goes on to ~/.config/containers/auth.json, which has one; docker has no login",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-right-login-wrong-scope",
        "credentials",
        IMAGE,
        (D, C, K, P),
        (Registry("secure", SECURE_IP, 443, "token_scoped"),),
        {**SECURE_NAMES, "auth.test": "127.0.0.1"},
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        docker_config={"auths": {"secure.test": READER_LOGIN}},
        pull_secret=READER,
        expect={D: False, C: False, K: False, P: False},
        note="a login that the token server accepts, for an account that may not pull "
        "team/app (insufficient_scope); ctr has none at all; the fix logs in with the "
        "account that may",
    ),
    Scenario(
        "cri-pull-secret-beats-configs-auth",
        "credentials",
        IMAGE,
        (K,),
        pull_secret=(USERNAME, WRONG_PASSWORD),
        expect={K: False},
        note="config.toml's registry.configs.<host>.auth is right, the pod's "
        "imagePullSecret wrong: the CRI sends the secret (configs only when the kubelet "
        "passes no AuthConfig), so the fix is the secret",
        **_secure_tls(
            auth=True,
            config=_cri_config(config_path=True, auth=("secure.test", USERNAME, PASSWORD)),
        ),  # type: ignore[arg-type]
    ),
    Scenario(
        "cri-pull-secret-over-wrong-configs-auth",
        "credentials",
        IMAGE,
        (K,),
        pull_secret=(USERNAME, PASSWORD),
        expect={K: True},
        note="the reverse: configs.<host>.auth has a wrong password, the imagePullSecret "
        "the right one: the CRI pulls with the secret",
        **_secure_tls(
            auth=True,
            config=_cri_config(config_path=True, auth=("secure.test", USERNAME, WRONG_PASSWORD)),
        ),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-store-answers-podman-ignores",
        "credentials",
        IMAGE,
        (D, P),
        docker_config={"credsStore": "answers"},
        cred_helpers={"answers": "answers"},
        expect={D: True, P: False},
        note="the login lives only in credsStore's helper (as after docker login with a "
        "desktop or pass store): docker pulls, podman never asks credsStore",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-podman-xdg-runtime-dir",
        "credentials",
        IMAGE,
        (P,),
        user_env={"XDG_RUNTIME_DIR": "/run/containers/user"},
        node_files={
            "/run/containers/user/containers/auth.json": {"auths": {"secure.test": RIGHT}},
            "/run/containers/0/auth.json": {"auths": {"secure.test": WRONG}},
        },
        expect={P: True},
        note="XDG_RUNTIME_DIR set: podman's first file is $XDG_RUNTIME_DIR/containers/"
        "auth.json, and root's /run/containers/0/auth.json (wrong password) is not read",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-helper-locked-anonymous",
        "credentials",
        IMAGE,
        (D, P),
        docker_config={"credHelpers": {"secure.test": "locked"}},
        cred_helpers={"locked": "locked"},
        expect={D: True, P: False},
        note="credHelpers names a helper that exists and fails (exit 1, not 'credentials "
        "not found') for a registry that needs no login: docker ignores the error and "
        "pulls anonymously, podman stops at it",
        **_secure_tls(auth=False),  # type: ignore[arg-type]
    ),
    Scenario(
        "creds-podman-docker-config-env",
        "credentials",
        IMAGE,
        (D, P),
        user_env={"DOCKER_CONFIG": "/home/node/.docker"},
        docker_config={"auths": {"secure.test": RIGHT}},
        node_files={"/run/containers/0/auth.json": {"auths": {"secure.test": WRONG}}},
        expect={D: True},
        note="DOCKER_CONFIG set in the shell, root's old podman login in "
        "/run/containers/0/auth.json: whether podman's default --authfile becomes "
        "$DOCKER_CONFIG/config.json (containers/common GetDefaultAuthFile) decides",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
)
