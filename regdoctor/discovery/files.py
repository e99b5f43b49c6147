"""The configuration files a pull depends on, found and redacted for a report or a bundle.

This is the support side of the effective configuration: *which* files exist and what
they say, with every secret masked, so that a ticket or a bundle can show them. It reads
the files; it does not interpret them (that is :mod:`regdoctor.discovery`).

:func:`config_sources` lists the candidates (under ``REGDOCTOR_CONFIG_ROOT`` for system
paths, ``HOME`` / ``DOCKER_CONFIG`` / ``REGISTRY_AUTH_FILE`` / ``XDG_*`` for the user's),
each with its provenance. :func:`redact_config` masks a file's secrets by structure
(JSON and YAML keys such as ``auth``, ``identitytoken``, ``password``, a Kubernetes
Secret's ``data``) and by pattern (URLs with ``user:password@``, tokens in query strings,
``password = ...`` lines), and says how many values it masked. Private keys are never
copied.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Resolving a path the way the machine below ``--root`` would lives in
# ``regdoctor.bounded`` (discovery, check and bundle share it); re-exported here.
from regdoctor.bounded import OutsideRoot as OutsideRoot
from regdoctor.bounded import resolve_in_root as resolve_in_root
from regdoctor.discovery import locations
from regdoctor.redact.secrets import MASK, SENSITIVE_KEYS, Redactor, redact

if TYPE_CHECKING:
    from regdoctor.discovery.effective import Effective

__all__ = [
    "ENV_NAMES",
    "ConfigSource",
    "RedactedFile",
    "config_sources",
    "environment",
    "redact_config",
]

#: Environment variables that change how a pull goes.
ENV_NAMES: tuple[str, ...] = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "DOCKER_CONFIG",
    "DOCKER_HOST",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "REGISTRY_AUTH_FILE",
    "CONTAINERD_ADDRESS",
    "CONTAINER_HOST",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)

#: Keys whose value is always masked in config files, on top of SENSITIVE_KEYS.
CONFIG_SECRET_KEYS: frozenset[str] = SENSITIVE_KEYS | {
    "identity_token",
    "registry_token",
    "client-key-data",
    "client_key_data",
    "private_key",
    "privatekey",
    "api_key",
    "apikey",
    ".dockerconfigjson",
    ".dockercfg",
    "pass",
    "bearer_token",
    "id-token",
    "refresh-token",
    "access-token",
}
#: Substrings of a key name that make its value a secret in INI/TOML/conf text.
_SECRET_KEY_WORDS = ("password", "passwd", "secret", "token", "auth", "key-data", "key_data")

MAX_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class ConfigSource:
    """A configuration file: where it is, what reads it, and why regdoctor looked there."""

    path: Path
    kind: str  # docker-daemon, docker-config, containerd, containerd-hosts, registries-conf...
    provenance: str  # why this path: "default location", "$DOCKER_CONFIG", ...
    display: str  # the path as the runtime knows it (without the config root)

    @property
    def exists(self) -> bool:
        # lexists: a FIFO, a device or a dangling link is listed (and skipped with a
        # note by redact_config), not silently ignored.
        return os.path.lexists(self.path) and not self.path.is_dir()


def _system(root: Path, relative: str) -> Path:
    if str(root) in ("", "/"):
        return Path(relative)
    return root / relative.lstrip("/")


def _glob(root: Path, pattern: str) -> list[Path]:
    base = root if str(root) else Path("/")
    try:
        return sorted(
            p for p in base.glob(pattern.lstrip("/")) if os.path.lexists(p) and not p.is_dir()
        )
    except OSError:
        return []


def read_config_bytes(path: Path, root: Path | None = None, limit: int = MAX_FILE_BYTES) -> bytes:
    """A configuration file's bytes, read the bounded way (:func:`read_bounded`: never a
    FIFO, a device or more than ``limit`` bytes); with a ``root`` other than ``/``,
    symlinks are resolved inside it (:func:`resolve_in_root`) and the final file is
    opened without following a link (a link swapped in meanwhile is refused)."""
    from regdoctor.discovery.base import read_bounded

    if root is None or str(root) in ("", "/"):
        return read_bounded(path, limit)
    return read_bounded(resolve_in_root(root, path), limit, nofollow=True)


def _display(path: Path, root: Path) -> str:
    try:
        relative = path.relative_to(root)
    except ValueError:
        return str(path)
    return "/" + str(relative).lstrip("/") if str(root) != "/" else str(path)


def _from_effective(effective: Effective, root: Path) -> list[ConfigSource]:
    out: list[ConfigSource] = []
    for result in effective.files():
        path = Path(result.path)
        source = result.source or "discovery"
        runtime = result.runtime or ""
        kind = f"{runtime} ({source})" if runtime else source
        out.append(ConfigSource(path, kind, f"read by discovery ({source})", _display(path, root)))
    return out


def config_sources(
    config_root: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    effective: Effective | None = None,
) -> list[ConfigSource]:
    """Every configuration file a pull on this machine may read (existing or not).

    The files the effective configuration (``regdoctor.discovery``) read come first, with
    their provenance; then the other places this module knows (systemd drop-ins with
    proxy settings, certs.d, pull-secret manifests...).
    """
    env = os.environ if env is None else env
    root = config_root or Path(env.get("REGDOCTOR_CONFIG_ROOT") or "/")
    home = Path(env.get("HOME") or Path.home())
    out: list[ConfigSource] = []
    if effective is not None:
        out.extend(_from_effective(effective, root))

    def system(relative: str, kind: str) -> None:
        out.append(ConfigSource(_system(root, relative), kind, "default location", relative))

    def found(pattern: str, kind: str) -> None:
        for path in _glob(root, pattern):
            display = "/" + str(path.relative_to(root)).lstrip("/")
            out.append(ConfigSource(path, kind, f"found by {pattern}", display))

    system(locations.DOCKER_DAEMON_JSON, "docker-daemon")
    found(f"{locations.DOCKER_DROP_INS}/*.conf", "docker-service")
    found(f"{locations.CONTAINERD_DROP_INS}/*.conf", "containerd-service")

    def user(path: str, kind: str, why: str) -> None:
        # With a root, user paths are the other machine's too (as discovery reads them).
        out.append(ConfigSource(_system(root, path), kind, why, path))

    docker_config = env.get("DOCKER_CONFIG")
    if docker_config:
        user(f"{docker_config}/config.json", "docker-config", "$DOCKER_CONFIG")
    else:
        user(f"{home}/.docker/config.json", "docker-config", "$HOME/.docker")
    found(f"{locations.DOCKER_CERTS_D}/*/*.crt", "docker-certs")
    found(f"{locations.DOCKER_CERTS_D}/*/*.cert", "docker-certs")
    system(locations.CONTAINERD_CONFIG, "containerd")
    found(f"{locations.CONTAINERD_CERTS_D}/*/hosts.toml", "containerd-hosts")
    system(locations.REGISTRIES_CONF, "registries-conf")
    found(f"{locations.REGISTRIES_CONF_D}/*.conf", "registries-conf")
    found(f"{locations.CONTAINERS_REGISTRIES_D}/*.yaml", "registries-d")
    user(f"{home}/.config/containers/registries.conf", "registries-conf", "$HOME/.config")
    auth_file = env.get("REGISTRY_AUTH_FILE")
    if auth_file:
        user(auth_file, "containers-auth", "$REGISTRY_AUTH_FILE")
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        user(f"{runtime_dir}/containers/auth.json", "containers-auth", "$XDG_RUNTIME_DIR")
    else:  # containers/image getPathToAuthWithOS, podman's SetXdgDirs
        # the uid of the user whose files these are (their $HOME's owner below the root),
        # not regdoctor's own (--root, sudo): the reason says when that is a guess
        from regdoctor.discovery.base import Paths
        from regdoctor.discovery.registries_conf import login_file_without_runtime_dir

        paths = Paths(root=root, env={**env, "HOME": str(home)})
        run_auth, why = login_file_without_runtime_dir(paths)
        user(paths.shown(run_auth), "containers-auth", f"no $XDG_RUNTIME_DIR: {why}")
    user(f"{home}/.config/containers/auth.json", "containers-auth", "$HOME/.config")
    system(locations.KUBELET_CREDENTIALS, "kubelet-credentials")
    found(f"{locations.KUBERNETES_PULL_SECRETS}/*.yaml", "k8s-secret")
    seen: set[Path] = set()
    unique = []
    for source in out:
        if source.path not in seen:
            seen.add(source.path)
            unique.append(source)
    return unique


def environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The pull-relevant environment variables that are set (values not yet redacted)."""
    env = os.environ if env is None else env
    return {name: env[name] for name in ENV_NAMES if env.get(name)}


