"""Docker client: ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json`` (and the
same format in ``auth.json`` files of podman/skopeo, see :mod:`registries_conf`).

``auths`` (base64 ``auth``, ``identitytoken``, ``registrytoken``), ``credsStore``,
``credHelpers`` and ``proxies``. Lookups follow the Docker CLI exactly:

- the key for Docker Hub is ``https://index.docker.io/v1/``; for any other registry it
  is ``host[:port]``;
- ``credHelpers[key]`` wins, then ``credsStore``, then ``auths`` (exact key, then any key
  whose host part, scheme and path removed, equals the registry).

So ``"docker.io"`` or ``"registry-1.docker.io"`` in ``auths`` is never used for Docker
Hub by the Docker CLI: such near misses are reported. The credential itself stays a
:class:`~regdoctor.model.CredentialRef`; nothing here decodes a password into the model.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regdoctor import model
from regdoctor.discovery.base import (
    FileResult,
    Paths,
    expect_type,
    read_json_object,
    where,
)
from regdoctor.reference import dockerhub

if TYPE_CHECKING:
    from regdoctor.model import CredentialRef

SOURCE = "docker_config"
EFFECT = (
    "the docker CLI ignores the whole file (WARNING: Error loading config file) "
    "and pulls without credentials"
)
LEGACY_EFFECT = "the docker CLI and podman cannot read the credentials in it"
INDEX_SERVER = dockerhub.CONFIG_KEY
HUB_NAMES = dockerhub.ALIASES


def convert_to_hostname(key: str) -> str:
    """docker/cli ``credentials.ConvertToHostname``: scheme and path removed."""
    stripped = key
    lowered = key.lower()
    if lowered.startswith("http://"):
        stripped = key[7:]
    elif lowered.startswith("https://"):
        stripped = key[8:]
    return stripped.split("/", 1)[0]


def server_key(registry: str) -> str:
    """The key the Docker CLI looks up for ``registry``."""
    return INDEX_SERVER if registry in HUB_NAMES else registry


def normalize_containers_key(key: str) -> str:
    """containers/image's normalisation of an auth.json key: scheme removed, the legacy
    Docker Hub forms mapped to ``docker.io``; a path (namespace) is kept."""
    text = key
    for prefix in ("http://", "https://"):
        if text.lower().startswith(prefix):
            # normalizeAuthFileKey (v5.23.1): a key with a scheme is a URL, its path is
            # dropped (``https://host/v1/`` -> ``host``); one without keeps its namespace
            text = text[len(prefix) :].split("/", 1)[0]
            break
    text = text.rstrip("/")
    if text in (f"{dockerhub.LEGACY_DOMAIN}/v1", dockerhub.LEGACY_DOMAIN, dockerhub.API_HOST):
        return dockerhub.DOMAIN
    if text.startswith((f"{dockerhub.LEGACY_DOMAIN}/", f"{dockerhub.API_HOST}/")) and text.endswith(
        "/v1"
    ):
        return dockerhub.DOMAIN
    return text


@dataclass(frozen=True, eq=False)
class AuthEntry:
    """One ``auths`` entry of the client's config.json (what it holds, never the secret)."""

    key: str
    source: str
    has_auth: bool = False
    decodes: bool = True
    username: str | None = None
    has_identitytoken: bool = False
    has_registrytoken: bool = False
    has_password: bool = False  # legacy username/password fields

    @property
    def plaintext(self) -> bool:
        return self.has_auth or self.has_password or self.has_identitytoken


