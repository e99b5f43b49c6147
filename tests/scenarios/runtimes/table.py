"""The scenario table: every class of issue #12, as real node setups.

``expect`` is a sanity check of the setup (what the client did when the scenario was
written, on Debian 12's dockerd 20.10.24, containerd/ctr 1.6.20, podman 4.3.1); the
oracle at test time is always the client itself.
"""

from __future__ import annotations

import base64

from tests.scenarios.runtimes.scenario import (
    HUB,
    HUB_IP,
    MIRROR_IP,
    PASSWORD,
    USERNAME,
    WRONG_PASSWORD,
    Client,
    Registry,
    Scenario,
)

APP = "team/app:1.2"
PLAIN_IP = "198.18.0.20"
SLOW_IP = "198.18.0.30"
TLS_IP = "198.18.0.40"
SECURE_IP = "198.18.0.50"
UNTRUSTED_IP = "198.18.0.60"
EXPIRED_IP = "198.18.0.61"
WRONGHOST_IP = "198.18.0.62"

LOOPBACK_PLAIN = Registry("loopback", "127.0.0.1", 5000)
NS_PLAIN = Registry("plain", PLAIN_IP, 5000)
HUB_REG = Registry("hub", HUB_IP, 443, "tls")
TLS_REG = Registry("tls", TLS_IP, 5443, "tls")
SECURE_BASIC = Registry("secure", SECURE_IP, 443, "basic")
SECURE_ANON = Registry("secure", SECURE_IP, 443, "tls")
SECURE_TOKEN = Registry("secure", SECURE_IP, 443, "token")

PLAIN_NAMES = {"plain.test": PLAIN_IP}
HUB_NAMES = {HUB: HUB_IP, "mirror.test": MIRROR_IP}
SECURE_NAMES = {"secure.test": SECURE_IP}

D: Client = "docker"
C: Client = "containerd"
P: Client = "podman"
K: Client = "kubernetes"
ALL: tuple[Client, ...] = (D, C, K, P)


def _hosts(server: str, host: str, **options: object) -> str:
    lines = [f'server = "{server}"', "", f'[host."{host}"]']
    for key, value in options.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            text = "[" + ", ".join(f'"{v}"' for v in value) + "]"
        else:
            text = f'"{value}"'
        lines.append(f"  {key} = {text}")
    return "\n".join(lines) + "\n"


def _ca_everywhere(hostport: str) -> dict[str, str]:
    """The harness CA installed for HOSTPORT the way each runtime reads it."""
    return {
        f"docker/certs.d/{hostport}/ca.crt": "ca",
        f"containers/certs.d/{hostport}/ca.crt": "ca",
        f"containerd/certs.d/{hostport}/ca.crt": "ca",
    }


def _containerd_ca_hosts(hostport: str) -> dict[str, str]:
    return {
        f"containerd/certs.d/{hostport}/hosts.toml": _hosts(
            f"https://{hostport}",
            f"https://{hostport}",
            capabilities=["pull", "resolve"],
            ca=f"/etc/containerd/certs.d/{hostport}/ca.crt",
        )
    }


def _secure_tls(auth: bool, config: str | None = None) -> dict[str, object]:
    """secure.test:443 with the harness CA installed for docker and podman (and
    ``config``: the node's /etc/containerd/config.toml)."""
    etc_files = _containerd_ca_hosts("secure.test")
    if config is not None:
        etc_files["containerd/config.toml"] = config
    return {
        "registries": (SECURE_BASIC if auth else SECURE_ANON,),
        "names": SECURE_NAMES,
        "certs": _ca_everywhere("secure.test"),
        "etc_files": etc_files,
    }