# -- redaction -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RedactedFile:
    source: ConfigSource
    text: str | None  # None: not included (see note)
    masked: int  # how many values were masked
    note: str | None = None  # why not included, or what was done


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower() in CONFIG_SECRET_KEYS


#: Keys whose value is a table of HTTP headers (docker's config.json ``HttpHeaders``,
#: containerd hosts.toml ``header``): every value is masked but those of
#: :data:`_PLAIN_HEADERS` (an ``X-Api-Key`` or a ``Cookie`` is a credential).
_HEADER_TABLES = frozenset({"httpheaders", "header", "headers", "http_headers", "http-headers"})
_PLAIN_HEADERS = frozenset(
    {"user-agent", "accept", "accept-encoding", "accept-language", "content-type", "connection"}
)
#: Words that make an environment variable's (or a header's) name a secret's name.
_SECRET_NAME = re.compile(
    r"pass|secret|token|auth|credential|api[_-]?key|access[_-]?key|private[_-]?key|cookie",
    re.IGNORECASE,
)


def secret_name(name: object) -> bool:
    """Whether a variable or header called ``name`` holds a secret
    (``REGISTRY_PASSWORD``, ``X-Api-Key``, ``AWS_SECRET_ACCESS_KEY``, ``NPM_TOKEN``)."""
    return isinstance(name, str) and bool(_SECRET_NAME.search(name))


