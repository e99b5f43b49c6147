"""Forward proxies in the runtime table: the daemons take theirs from their systemd
unit's drop-ins (``Environment=``), podman and ctr from the user's shell.

The proxy (:mod:`.world_proxy`) tunnels only to loopback; ``behind.test`` (127.0.0.5) is
known only to the proxy, so it is reachable only through it; ``direct.test`` is in the
node's DNS at a namespace address the proxy cannot reach (it answers CONNECT 502).
"""

from __future__ import annotations

from tests.scenarios.runtimes.scenario import PROXY_LOGIN_URL, PROXY_URL, Registry, Scenario
from tests.scenarios.runtimes.table import C, D, K, P, _hosts

BEHIND = Registry("behind", "127.0.0.5", 443, "tls")
BEHIND_NAMES = {"behind.test": "127.0.0.5"}
DIRECT_IP = "198.18.0.70"
DIRECT = Registry("direct", DIRECT_IP, 443, "tls")
DOCKER_DROP_IN = "systemd/system/docker.service.d/http-proxy.conf"
CONTAINERD_DROP_IN = "systemd/system/containerd.service.d/http-proxy.conf"
SHELL_PROXY = {"HTTPS_PROXY": PROXY_URL}
#: plain-HTTP registries: one only the proxy reaches, one the node reaches directly
BEHIND_PLAIN = Registry("behind_plain", "127.0.0.6", 5000, "plain")
BEHIND_PLAIN_NAMES = {"behind.test": "127.0.0.6"}
REACH_IP = "198.18.0.71"
REACH_PLAIN = Registry("reach", REACH_IP, 5000, "plain")
#: what proxy set-ups usually write: both variables (a plain-HTTP registry is proxied by
#: HTTP_PROXY, an https one by HTTPS_PROXY)
BOTH_PROXY = {"HTTP_PROXY": PROXY_URL, "HTTPS_PROXY": PROXY_URL}


def plain_registry(hostport: str) -> dict[str, str]:
    """Each runtime told that ``hostport`` speaks plain HTTP, in its own way (dockerd:
    daemon.json ``insecure-registries``, given by the scenario; containerd's ctr and CRI:
    hosts.toml ``server = "http://..."``; podman: registries.conf ``insecure = true``)."""
    url = f"http://{hostport}"
    return {
        f"containerd/certs.d/{hostport}/hosts.toml": _hosts(
            url, url, capabilities=["pull", "resolve"]
        ),
        "containers/registries.conf": (f'[[registry]]\nlocation = "{hostport}"\ninsecure = true\n'),
    }


def drop_in(**env: str) -> str:
    assignments = " ".join(f'"{k}={v}"' for k, v in env.items())
    return f"[Service]\nEnvironment={assignments}\n"


def _both(text: str) -> dict[str, str]:
    return {DOCKER_DROP_IN: text, CONTAINERD_DROP_IN: text}


PROXY_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "proxy-daemon-without-proxy",
        "proxy",
        f"behind.test/{'team/app:1.2'}",
        (D, C, K, P),
        registries=(BEHIND,),
        proxy="ok",
        proxy_names=BEHIND_NAMES,
        user_env=SHELL_PROXY,
        hub_trusted=True,
        expect={D: False, C: True, K: False, P: True},
        note="(a) the registry only through the proxy; the shell has HTTPS_PROXY, the "
        "daemons' units do not: docker and the CRI resolve the name themselves and fail",
    ),
    Scenario(
        "proxy-no-proxy-missing",
        "proxy",
        "direct.test/team/app:1.2",
        (D, C, K, P),
        registries=(DIRECT,),
        names={"direct.test": DIRECT_IP},
        proxy="ok",
        etc_files=_both(drop_in(HTTPS_PROXY=PROXY_URL, NO_PROXY="other.test")),
        hub_trusted=True,
        expect={D: False, C: True, K: False, P: True},
        note="(b) the daemons' units set HTTPS_PROXY and a NO_PROXY without the registry, "
        "which the proxy cannot reach (CONNECT 502); ctr and podman have no proxy",
    ),
    Scenario(
        "proxy-needs-login",
        "proxy",
        "behind.test/team/app:1.2",
        (D, K),
        registries=(BEHIND,),
        proxy="auth",
        proxy_names=BEHIND_NAMES,
        etc_files=_both(drop_in(HTTPS_PROXY=PROXY_URL)),
        hub_trusted=True,
        expect={D: False, K: False},
        note="(c) the proxy wants a login (407); the daemons' drop-ins name it without one",
    ),
    Scenario(
        "proxy-needs-login-shell",
        "proxy",
        "behind.test/team/app:1.2",
        (C, P),
        registries=(BEHIND,),
        proxy="auth",
        proxy_names=BEHIND_NAMES,
        user_env=SHELL_PROXY,
        hub_trusted=True,
        expect={C: False, P: False},
        note="(c) the proxy wants a login (407); the shell's HTTPS_PROXY has none",
    ),
    Scenario(
        "proxy-podman-env",
        "proxy",
        "behind.test/team/app:1.2",
        (C, P),
        registries=(BEHIND,),
        proxy="auth",
        proxy_names=BEHIND_NAMES,
        user_env={"HTTPS_PROXY": PROXY_LOGIN_URL},
        hub_trusted=True,
        expect={C: True, P: True},
        note="(d) podman and ctr read HTTPS_PROXY (with the proxy's login) from their "
        "own environment",
    ),
    Scenario(
        "proxy-plain-needs-login",
        "proxy",
        "behind.test:5000/team/app:1.2",
        (D, C, K, P),
        registries=(BEHIND_PLAIN,),
        proxy="auth",
        proxy_names=BEHIND_PLAIN_NAMES,
        daemon_json={"insecure-registries": ["behind.test:5000"]},
        etc_files={**_both(drop_in(**BOTH_PROXY)), **plain_registry("behind.test:5000")},
        user_env=BOTH_PROXY,
        hub_trusted=True,
        expect={D: False, C: False, K: False, P: False},
        rule="http-proxy-auth-required",
        note="(e) a plain-HTTP registry only through the proxy, which wants a login: "
        "GET http://behind.test:5000/v2/ is answered 407 (http-proxy-auth-required); "
        "the daemons' drop-ins and the shell set HTTP_PROXY and HTTPS_PROXY without one",
    ),
    Scenario(
        "proxy-plain-error-page",
        "proxy",
        "reach.test:5000/team/app:1.2",
        (D, C, K, P),
        registries=(REACH_PLAIN,),
        names={"reach.test": REACH_IP},
        proxy="error_page",
        daemon_json={"insecure-registries": ["reach.test:5000"]},
        etc_files={**_both(drop_in(**BOTH_PROXY)), **plain_registry("reach.test:5000")},
        user_env=BOTH_PROXY,
        hub_trusted=True,
        expect={D: False, C: False, K: False, P: False},
        # ctr and the CRI HEAD the manifest: the page's body is never read, and they
        # print the bare status, as for a registry's own 403; podman's ping prints the
        # status only ("invalid status code from registry 403 (Forbidden)", which explain
        # reads as containers/image's 403 since session 10). docker prints the page
        # ("invalid character '<'"): proxy.error.
        explain_text_only={C: "auth.denied", K: "auth.denied", P: "auth.denied"},
        rule="http-proxy-error-page",
        note="(f) a plain-HTTP registry the node reaches directly; the proxy answers "
        "every request with its own 403 HTML page (http-proxy-error-page); the "
        "fix is NO_PROXY",
    ),
)
