"""Fix commands that must be right where the obvious one is not.

- Kubernetes: for a pod that names its own imagePullSecret, the fix that gives the
  kubelet an account edits that Secret (the kubelet passes the pod's imagePullSecrets to
  the CRI, and the service account's only for a pod that names none), keeping its other
  entries; a ``regcred`` created and added to the service account changes nothing for it.
- podman: the insecure fix changes the ``[[registry]]`` entry podman uses for the image
  (containers/image v5.23.1 pkg/sysregistriesv2 FindRegistry: the longest matching
  prefix), and a mirror's own ``insecure`` for a plain-HTTP mirror; a table for the
  registry's host alone is shadowed by a longer prefix and never read for a mirror.
"""

from __future__ import annotations

from tests.harness.token_server import LIMITED
from tests.scenarios.runtimes.scenario import (
    MIRROR_IP,
    USERNAME,
    WRONG_PASSWORD,
    Registry,
    Scenario,
)
from tests.scenarios.runtimes.table import (
    APP,
    NS_PLAIN,
    PLAIN_NAMES,
    SECURE_IP,
    SECURE_NAMES,
    K,
    P,
    _ca_everywhere,
    _containerd_ca_hosts,
    _cri_config,
    _secure_tls,
)

IMAGE = f"secure.test/{APP}"
#: the node's python3 is older than 3.11 (RHEL 8: 3.6, Ubuntu 20.04: 3.8): ``import
#: tomllib`` (and ``tomli``) fails in the fix's shell, and nothing else changes
OLD_PYTHON = {
    "node_files": {
        "/home/node/old-python/tomllib.py": "raise ImportError('No module named tomllib')\n",
        "/home/node/old-python/tomli.py": "raise ImportError('No module named tomli')\n",
    },
    "fix_env": {"PYTHONPATH": "/home/node/old-python"},
}
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
    Scenario(
        "fixcmd3-podman-insecure-old-python",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        **OLD_PYTHON,  # type: ignore[arg-type]
        expect={P: False},
        note="a plain-HTTP registry podman has no entry for, on a node whose python3 has no "
        "tomllib: the fix writes its drop-in without parsing anything (the python3 script "
        "that read the files with tomllib stopped at its import)",
    ),
    Scenario(
        "fixcmd3-podman-insecure-longer-prefix",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nprefix = "plain.test:5000/team"\nlocation = "plain.test:5000/team"\n'
            ),
        },
        **OLD_PYTHON,  # type: ignore[arg-type]
        expect={P: False},
        note="a [[registry]] for plain.test:5000/team (no insecure) is the longest prefix "
        "for the image: a table for plain.test:5000 alone is never read for it; the fix "
        "marks the team table insecure",
    ),
    Scenario(
        "fixcmd3-podman-insecure-mirror",
        "registries.conf",
        f"secure.test/{APP}",
        (P,),
        (Registry("secure", SECURE_IP, 443, "none"), Registry("mirror", MIRROR_IP, 5000)),
        {"secure.test": SECURE_IP, "mirror.test": MIRROR_IP},
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nlocation = "secure.test"\n\n'
                '[[registry.mirror]]\nlocation = "mirror.test:5000"\n'
            ),
        },
        **OLD_PYTHON,  # type: ignore[arg-type]
        expect={P: False},
        note="a plain-HTTP mirror not marked insecure, the registry itself down: a "
        "mirror's insecure is its own ([[registry.mirror]] insecure), so the fix sets it "
        "there (a [[registry]] for mirror.test:5000 is not read for secure.test's images)",
    ),
    Scenario(
        "fixcmd3-podman-insecure-wildcard",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={"containers/registries.conf": '[[registry]]\nprefix = "*.test"\n'},
        **OLD_PYTHON,  # type: ignore[arg-type]
        expect={P: False},
        note="a wildcard [[registry]] (*.test) is the table podman uses for "
        "plain.test:5000: the fix's table for plain.test:5000 alone is a longer prefix "
        "(the wildcard's other hosts keep theirs)",
    ),
    Scenario(
        "fixcmd3-podman-wildcard-mirror-port",
        "registries.conf",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN, Registry("mirror", MIRROR_IP, 5000, "tls", "stale")),
        {**PLAIN_NAMES, "mirror.test": MIRROR_IP},
        certs={"containers/certs.d/mirror.test:5000/ca.crt": "ca"},
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nprefix = "*.test"\n\n'
                '[[registry.mirror]]\nlocation = "mirror.test:5000"\n'
            ),
        },
        expect={P: False},
        note="a wildcard [[registry]] with a mirror, and an image with a port: podman "
        "stops before any request, 'rewriting reference: invalid reference format' "
        "(rewriteReference appends what follows the wildcard's match, ':5000/team/app', "
        "to the mirror's location); behind the stop the mirror lacks the image and the "
        "registry is plain HTTP: check names both (the table for the host, then insecure)",
    ),
    Scenario(
        "fixcmd3-cri-config-path-old-python",
        "cri",
        f"plain.test:5000/{APP}",
        (K,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containerd/config.toml": _cri_config(config_path=False).replace(
                "registry]\n", 'registry]\n  config_path = ""  # set by the fix\n'
            ),
        },
        **OLD_PYTHON,  # type: ignore[arg-type]
        expect={K: False},
        note="a plain-HTTP registry for the kubelet, config_path empty (with a comment) on a "
        "node whose python3 has no tomllib: the fix writes hosts.toml and sets config_path "
        "reading config.toml without a TOML library (it stopped at import tomllib)",
    ),
    Scenario(
        "fixcmd3-cri-configs-auth-wrong",
        "credentials",
        IMAGE,
        (K,),
        expect={K: False},
        note="the CRI's own registry.configs.<host>.auth in config.toml has a wrong "
        "password and the pod names no pull secret: the fix gives that table the right "
        "one (there is no pod secret to edit)",
        **_secure_tls(
            auth=True,
            config=_cri_config(config_path=True, auth=("secure.test", USERNAME, WRONG_PASSWORD)),
        ),  # type: ignore[arg-type]
    ),
)
