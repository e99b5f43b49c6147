"""How a real-runtime scenario is declared: registries, names, node configuration, image,
and which real clients pull it. The table itself is :mod:`.table`; :mod:`.world` builds
a declaration inside a sandbox.

Addresses: loopback ``127.x`` or the namespace-only ``198.18.0.0/24`` (RFC 2544 benchmark
range, present only on the sandbox's ``lo``). Names end in ``.test`` except the fake
``registry-1.docker.io``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: ``kubernetes``: the kubelet's path, a CRI ``PullImage`` to containerd's CRI plugin
#: (its registry configuration from the node's /etc/containerd/config.toml).
Client = Literal["docker", "containerd", "podman", "kubernetes"]
CLIENTS: tuple[Client, ...] = ("docker", "containerd", "podman", "kubernetes")

#: kind of a registry: its TLS and auth setup.
#: ``plain`` HTTP; ``tls`` leaf from the harness CA (trusted only where the scenario
#: installs it); ``untrusted`` leaf from a CA that is never installed (the fix's
#: ``ca.crt`` is that CA); ``expired``; ``wrong_host`` (SAN ``wrong-name.test`` only);
#: ``basic`` TLS + htpasswd; ``token`` TLS + bearer tokens from a token server (realm
#: ``https://auth.test:PORT/token``, the sandbox's 127.0.0.1; USERNAME/PASSWORD);
#: ``token_http``: the same with a plain-HTTP realm ``http://auth.test:PORT/token``;
#: ``token_private``: realm ``.../private``: anonymous tokens grant nothing (a private
#: repository: the manifest is refused), USERNAME/PASSWORD get a full one;
#: ``token_scoped``: realm ``.../scoped``: ``token_private``, and the account
#: ``token_server.READER`` logs in but may pull nothing (the right password for the wrong
#: account: 401 insufficient_scope);
#: ``token_ratelimit``: behind an HTTPS front that answers a manifest request made with
#: an anonymous token 429 TOOMANYREQUESTS (Docker Hub's rate limit); USERNAME/PASSWORD
#: pull;
#: ``token_dead_realm``: ``token`` whose realm is ``https://auth.test:1/token`` (nothing
#: listens there: the token request is refused);
#: ``mtls``: ``tls`` that also requires a client certificate from the harness client CA;
#: ``none``: nothing listens there (a dead peer).
RegistryKind = Literal[
    "plain",
    "tls",
    "untrusted",
    "expired",
    "wrong_host",
    "basic",
    "token",
    "token_http",
    "token_private",
    "token_dead_realm",
    "token_scoped",
    "token_ratelimit",
    "mtls",
    "none",
]

#: What a registry holds: ``shared`` (the scenario's one pushed content set: all
#: registries with it serve the same storage), ``stale`` (its own storage with an older
#: ``library/nginx:latest``), ``proxy`` (pull-through cache of the fake Docker Hub).
Content = Literal["shared", "stale", "proxy"]

HUB = "registry-1.docker.io"
HUB_IP = "198.18.0.10"
MIRROR_IP = "198.18.0.11"
USERNAME = "tester"
PASSWORD = "s3cret-pw"
WRONG_PASSWORD = "not-the-password"
#: The forward proxy of a scenario with ``proxy`` (in the sandbox's namespace), and the
#: login an ``auth`` proxy wants.
PROXY_PORT = 3128
PROXY_URL = f"http://127.0.0.1:{PROXY_PORT}"
#: The password has an ``@``, so its URL form is percent-encoded (``%40``), as proxy
#: logins often are: a fix that writes it into a systemd drop-in must write ``%%40``.
PROXY_LOGIN = ("proxyuser", "proxy@pw")
#: Where a registry with ``storage`` sends its blob requests (its own name and address).
STORAGE_HOST = "storage.test"
STORAGE_IP = "198.18.0.70"
STORAGE_PORT = 9443
PROXY_LOGIN_URL = f"http://{PROXY_LOGIN[0]}:proxy%40pw@127.0.0.1:{PROXY_PORT}"


@dataclass(frozen=True)
class Registry:
    """One peer: a ``docker-registry`` (or nothing, for ``none``) at ``ip:port``.

    ``delay_s``: it is reached through a :class:`DelayProxy` at ``ip:port`` that holds
    every answer that long (the registry itself listens on ``127.0.0.2:<port+10000>``).
    """

    key: str
    ip: str
    port: int
    kind: RegistryKind = "plain"
    content: Content = "shared"
    delay_s: float = 0.0
    #: Its blobs are served from another host (distribution's ``redirect`` storage
    #: middleware: every blob request answers 307 to :data:`STORAGE_HOST`):
    #: ``refused``: nothing listens there; ``untrusted``: an HTTPS file server whose
    #: certificate is from the CA nobody trusts (``./storage-ca.crt`` in a fix).
    storage: Literal["", "refused", "untrusted"] = ""

    @property
    def tls(self) -> bool:
        return self.kind not in ("plain", "none")


@dataclass(frozen=True)
class Scenario:
    """One node setup, one image, and the real clients that try to pull it."""

    id: str
    cls: str
    """The class of issue #12 it belongs to (scheme, slow, mirror, daemon, hosts.toml,
    credentials, tls)."""
    image: str
    clients: tuple[Client, ...]
    registries: tuple[Registry, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)
    daemon_json: Mapping[str, Any] | str | None = None
    """``/etc/docker/daemon.json`` (a dict or raw text); ``None``: ``{}``."""
    etc_files: Mapping[str, str] = field(default_factory=dict)
    """More files below the sandbox's ``/etc`` (``containerd/certs.d/h/hosts.toml``,
    ``containers/registries.conf``...). ``{CA}`` in the text is replaced by the
    path of the harness CA below /etc when the scenario installs it with ``certs``."""
    certs: Mapping[str, str] = field(default_factory=dict)
    """``/etc``-relative path of a PEM file -> ``"ca"`` (harness CA), ``"other_ca"``, or
    the harness client pair ``"client_cert"`` / ``"client_key"``."""
    docker_config: Mapping[str, Any] | None = None
    """The node user's ``~/.docker/config.json`` (``$HOME=/home/node``)."""
    node_files: Mapping[str, Mapping[str, Any] | str] = field(default_factory=dict)
    """More files of the node user (an absolute path below ``/home/node``,
    ``/run/containers`` or ``/var/cache/containers``): JSON (podman's ``auth.json``
    files), or a text as it is (the user's ``~/.config/containers/registries.conf``, root
    podman's saved ``short-name-aliases.conf``)."""
    cred_helpers: Mapping[str, Literal["keychain", "answers", "locked"]] = field(
        default_factory=dict
    )
    """Credential helpers ``docker-credential-<name>`` on every PATH of the node (the
    clients', regdoctor's, the fix's): ``keychain`` keeps what ``store`` is given in a
    file below ``$HOME`` and, empty, answers ``get`` with exit 1 and "credentials not
    found in native keychain" (a real keychain helper with nothing stored);
    ``answers`` gives USERNAME/PASSWORD for every server; ``locked`` fails every
    action with exit 1 and "the keyring is locked" (not "not found")."""
    hub_trusted: bool = False
    """Add the harness CA to the sandbox's system store (the fake Docker Hub's trust)."""
    slow: bool = False
    """Run regdoctor without ``--timeout`` (the runtimes' own limits apply)."""
    fix_ca: str = "ca"
    """Which CA the fix finds as ``./ca.crt`` (``ca`` or ``other_ca``)."""
    expect: Mapping[Client, bool] = field(default_factory=dict)
    """Sanity expectation (pulls or not) measured once on this machine; a mismatch means
    the setup is broken, not that regdoctor is wrong. The oracle is always the client."""
    note: str = ""
    pull_secret: tuple[str, str] | None = None
    """The pod's imagePullSecret for the image's registry (username, password): the
    kubelet passes it as the CRI ``AuthConfig``; regdoctor reads it from the pod's
    manifest (``--kube-manifests``)."""
    pull_secret_key: str | None = None
    """The pull secret's ``auths`` key when it is not the image's registry (a URL, a
    host:port): the kubelet matches it to the image as its keyring does."""
    pull_secret_name: str = "regcred"
    """The name of the pod's imagePullSecret (a fix must name the one the pod uses)."""
    pull_secret_opaque: bool = False
    """The pod's imagePullSecret (``pull_secret``) is of type ``Opaque`` (a
    ``kubectl create secret generic`` without ``--type``): the kubelet reads only
    ``kubernetes.io/dockerconfigjson`` and ``dockercfg`` Secrets (pkg/credentialprovider/
    secrets MakeDockerKeyring) and passes no credentials."""
    pull_secret_missing: bool = False
    """The pod names ``pull_secret_name`` as its imagePullSecret, and no Secret of that
    name exists (in the API nor in the manifests check reads)."""
    pod_service_account: str = ""
    """The pod's ``serviceAccountName`` ("": ``default``): a pod without imagePullSecrets
    gets that account's (a fix's new Secret must go there); the pod's manifest is then
    given to regdoctor even without a pull secret."""
    #: Write the node's default /etc/containerd/config.toml (CRI ``config_path`` set);
    #: False: none at all (containerd's built-in defaults, unless ``etc_files`` has one).
    containerd_config: bool = True
    #: The fault is on the registry (an expired certificate, one for another name): no
    #: command on the node fixes it; regdoctor must say the registry's side must change.
    server_side: bool = False
    #: What one of regdoctor's remedies must say then (a regular expression, any case).
    server_fix: str = r"certificate.*(renew|reissue)|(renew|reissue).*certificate"
    #: a ``server_side`` certificate whose fix commands reissue it with the registry's CA
    #: key: the suite runs them where that key is and serves what they wrote
    reissue: bool = False
    #: The image reference names what the registry does not hold (a tag, a platform):
    #: no command on the node fixes it; regdoctor must name what it does hold, and the
    #: same client must pull that.
    wrong_reference: bool = False
    #: With ``wrong_reference``: the category of the error the runtime reports *instead*
    #: of the missing reference (containerd goes on to its next host after a 404 and
    #: reports that host's error). regdoctor's verdict must be that category, its node
    #: fix must turn the runtime's error into the missing reference's
    #: (``image.manifest_unknown``), and the tag it names must then pull.
    masked_by: str = ""
    #: The image reference is not one this client can pull as written (ctr and a short
    #: name): no command on the node fixes it; regdoctor's error finding must name this
    #: full reference, and the same client must pull it.
    full_name: str = ""
    #: Which CA signed the token server's certificate (``other_ca``: one nobody trusts).
    realm_ca: str = "ca"
    #: A forward proxy in the sandbox at :data:`PROXY_URL` (CONNECT for https, absolute
    #: form ``GET http://...`` for plain HTTP): ``ok`` tunnels and forwards, ``auth``
    #: answers 407 without :data:`PROXY_LOGIN`, ``error_page`` answers every request with
    #: a 403 HTML page of its own (squid's ERR_ACCESS_DENIED shape). It connects only to
    #: loopback; the names in ``proxy_names`` only it resolves (the node's DNS does not
    #: know them).
    proxy: Literal["", "ok", "auth", "error_page"] = ""
    proxy_names: Mapping[str, str] = field(default_factory=dict)
    #: The user's shell environment (``HTTPS_PROXY``...): podman, ctr and regdoctor run
    #: with it, fix commands too; the daemons do not (theirs is their unit's drop-ins,
    #: ``etc_files["systemd/system/docker.service.d/..."]``).
    user_env: Mapping[str, str] = field(default_factory=dict)
    #: Where the client's error text alone cannot name what check saw (ctr's bare
    #: ``403 Forbidden`` for a proxy's page reads as a registry's refusal): the category
    #: ``regdoctor explain`` must give that text instead of check's.
    explain_text_only: Mapping[Client, str] = field(default_factory=dict)
    #: The rule whose finding must be check's only error for every client that failed
    #: (so that its fix is the one the re-pull proves).
    rule: str = ""
    #: The endpoint each client's verdict must name (the URL of the request the runtime
    #: pulls with, or fails at: ``http://`` after a fallback, not the ``https://`` tried
    #: first).
    endpoints: Mapping[Client, str] = field(default_factory=dict)
    #: Hosts no runtime in the scenario contacts (the image's own host when a podman
    #: alias sends it elsewhere): check must not look them up nor judge them.
    uncontacted: tuple[str, ...] = ()
    #: Only the fix commands' shell has these (``PYTHONPATH`` to a ``tomllib`` that
    #: fails to import: the node's python3 is older than 3.11).
    fix_env: Mapping[str, str] = field(default_factory=dict)

    def expected(self, client: Client) -> bool | None:
        return self.expect.get(client)
