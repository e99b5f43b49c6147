"""Fix commands that give the kubelet an account, for a pod that names its own
imagePullSecret: the fix edits that Secret (the kubelet passes the pod's imagePullSecrets
to the CRI, and the service account's only for a pod that names none), keeping its other
entries; a ``regcred`` created and added to the service account changes nothing for it.
"""

from __future__ import annotations

from tests.harness.token_server import LIMITED
from tests.scenarios.runtimes.scenario import Registry, Scenario
from tests.scenarios.runtimes.table import (
    APP,
    SECURE_IP,
    SECURE_NAMES,
    K,
    _ca_everywhere,
    _containerd_ca_hosts,
    _secure_tls,
)

IMAGE = f"secure.test/{APP}"
#: an account for another registry: the pod's Secret's only entry, kept by the fix
OTHER_ACCOUNT = ("other", "other-pw")

FIXCMD3_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "fixcmd3-ratelimited-pod-secret-named",
        "ratelimit",
        IMAGE,
        (K,),
        (Registry("secure", SECURE_IP, 443, "token_ratelimit"),),
        {**SECURE_NAMES, "auth.test": "127.0.0.1"},
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        pull_secret=LIMITED,
        pull_secret_name="team-pull",
        expect={K: False},
        note="the pod's imagePullSecret team-pull holds an account over its rate limit "
        "(429 TOOMANYREQUESTS): the fix gives that Secret's entry another account (a "
        "regcred added to the service account is not the pod's: no change)",
    ),
    Scenario(
        "fixcmd3-pod-secret-other-registry",
        "credentials",
        IMAGE,
        (K,),
        pull_secret=OTHER_ACCOUNT,
        pull_secret_key="other.test",
        pull_secret_name="team-pull",
        expect={K: False},
        note="the pod's imagePullSecret team-pull has an entry for other.test only, so "
        "the kubelet pulls secure.test anonymously (401): the fix adds the entry to "
        "team-pull, keeping other.test's (the service account's secrets are not used "
        "for a pod that names its own)",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
)