def _header_value_masked(name: object) -> bool:
    return not (isinstance(name, str) and name.lower() in _PLAIN_HEADERS)


def _mask_tree(value: Any, redact_str: Any, counter: list[int], *, secret_doc: bool) -> Any:
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        is_secret = secret_doc or str(value.get("kind", "")).lower() == "secret"
        env_secret = (
            isinstance(value.get("name"), str)
            and "value" in value
            and secret_name(value.get("name"))
            and isinstance(value.get("value"), str | int)
            and value.get("value") != ""
        )
        for key, item in value.items():
            if is_secret and key in ("data", "stringData") and isinstance(item, Mapping):
                out[key] = {k: MASK for k in item}
                counter[0] += len(item)
            elif env_secret and key == "value":
                # a pod's env: [{name: REGISTRY_PASSWORD, value: ...}]
                out[key] = MASK
                counter[0] += 1
            elif (
                isinstance(key, str) and key.lower() in _HEADER_TABLES and isinstance(item, Mapping)
            ):
                out[key] = {
                    k: _mask_leaves(v, counter) if _header_value_masked(k) else v
                    for k, v in item.items()
                }
            elif (
                isinstance(key, str)
                and key.lower() in ("env", "environment")
                and isinstance(item, Mapping)
            ):
                out[key] = {
                    k: _mask_leaves(v, counter)
                    if secret_name(k)
                    else _mask_tree(v, redact_str, counter, secret_doc=False)
                    for k, v in item.items()
                }
            elif _is_secret_key(key) and isinstance(item, str | int) and item != "":
                out[key] = MASK
                counter[0] += 1
            elif _is_secret_key(key) and isinstance(item, Mapping | list) and item:
                # e.g. "auth": {...}: keep the shape, mask every leaf
                out[key] = _mask_leaves(item, counter)
            else:
                out[key] = _mask_tree(item, redact_str, counter, secret_doc=False)
        return out
    if isinstance(value, list):
        return [_mask_tree(v, redact_str, counter, secret_doc=secret_doc) for v in value]
    if isinstance(value, str):
        redacted = redact_str(value)
        if redacted != value:
            counter[0] += 1
        return redacted
    return value


def _mask_leaves(value: Any, counter: list[int]) -> Any:
    if isinstance(value, Mapping):
        return {k: _mask_leaves(v, counter) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_leaves(v, counter) for v in value]
    if value is None or isinstance(value, bool):
        return value
    counter[0] += 1
    return MASK


_KEY_VALUE = re.compile(
    r"^(?P<lead>\s*(?:export\s+)?[\"']?(?P<key>[A-Za-z0-9_.\-]+)[\"']?\s*[=:]\s*)(?P<value>\S.*?)\s*$"
)
_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY-----")


_TABLE = re.compile(r"^\s*\[+\s*(?P<name>[^\]]*?)\s*\]+\s*(?:#.*)?$")
_INLINE_HEADER = re.compile(
    r"^(?P<lead>\s*[\"']?(?:header|headers|httpheaders)[\"']?\s*=\s*)\{(?P<body>.*)\}\s*$",
    re.IGNORECASE,
)
_INLINE_PAIR = re.compile(
    r"(?P<key>[\"']?[^=,{}\"']+[\"']?\s*=\s*)(?P<value>\"[^\"]*\"|'[^']*'|\[[^\]]*\]|[^,}]+)"
)