@dataclass(eq=False)
class ClientConfig:
    """The docker client's config.json: auths, credential store and helpers, proxies."""

    file: FileResult
    auths: dict[str, AuthEntry] = field(default_factory=dict)
    creds_store: str | None = None
    cred_helpers: dict[str, str] = field(default_factory=dict)
    proxies: dict[str, str] = field(default_factory=dict)
    kind: str = "docker"  # docker (config.json) or containers (auth.json)
    #: ``~/.dockercfg``: the pre-1.7 format, registry keys at the top level
    legacy: bool = False

    def lookup(self, registry: str, repository: str | None = None) -> CredentialRef | None:
        """Where the credential for ``registry`` comes from, as this file's owner
        (docker CLI, or containers/image for auth.json) would look it up."""
        if self.kind == "containers":
            return self.lookup_containers(registry, repository)
        key = server_key(registry)
        file = self.file.file
        helper = self.cred_helpers.get(key)
        if helper:
            return model.CredentialRef("helper", file, f'credHelpers["{key}"]', helper, key)
        if self.creds_store:
            return model.CredentialRef("store", file, "credsStore", self.creds_store, key)
        entry = self.auths.get(key)
        if entry is None:
            for candidate, value in self.auths.items():
                if key == convert_to_hostname(candidate):
                    entry = value
                    break
        if entry is None:
            return None
        origin = "identitytoken" if entry.has_identitytoken else "file"
        label = f'["{entry.key}"]' if self.legacy else f'auths["{entry.key}"]'
        return model.CredentialRef(origin, file, label, None, key)

    def lookup_containers(
        self, registry: str, repository: str | None = None
    ) -> CredentialRef | None:
        """The entry containers/image (podman) uses in this file, auth.json or Docker's
        config.json alike (v5.23.1 pkg/docker/config/config.go findCredentialsInFile):
        ``credHelpers`` for the registry, then ``auths`` keys for the repository and each
        parent namespace, then the registry; ``credsStore`` is never read (its
        ``dockerConfigFile`` has only ``auths`` and ``credHelpers``)."""
        file = self.file.file
        name = dockerhub.DOMAIN if registry in HUB_NAMES else registry
        scopes = []
        if self.legacy:
            # legacyFormat: the registry's key only, any path of a key dropped
            normalized = {
                normalize_containers_key(k).split("/", 1)[0]: e for k, e in self.auths.items()
            }
            entry = normalized.get(name)
            if entry is None:
                return None
            return model.CredentialRef("file", file, f'["{entry.key}"]', None, name)
        if repository:
            parts = repository.split("/")
            scopes = [f"{name}/{'/'.join(parts[:n])}" for n in range(len(parts), 0, -1)]
        scopes.append(name)
        for scope in scopes:
            helper = self.cred_helpers.get(scope)
            if helper:
                return model.CredentialRef("helper", file, f'credHelpers["{scope}"]', helper, scope)
        normalized = {normalize_containers_key(k): e for k, e in self.auths.items()}
        for scope in scopes:
            entry = normalized.get(scope)
            if entry is not None:
                origin = "identitytoken" if entry.has_identitytoken else "file"
                return model.CredentialRef(
                    origin,
                    file,
                    (f'["{entry.key}"]' if self.legacy else f'auths["{entry.key}"]'),
                    None,
                    scope,
                )
        return None

    def near_misses(self, registry: str) -> list[str]:
        """``auths`` keys meant for ``registry`` that the Docker CLI will not use."""
        if self.kind != "docker":
            return []
        key = server_key(registry)
        misses = []
        for candidate in list(self.auths) + list(self.cred_helpers):
            if candidate == key or convert_to_hostname(candidate) == key:
                continue
            host = convert_to_hostname(candidate).lower()
            if registry in HUB_NAMES and host in HUB_NAMES:
                misses.append(candidate)
            elif candidate in self.cred_helpers and host == key.lower():
                misses.append(candidate)  # credHelpers keys must match exactly
        return misses

    def registries(self) -> list[tuple[str, str]]:
        """Registries this file names (for ``check`` with no TARGET): (name, source)."""
        out: list[tuple[str, str]] = []
        for key in self.cred_helpers:
            out.append((registry_of_key(key), where(self.file, "credHelpers", key)))
        for key in self.auths:
            out.append((registry_of_key(key), where(self.file, "auths", key)))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.file.to_dict(),
            "kind": self.kind,
            "credsStore": self.creds_store,
            "credHelpers": dict(self.cred_helpers),
            "auths": {
                key: {
                    "source": e.source,
                    "auth": "present (base64 user:password)" if e.has_auth else None,
                    "username": e.username,
                    "identitytoken": "present" if e.has_identitytoken else None,
                    "registrytoken": "present" if e.has_registrytoken else None,
                }
                for key, e in self.auths.items()
            },
            "proxies": dict(self.proxies),
        }


def registry_of_key(key: str) -> str:
    host = normalize_containers_key(key).split("/", 1)[0].lower()
    return dockerhub.DOMAIN if host in HUB_NAMES else host


def config_path(paths: Paths) -> Path:
    override = paths.override("docker_config")
    if override is not None:
        return override / "config.json" if override.is_dir() else override
    directory = paths.env_path("DOCKER_CONFIG") or paths.home() / ".docker"
    return directory / "config.json"


def discover(paths: Paths) -> ClientConfig | None:
    config = load(config_path(paths))
    return config if config.file.exists else None


def legacy_path(paths: Paths) -> Path:
    """``~/.dockercfg`` (both clients take ``$HOME``)."""
    return paths.within(paths.home() / ".dockercfg")


def discover_legacy(paths: Paths) -> ClientConfig | None:
    config = load_legacy(legacy_path(paths))
    return config if config.file.exists else None


