"""Verdicts that must name what the runtime really does (review of session 8): the scheme
of the request that failed, the leading finding, and only the hosts a runtime contacts.

- ``HTTP_PROXY`` alone (no ``HTTPS_PROXY``) and an insecure registry whose name only the
  proxy resolves: the https:// attempt fails in the node's own DNS, and dockerd and
  podman go on to http://, which Go's ``ProxyFromEnvironment`` sends through
  ``HTTP_PROXY``; ctr and the CRI (hosts.toml ``server = "http://..."``) go there at once.
- podman's short-name alias to another host: podman never resolves the image's own
  host (docker.io), so neither may check.
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import PROXY_URL, Scenario
from tests.scenarios.runtimes.table import ALL, APP, TLS_REG, P
from tests.scenarios.runtimes.table_proxy import (
    BEHIND_PLAIN,
    BEHIND_PLAIN_NAMES,
    _both,
    drop_in,
    plain_registry,
)
from tests.scenarios.runtimes.table_registries_conf import CONF, TLS_CA, TLS_NAMES

#: only the plain-HTTP variable: an https:// request goes direct
HTTP_ONLY = {"HTTP_PROXY": PROXY_URL}
#: the request each runtime fails or pulls with: http:// through the proxy
PLAIN_ENDPOINT = "http://behind.test:5000/v2/"

VERDICT2_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "proxy-http-only-unresolved",
        "proxy",
        "behind.test:5000/team/app:1.2",
        ALL,
        registries=(BEHIND_PLAIN,),
        proxy="ok",
        proxy_names=BEHIND_PLAIN_NAMES,
        daemon_json={"insecure-registries": ["behind.test:5000"]},
        etc_files={**_both(drop_in(**HTTP_ONLY)), **plain_registry("behind.test:5000")},
        user_env=HTTP_ONLY,
        hub_trusted=True,
        expect={"docker": True, "containerd": True, "kubernetes": True, "podman": True},
        endpoints=dict.fromkeys(ALL, PLAIN_ENDPOINT),
        note="only HTTP_PROXY, and a name only the proxy resolves (NXDOMAIN on the node): "
        "dockerd and podman fail https:// in DNS and go on to http:// through the proxy; "
        "ctr and the CRI go to http:// (hosts.toml) through it at once",
    ),
    Scenario(
        "proxy-http-only-needs-login",
        "proxy",
        "behind.test:5000/team/app:1.2",
        ALL,
        registries=(BEHIND_PLAIN,),
        proxy="auth",
        proxy_names=BEHIND_PLAIN_NAMES,
        daemon_json={"insecure-registries": ["behind.test:5000"]},
        etc_files={**_both(drop_in(**HTTP_ONLY)), **plain_registry("behind.test:5000")},
        user_env=HTTP_ONLY,
        hub_trusted=True,
        expect={"docker": False, "containerd": False, "kubernetes": False, "podman": False},
        endpoints=dict.fromkeys(ALL, PLAIN_ENDPOINT),
        rule="http-proxy-auth-required",
        note="the same with a proxy that wants a login: every runtime's failing request is "
        "GET http://behind.test:5000/v2/ through HTTP_PROXY, answered 407",
    ),
    Scenario(
        "podman-alias-other-host",
        "registries.conf",
        APP,
        (P,),
        (TLS_REG,),
        TLS_NAMES,
        certs=TLS_CA,
        etc_files={
            CONF: 'short-name-mode = "enforcing"\n\n'
            '[aliases]\n"team/app" = "tls.test:5443/team/app"\n'
        },
        expect={P: True},
        uncontacted=("registry-1.docker.io", "docker.io"),
        note="a short-name alias to tls.test:5443: podman never looks up docker.io (the "
        "node's DNS refuses it), so check must neither",
    ),
)