def _cri_config(
    *,
    config_path: bool,
    mirrors: bool = False,
    mirror: tuple[str, str] | None = None,
    auth: tuple[str, str, str] | None = None,
) -> str:
    """The node's /etc/containerd/config.toml (version 2): the CRI registry table."""
    section = '[plugins."io.containerd.grpc.v1.cri".registry]'
    lines = ["version = 2", "", section]
    if config_path:
        lines.append('  config_path = "/etc/containerd/certs.d"')
    if mirrors:
        mirror = mirror or ("docker.io", "https://mirror.test")
    if mirror is not None:
        lines += [
            f'{section[:-1]}.mirrors."{mirror[0]}"]',
            f'  endpoint = ["{mirror[1]}"]',
        ]
    if auth is not None:
        host, user, password = auth
        lines += [
            f'{section[:-1]}.configs."{host}".auth]',
            f'  username = "{user}"',
            f'  password = "{password}"',
        ]
    return "\n".join(lines) + "\n"


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


SCENARIOS: tuple[Scenario, ...] = (
    # -- scheme and HTTP fallback ----------------------------------------------------------
    Scenario(
        "http-loopback-ip",
        "scheme",
        f"127.0.0.1:5000/{APP}",
        ALL,
        (LOOPBACK_PLAIN,),
        expect={D: True, C: True, K: True, P: False},
        note="plain HTTP on 127.0.0.1 by IP",
    ),
    Scenario(
        "http-loopback-name",
        "scheme",
        f"registry.test:5000/{APP}",
        ALL,
        (LOOPBACK_PLAIN,),
        {"registry.test": "127.0.0.1"},
        expect={D: True, C: False, K: False, P: False},
        note="plain HTTP on a name resolving to 127.0.0.1",
    ),
    Scenario(
        "http-localhost",
        "scheme",
        f"localhost:5000/{APP}",
        ALL,
        (LOOPBACK_PLAIN,),
        expect={D: True, C: True, K: True, P: False},
        note="containerd's default for localhost",
    ),
    Scenario(
        "http-namespace-address",
        "scheme",
        f"plain.test:5000/{APP}",
        ALL,
        (NS_PLAIN,),
        PLAIN_NAMES,
        expect={D: False, C: False, K: False, P: False},
        note="plain HTTP outside 127.0.0.0/8, nothing marks it insecure",
    ),
    Scenario(
        "insecure-hostport",
        "scheme",
        f"plain.test:5000/{APP}",
        (D,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        daemon_json={"insecure-registries": ["plain.test:5000"]},
        expect={D: True},
    ),
    Scenario(
        "insecure-host-without-port",
        "scheme",
        f"plain.test:5000/{APP}",
        (D,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        daemon_json={"insecure-registries": ["plain.test"]},
        expect={D: False},
        note="host entry without the port does not cover host:5000",
    ),
    Scenario(
        "insecure-cidr-covers-name",
        "scheme",
        f"plain.test:5000/{APP}",
        (D,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        daemon_json={"insecure-registries": ["198.18.0.0/24"]},
        expect={D: True},
        note="CIDR entry matching the resolved address of a name",
    ),
    Scenario(
        "insecure-cidr-misses",
        "scheme",
        f"plain.test:5000/{APP}",
        (D,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        daemon_json={"insecure-registries": ["198.18.1.0/24"]},
        expect={D: False},
    ),
    Scenario(
        "podman-insecure-true",
        "scheme",
        f"plain.test:5000/{APP}",
        (P,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containers/registries.conf": (
                '[[registry]]\nlocation = "plain.test:5000"\ninsecure = true\n'
            )
        },
        expect={P: True},
    ),
    Scenario(
        "containerd-hosts-http-server",
        "scheme",
        f"plain.test:5000/{APP}",
        (C, K),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containerd/certs.d/plain.test:5000/hosts.toml": _hosts(
                "http://plain.test:5000",
                "http://plain.test:5000",
                capabilities=["pull", "resolve"],
            )
        },
        expect={C: True, K: True},
    ),
    # -- timeouts and slowness -------------------------------------------------------------
    Scenario(
        "slow-1.5s",
        "slow",
        f"slow.test/{APP}",
        (D, C, K),
        (Registry("slow", SLOW_IP, 443, "tls", delay_s=1.5),),
        {"slow.test": SLOW_IP},
        certs=_ca_everywhere("slow.test"),
        etc_files=_containerd_ca_hosts("slow.test"),
        slow=True,
        expect={D: True, C: True, K: True},
        note="every answer (TLS flights, HTTP responses) held 1.5 s",
    ),
    Scenario(
        "slow-3.5s",
        "slow",
        f"slow.test/{APP}",
        (P,),
        (Registry("slow", SLOW_IP, 443, "tls", delay_s=3.5),),
        {"slow.test": SLOW_IP},
        certs=_ca_everywhere("slow.test"),
        slow=True,
        expect={P: True},
        note="every answer held 3.5 s: the TLS handshake outlasts a 3-5 s timeout",
    ),
    # -- mirrors (fake Docker Hub) ---------------------------------------------------------
    Scenario(
        "mirror-dead",
        "mirror",
        "nginx:latest",
        (D,),
        (HUB_REG, Registry("mirror", MIRROR_IP, 443, "none")),
        HUB_NAMES,
        daemon_json={"registry-mirrors": ["https://mirror.test"]},
        hub_trusted=True,
        expect={D: True},
        note="nothing listens on the mirror: dockerd falls back to the Hub",
    ),
    Scenario(
        "mirror-401",
        "mirror",
        "nginx:latest",
        (D,),
        (HUB_REG, Registry("mirror", MIRROR_IP, 443, "basic")),
        HUB_NAMES,
        daemon_json={"registry-mirrors": ["https://mirror.test"]},
        hub_trusted=True,
        expect={D: True},
        note="the mirror answers 401 (it wants a login): dockerd falls back to the Hub",
    ),
    Scenario(
        "mirror-healthy",
        "mirror",
        "nginx:latest",
        (D,),
        (HUB_REG, Registry("mirror", MIRROR_IP, 443, "tls", "proxy")),
        HUB_NAMES,
        daemon_json={"registry-mirrors": ["https://mirror.test"]},
        hub_trusted=True,
        expect={D: True},
        note="pull-through cache of the fake Hub",
    ),
    Scenario(
        "mirror-not-for-other-registries",
        "mirror",
        f"secure.test/{APP}",
        (D,),
        (SECURE_ANON, HUB_REG, Registry("mirror", MIRROR_IP, 443, "none")),
        {**HUB_NAMES, **SECURE_NAMES},
        daemon_json={"registry-mirrors": ["https://mirror.test"]},
        certs=_ca_everywhere("secure.test"),
        hub_trusted=True,
        expect={D: True},
        note="a dead Hub mirror does not matter for a non-Hub image",
    ),
    Scenario(
        "mirror-stale-digest",
        "mirror",
        "nginx:latest",
        (D,),
        (HUB_REG, Registry("mirror", MIRROR_IP, 443, "tls", "stale")),
        HUB_NAMES,
        daemon_json={"registry-mirrors": ["https://mirror.test"]},
        hub_trusted=True,
        expect={D: True},
        note="the mirror serves an older nginx:latest than the Hub",
    ),
    Scenario(
        "mirror-untrusted-hub-down",
        "mirror",
        "nginx:latest",
        (D,),
        (Registry("hub", HUB_IP, 443, "none"), Registry("mirror", MIRROR_IP, 443, "tls")),
        HUB_NAMES,
        daemon_json={"registry-mirrors": ["https://mirror.test"]},
        expect={D: False},
        note="mirror's CA not installed, Hub unreachable: both endpoints fail",
    ),
    # -- configuration that stops dockerd --------------------------------------------------
    Scenario(
        "daemon-mirror-with-path",
        "daemon",
        f"127.0.0.1:5000/{APP}",
        (D,),
        (LOOPBACK_PLAIN,),
        HUB_NAMES,
        daemon_json={"registry-mirrors": ["https://mirror.test/cache"]},
        expect={D: False},
    ),
    Scenario(
        "daemon-mirror-without-scheme",
        "daemon",
        f"127.0.0.1:5000/{APP}",
        (D,),
        (LOOPBACK_PLAIN,),
        HUB_NAMES,
        daemon_json={"registry-mirrors": ["mirror.test"]},
        expect={D: False},
    ),
    Scenario(
        "daemon-insecure-trailing-slash",
        "daemon",
        f"plain.test:5000/{APP}",
        (D,),
        (NS_PLAIN,),
        PLAIN_NAMES,
        daemon_json={"insecure-registries": ["plain.test:5000/"]},
        expect={D: False},
        note="the fix must keep the entry (without the slash) for the pull to work",
    ),
    Scenario(
        "daemon-invalid-json",
        "daemon",
        f"127.0.0.1:5000/{APP}",
        (D,),
        (LOOPBACK_PLAIN,),
        daemon_json='{"insecure-registries": ["plain.test:5000"],}\n',
        expect={D: False},
    ),
    # -- containerd hosts.toml ---------------------------------------------------------------
    Scenario(
        "containerd-mirror-path-trap",
        "hosts.toml",
        "docker.io/library/nginx:latest",
        (C, K),
        (Registry("hub", HUB_IP, 443, "none"), Registry("mirror", MIRROR_IP, 443, "tls")),
        HUB_NAMES,
        etc_files={
            "containerd/certs.d/docker.io/hosts.toml": _hosts(
                "https://registry-1.docker.io",
                "https://mirror.test/cache",
                capabilities=["pull", "resolve"],
                ca="/etc/containerd/certs.d/docker.io/mirror-ca.crt",
            )
        },
        certs={"containerd/certs.d/docker.io/mirror-ca.crt": "ca"},
        expect={C: False, K: False},
        note="/v2 appended after /cache (no override_path); the Hub is unreachable",
    ),
    Scenario(
        "containerd-host-without-resolve",
        "hosts.toml",
        f"plain.test:5000/{APP}",
        (C, K),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containerd/certs.d/plain.test:5000/hosts.toml": _hosts(
                "https://plain.test:5000", "http://plain.test:5000", capabilities=["pull"]
            )
        },
        expect={C: False, K: False},
        note="tag pull: the only http host lacks `resolve`, the https server fails",
    ),
    Scenario(
        "containerd-server-without-port",
        "hosts.toml",
        f"plain.test:5000/{APP}",
        (C, K),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containerd/certs.d/plain.test:5000/hosts.toml": _hosts(
                "http://plain.test", "http://plain.test", capabilities=["pull", "resolve"]
            )
        },
        expect={C: False, K: False},
        note="server and host without :5000 dial port 80",
    ),
    Scenario(
        "containerd-no-host-table",
        "hosts.toml",
        f"untrusted.test/{APP}",
        (C, K),
        (Registry("untrusted", UNTRUSTED_IP, 443, "untrusted"),),
        {"untrusted.test": UNTRUSTED_IP},
        etc_files={
            "containerd/certs.d/untrusted.test/hosts.toml": (
                'server = "https://untrusted.test"\nskip_verify = true\n'
            )
        },
        fix_ca="other_ca",
        expect={C: False, K: False},
        note="1.6 cannot decode a file without [host] and ignores it: skip_verify is not in effect",
    ),
    Scenario(
        "containerd-certs-dir-hostport",
        "hosts.toml",
        f"tls.test:5443/{APP}",
        (C, K),
        (TLS_REG,),
        {"tls.test": TLS_IP},
        certs={"containerd/certs.d/tls.test:5443/ca.crt": "ca"},
        expect={C: True, K: True},
        note="certs.d/host:port/ca.crt without hosts.toml is read",
    ),
    Scenario(
        "containerd-certs-dir-without-port",
        "hosts.toml",
        f"tls.test:5443/{APP}",
        (C, K),
        (TLS_REG,),
        {"tls.test": TLS_IP},
        certs={"containerd/certs.d/tls.test/ca.crt": "ca"},
        expect={C: False, K: False},
        note="certs.d/tls.test is not the directory of tls.test:5443",
    ),
    # -- credentials ------------------------------------------------------------------------
    Scenario(
        "credsstore-missing-anonymous",
        "credentials",
        f"secure.test/{APP}",
        (D, P),
        docker_config={"credsStore": "nosuch"},
        expect={D: True},
        note="docker 20.10 ignores the helper error for an anonymous pull",
        **_secure_tls(auth=False),  # type: ignore[arg-type]
    ),
    Scenario(
        "credsstore-missing-authenticated",
        "credentials",
        f"secure.test/{APP}",
        (D, P),
        docker_config={"credsStore": "nosuch"},
        expect={D: False, P: False},
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "credhelpers-missing",
        "credentials",
        f"secure.test/{APP}",
        (D, P),
        docker_config={"credHelpers": {"secure.test": "nosuch"}},
        expect={D: False, P: False},
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "basic-auth-no-login",
        "credentials",
        f"secure.test/{APP}",
        ALL,
        expect={D: False, C: False, K: False, P: False},
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "basic-auth-wrong-password",
        "credentials",
        f"secure.test/{APP}",
        (D, P),
        docker_config={
            "auths": {
                "secure.test": {
                    "auth": base64.b64encode(f"{USERNAME}:{WRONG_PASSWORD}".encode()).decode()
                }
            }
        },
        expect={D: False, P: False},
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    # -- the kubelet's path: containerd's CRI plugin (where it differs from ctr) -------------
    Scenario(
        "cri-mirrors-with-config-path",
        "cri",
        f"127.0.0.1:5000/{APP}",
        (C, K),
        (LOOPBACK_PLAIN,),
        etc_files={"containerd/config.toml": _cri_config(config_path=True, mirrors=True)},
        expect={C: True, K: False},
        note="legacy mirrors beside config_path: the CRI plugin does not load; ctr still pulls",
    ),
    Scenario(
        "cri-legacy-mirror-http",
        "cri",
        f"plain.test:5000/{APP}",
        (C, K),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            "containerd/config.toml": _cri_config(
                config_path=False, mirror=("plain.test:5000", "http://plain.test:5000")
            )
        },
        expect={C: False, K: True},
        note="no config_path: the CRI uses the legacy http:// mirror entry; ctr never reads it",
    ),
    Scenario(
        "cri-no-config-toml",
        "cri",
        f"plain.test:5000/{APP}",
        (C, K),
        (NS_PLAIN,),
        PLAIN_NAMES,
        containerd_config=False,
        etc_files={
            "containerd/certs.d/plain.test:5000/hosts.toml": _hosts(
                "http://plain.test:5000", "http://plain.test:5000", capabilities=["pull", "resolve"]
            )
        },
        expect={C: True, K: False},
        note="no config.toml: 1.6's CRI has no config_path, so it never reads the hosts.toml",
    ),
    Scenario(
        "cri-default-config-empty-config-path",
        "cri",
        f"plain.test:5000/{APP}",
        (C, K),
        (NS_PLAIN,),
        PLAIN_NAMES,
        etc_files={
            # as `containerd config default` (1.6/1.7) writes it: the key there, empty
            "containerd/config.toml": _cri_config(config_path=False).replace(
                "registry]\n", 'registry]\n  config_path = ""\n'
            ),
        },
        expect={C: False, K: False},
        note='config_path = "" (the default file): the fix sets that line, not a second one',
    ),
    Scenario(
        "cri-configs-tls-with-config-path",
        "cri",
        f"tls.test:5443/{APP}",
        (K,),
        (TLS_REG,),
        {"tls.test": TLS_IP},
        certs={"containerd/tls-ca.crt": "ca"},
        etc_files={
            "containerd/config.toml": _cri_config(config_path=True)
            + '[plugins."io.containerd.grpc.v1.cri".registry.configs."tls.test:5443".tls]\n'
            + '  ca_file = "/etc/containerd/tls-ca.crt"\n'
        },
        expect={K: False},
        note="configs.tls beside config_path: the CRI plugin does not load; the fix moves it",
    ),
    Scenario(
        "cri-pull-secret-basic",
        "cri",
        f"secure.test/{APP}",
        (K,),
        pull_secret=(USERNAME, PASSWORD),
        expect={K: True},
        note="the pod's imagePullSecret reaches the registry as the CRI AuthConfig",
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "cri-pull-secret-wrong-password",
        "cri",
        f"secure.test/{APP}",
        (K,),
        pull_secret=(USERNAME, WRONG_PASSWORD),
        expect={K: False},
        **_secure_tls(auth=True),  # type: ignore[arg-type]
    ),
    Scenario(
        "cri-pull-secret-token",
        "cri",
        f"secure.test/{APP}",
        (K,),
        (SECURE_TOKEN,),
        {**SECURE_NAMES, "auth.test": "127.0.0.1"},
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        pull_secret=(USERNAME, PASSWORD),
        expect={K: True},
        note="bearer-token registry: the AuthConfig goes to the token realm",
    ),
    Scenario(
        "cri-token-no-secret",
        "cri",
        f"secure.test/{APP}",
        (K,),
        (SECURE_TOKEN,),
        {**SECURE_NAMES, "auth.test": "127.0.0.1"},
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        expect={K: False},
        note="token auth needed, no imagePullSecret: the fix creates one",
    ),
    Scenario(
        "token-realm-plain-http",
        "credentials",
        f"secure.test/{APP}",
        (D, K, P),
        (Registry("secure", SECURE_IP, 443, "token_http"),),
        {**SECURE_NAMES, "auth.test": "127.0.0.1"},
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        docker_config={"auths": {"secure.test": {"auth": _auth(USERNAME, PASSWORD)}}},
        pull_secret=(USERNAME, PASSWORD),
        expect={D: True, K: True, P: True},
        note="HTTPS registry, http:// token realm: every client sends the password in clear",
    ),
    Scenario(
        "cri-private-repository-no-secret",
        "cri",
        f"secure.test/{APP}",
        (K,),
        (Registry("secure", SECURE_IP, 443, "token_private"),),
        {**SECURE_NAMES, "auth.test": "127.0.0.1"},
        hub_trusted=True,
        certs=_ca_everywhere("secure.test"),
        etc_files=_containerd_ca_hosts("secure.test"),
        expect={K: False},
        note="anonymous token, manifest refused: the fix's secret must be referenced to help",
    ),
    Scenario(
        "cri-configs-auth-with-config-path",
        "cri",
        f"secure.test/{APP}",
        (C, K),
        expect={C: False, K: True},
        note="registry.configs.<host>.auth still gives the CRI credentials with config_path",
        **_secure_tls(
            auth=True,
            config=_cri_config(config_path=True, auth=("secure.test", USERNAME, PASSWORD)),
        ),  # type: ignore[arg-type]
    ),
    # -- TLS -------------------------------------------------------------------------------
    Scenario(
        "tls-ca-installed",
        "tls",
        f"tls.test:5443/{APP}",
        ALL,
        (TLS_REG,),
        {"tls.test": TLS_IP},
        certs=_ca_everywhere("tls.test:5443"),
        etc_files=_containerd_ca_hosts("tls.test:5443"),
        expect={D: True, C: True, K: True, P: True},
        note="certs.d / hosts.toml ca / containers certs.d all in place",
    ),
    Scenario(
        "tls-untrusted",
        "tls",
        f"untrusted.test/{APP}",
        ALL,
        (Registry("untrusted", UNTRUSTED_IP, 443, "untrusted"),),
        {"untrusted.test": UNTRUSTED_IP},
        fix_ca="other_ca",
        expect={D: False, C: False, K: False, P: False},
    ),
    Scenario(
        "tls-expired",
        "tls",
        f"expired.test/{APP}",
        ALL,
        (Registry("expired", EXPIRED_IP, 443, "expired"),),
        {"expired.test": EXPIRED_IP},
        certs=_ca_everywhere("expired.test"),
        expect={D: False, C: False, K: False, P: False},
        server_side=True,
    ),
    Scenario(
        "tls-wrong-host",
        "tls",
        f"wronghost.test/{APP}",
        ALL,
        (Registry("wronghost", WRONGHOST_IP, 443, "wrong_host"),),
        {"wronghost.test": WRONGHOST_IP},
        certs=_ca_everywhere("wronghost.test"),
        expect={D: False, C: False, K: False, P: False},
        server_side=True,
        reissue=True,
    ),
)

BY_ID = {s.id: s for s in SCENARIOS}
assert len(BY_ID) == len(SCENARIOS), "duplicate scenario id"
