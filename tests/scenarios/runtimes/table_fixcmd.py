"""Fix commands that must be safe as well as right: no password in a command line, the
pod's own pull secret edited (never a guessed name deleted), file data passed to a
script as data.

The shims on a fix's PATH (``sudo``, ``ctr``, ``docker``, ``podman``) fail a command line
that holds the password, and a fix that prints it fails (:mod:`.test_runtime_scenarios`).
"""

from __future__ import annotations

from tests.harness.token_server import READER
from tests.scenarios.runtimes.scenario import Registry, Scenario
from tests.scenarios.runtimes.table import (
    APP,
    SECURE_IP,
    SECURE_NAMES,
    K,
    _ca_everywhere,
    _containerd_ca_hosts,
)

IMAGE = f"secure.test/{APP}"

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
)
