"""Fix commands that must be safe as well as right: no password in a command line, the
pod's own pull secret edited (never a guessed name deleted), file data passed to a
script as data.

The shims on a fix's PATH (``sudo``, ``ctr``, ``docker``, ``podman``) fail a command line
that holds the password, and a fix that prints it fails (:mod:`.test_runtime_scenarios`).
"""

from __future__ import annotations

from tests.harness.token_server import READER
from tests.scenarios.runtimes.scenario import USERNAME, WRONG_PASSWORD, Registry, Scenario
from tests.scenarios.runtimes.table import (
    APP,
    HUB_NAMES,
    LOOPBACK_PLAIN,
    SECURE_IP,
    SECURE_NAMES,
    D,
    K,
    P,
    _ca_everywhere,
    _containerd_ca_hosts,
    _secure_tls,
)

IMAGE = f"secure.test/{APP}"
#: an auth file whose name a shell and Python both need quoted
QUOTED_AUTH_FILE = """/home/node/ci's "auth".json"""
LOCKED = {"credHelpers": {"secure.test": "locked"}}

FIXCMD_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "fixcmd-denied-pod-secret-named",
        "credentials",
        IMAGE,
        (K,),
        (Registry("secure", SECURE_IP, 443, "token_scoped"),),
        {**SECURE_NAMES, "auth.test": "127.0.0.1"},
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        pull_secret=READER,
        pull_secret_name="team-pull",
        expect={K: False},
        note="the pod's imagePullSecret team-pull holds an account that may not pull "
        "team/app: the fix gives that secret's entry an account that may (a fix that "
        "deletes regcred, a name the pod does not use, fails or changes nothing)",
    ),
    Scenario(
        "fixcmd-helper-failed-root-auth-json",
        "credentials",
        IMAGE,
        (P,),
        node_files={"/run/containers/0/auth.json": LOCKED},
        cred_helpers={"locked": "locked"},
        expect={P: False},
        note="root's podman auth file (/run/containers/0/auth.json, mode 0600) names a "
        "credHelpers helper that fails: podman stops at it; the fix removes the entry "
        "as root",
        **_secure_tls(auth=False),  # type: ignore[arg-type]
    ),
    Scenario(
        "fixcmd-helper-failed-quoted-path",
        "credentials",
        IMAGE,
        (P,),
        user_env={"REGISTRY_AUTH_FILE": QUOTED_AUTH_FILE},
        node_files={QUOTED_AUTH_FILE: LOCKED},
        cred_helpers={"locked": "locked"},
        expect={P: False},
        note="REGISTRY_AUTH_FILE names a file with a quote in its name, whose credHelpers "
        "helper fails: the fix passes the path to its script as data (pasted into "
        "Python source, the quote ends the string)",
        **_secure_tls(auth=False),  # type: ignore[arg-type]
    ),
    Scenario(
        "fixcmd-rejected-pod-secret-named",
        "credentials",
        IMAGE,
        (K,),
        pull_secret=(USERNAME, WRONG_PASSWORD),
        pull_secret_name="team-pull",
        expect={K: False},
        note="the pod's imagePullSecret team-pull has a wrong password: the fix gives that "
        "secret's entry the right one (deleting regcred, a name the pod does not use, "
        "fails; a new regcred is not the pod's)",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "fixcmd-helper-missing-quoted-path",
        "credentials",
        IMAGE,
        (P,),
        user_env={"REGISTRY_AUTH_FILE": QUOTED_AUTH_FILE},
        node_files={QUOTED_AUTH_FILE: {"credHelpers": {"secure.test": "nosuch"}}},
        expect={P: False},
        note="REGISTRY_AUTH_FILE (a quote in its name) names a credHelpers helper that is "
        "not installed, for a registry that wants a login: the fix removes the entry, "
        "its script taking the path as data, and logs in",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "fixcmd-daemon-mirror-quoted",
        "daemon",
        f"127.0.0.1:5000/{APP}",
        (D,),
        (LOOPBACK_PLAIN,),
        HUB_NAMES,
        daemon_json={"registry-mirrors": ['https://mirror.test/c"ache']},
        expect={D: False},
        note="a daemon.json mirror with a path (dockerd 20.10 will not start) and a quote "
        "in it: the fix's script takes the entry as data (pasted into Python source, the "
        "quote ended the string)",
    ),
)