def _in_header_table(table: str) -> bool:
    last = table.rsplit(".", 1)[-1].strip().strip("\"'").lower()
    return last in _HEADER_TABLES


def _mask_lines(text: str, redact_str: Any, counter: list[int]) -> str:
    lines = []
    table = ""
    for line in text.splitlines(keepends=False):
        redacted = redact_str(line)
        if redacted != line:
            counter[0] += 1
        t = _TABLE.match(redacted)
        if t:
            table = t.group("name")
            lines.append(redacted)
            continue
        inline = _INLINE_HEADER.match(redacted)
        if inline:
            # header = { X-Api-Key = "...", ... } (TOML inline table)
            def pair(m: re.Match[str]) -> str:
                name = m.group("key").split("=")[0].strip().strip("\"'")
                if not _header_value_masked(name):
                    return m.group(0)
                counter[0] += 1
                return f'{m.group("key")}"{MASK}"'

            lines.append(
                f"{inline.group('lead')}{{{_INLINE_PAIR.sub(pair, inline.group('body'))}}}"
            )
            continue
        m = _KEY_VALUE.match(redacted)
        if m and MASK not in m.group("value"):
            key = m.group("key").lower()
            header_value = _in_header_table(table) and _header_value_masked(key)
            if header_value or (
                (any(word in key for word in _SECRET_KEY_WORDS) or secret_name(key))
                and not key.endswith(
                    ("_file", "-file", "_path", "scheme", "_mode", "helper", "helpers")
                )
            ):
                value = m.group("value")
                quote = value[0] if value[0] in "\"'" and value.endswith(value[0]) else ""
                redacted = f"{m.group('lead')}{quote}{MASK}{quote}"
                counter[0] += 1
        lines.append(redacted)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def redact_config(
    source: ConfigSource, redactor: Redactor | None = None, *, root: Path | None = None
) -> RedactedFile:
    """The file's text with every secret masked, or why it is not included.

    The file is read the bounded way (:func:`read_config_bytes`): a FIFO, a device or a
    file over :data:`MAX_FILE_BYTES` is skipped with a note, and with ``root`` (another
    machine's files) symlinks are resolved inside the root, never out of it."""
    from regdoctor.discovery.base import UnreadableFile

    redact_str = redactor.redact if redactor is not None else redact
    try:
        raw = read_config_bytes(source.path, root)
    except OutsideRoot as exc:
        return RedactedFile(source, None, 0, f"not included: {exc.strerror}")
    except UnreadableFile as exc:
        return RedactedFile(source, None, 0, f"not included: {exc.strerror}")
    except OSError as exc:
        return RedactedFile(source, None, 0, f"not readable: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return RedactedFile(source, None, 0, "not included: not UTF-8 text")
    if _PRIVATE_KEY.search(text):
        return RedactedFile(source, None, 1, "not included: contains a private key")
    counter = [0]
    suffix = source.path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except RecursionError:
            return RedactedFile(source, None, 0, "not included: JSON nested too deeply")
        except ValueError:
            masked_text = _mask_lines(text, redact_str, counter)
            return RedactedFile(
                source, masked_text, counter[0], "not valid JSON: masked line by line"
            )
        masked = _mask_tree(data, redact_str, counter, secret_doc=False)
        return RedactedFile(source, json.dumps(masked, indent=2) + "\n", counter[0])
    if suffix in (".yaml", ".yml"):
        import yaml

        from regdoctor.discovery.base import yaml_documents_bounded

        try:
            docs = yaml_documents_bounded(text)
        except RecursionError:
            return RedactedFile(source, None, 0, "not included: YAML nested too deeply")
        except yaml.YAMLError as exc:
            if "refused" in str(exc) or "nested deeper" in str(exc):
                return RedactedFile(source, None, 0, f"not included: YAML {exc}")
            masked_text = _mask_lines(text, redact_str, counter)
            return RedactedFile(
                source, masked_text, counter[0], "not valid YAML: masked line by line"
            )
        masked_docs = [_mask_tree(d, redact_str, counter, secret_doc=False) for d in docs]
        dumped = yaml.safe_dump_all(masked_docs, sort_keys=False)
        return RedactedFile(source, dumped, counter[0])
    return RedactedFile(source, _mask_lines(text, redact_str, counter), counter[0])


def existing(sources: Iterable[ConfigSource]) -> Iterator[ConfigSource]:
    return (s for s in sources if s.exists)