def load_legacy(path: Path) -> ClientConfig:
    """``~/.dockercfg``: ``{"registry": {"auth": ..., "email": ...}}``. The docker CLI
    (20.10 cli/config Load, LegacyLoadFromReader) reads it only when config.json does not
    exist; podman (containers/image v5.23.1 getAuthFilePaths, ``legacyFormat``) reads it
    last, after Docker's config.json, keyed by registry only."""
    result = FileResult(path, SOURCE, "docker", "json", effect=LEGACY_EFFECT)
    config = ClientConfig(result, legacy=True)
    data = read_json_object(result)
    if data is None:
        return config
    for key, value in data.items():
        entry = _auth_entry(result, key, value, legacy=True)
        if entry is not None:
            config.auths[key] = entry
    return config


def load(path: Path, *, kind: str = "docker") -> ClientConfig:
    runtime = "docker" if kind == "docker" else "podman"
    source = SOURCE if kind == "docker" else "auth_file"
    effect = EFFECT if kind == "docker" else "podman/skopeo cannot read the credentials in it"
    result = FileResult(path, source, runtime, "json", effect=effect)
    config = ClientConfig(result, kind=kind)
    data = read_json_object(result)
    if data is None:
        return config
    auths = data.get("auths")
    if auths is not None and expect_type(result, auths, dict, "auths"):
        for key, value in auths.items():
            entry = _auth_entry(result, key, value)
            if entry is not None:
                config.auths[key] = entry
    store = data.get("credsStore")
    if store is not None and expect_type(result, store, str, "credsStore"):
        config.creds_store = store or None
        if store and not _helper_name_ok(store):
            result.issue(f"{store!r} is not a valid helper name", key="credsStore")
    helpers = data.get("credHelpers")
    if helpers is not None and expect_type(result, helpers, dict, "credHelpers"):
        for key, value in helpers.items():
            if expect_type(result, value, str, "credHelpers", key) and value:
                if not _helper_name_ok(value):
                    result.issue(f"{value!r} is not a valid helper name", key=f"credHelpers.{key}")
                    continue
                config.cred_helpers[key] = value
    proxies = data.get("proxies")
    if isinstance(proxies, dict):
        for profile, settings in proxies.items():
            if isinstance(settings, dict):
                for name, value in settings.items():
                    if isinstance(value, str):
                        config.proxies[f"{profile}.{name}"] = value
    return config


def _helper_name_ok(name: str) -> bool:
    return bool(name) and all(ch.isalnum() or ch in "-_." for ch in name) and name[0] != "-"


def _auth_entry(
    result: FileResult, key: str, value: Any, *, legacy: bool = False
) -> AuthEntry | None:
    """One entry of ``auths`` (or, ``legacy``, of ``~/.dockercfg``'s top level)."""
    label = f'["{key}"]' if legacy else f'auths["{key}"]'
    if not isinstance(value, dict):
        result.issue("must be an object", key=label)
        return None
    source = where(result, key) if legacy else where(result, "auths", key)
    auth = value.get("auth")
    has_auth = isinstance(auth, str) and bool(auth)
    decodes = True
    username = value.get("username") if isinstance(value.get("username"), str) else None
    if auth is not None and not isinstance(auth, str):
        result.issue("must be a string", key=f"{label}.auth")
        has_auth = False
    if has_auth:
        decoded = decode_auth(str(auth))
        if decoded is None:
            decodes = False
            result.issue(
                "is not base64 of 'user:password' (docker: invalid auth configuration file)",
                key=f"{label}.auth",
            )
        else:
            username = decoded
    for name in ("identitytoken", "registrytoken"):
        if name in value and not isinstance(value[name], str):
            result.issue("must be a string", key=f"{label}.{name}")
    return AuthEntry(
        key=key,
        source=source,
        has_auth=has_auth,
        decodes=decodes,
        username=username,
        has_identitytoken=bool(value.get("identitytoken")),
        has_registrytoken=bool(value.get("registrytoken")),
        has_password=isinstance(value.get("password"), str) and bool(value.get("password")),
    )


def decode_auth(auth: str) -> str | None:
    """The user name in a base64 ``user:password`` (the password is dropped), or None."""
    try:
        raw = base64.b64decode(auth.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    user, sep, _password = text.partition(":")
    return user if sep else None


def decode_auth_pair(auth: str) -> tuple[str, str] | None:
    """User and password from a base64 ``user:password`` (only for the auth dance)."""
    try:
        text = base64.b64decode(auth.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    user, sep, password = text.partition(":")
    return (user, password) if sep else None
