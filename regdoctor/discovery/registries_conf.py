"""Podman, CRI-O, skopeo, buildah: ``registries.conf`` (v2 TOML) and its drop-ins, and
the auth files they read.

Files (containers/image v5.23.1 newConfigWrapperWithHomeDir): ``$HOME/.config/containers/
registries.conf`` when it exists *replaces* ``/etc/containers/registries.conf`` and
``/etc/containers/registries.conf.d`` (then only ``$HOME/.config/containers/
registries.conf.d/*.conf`` follow it); ``--registries-conf`` and
``CONTAINERS_REGISTRIES_CONF`` replace the main file only. Otherwise the drop-ins
``/etc/containers/registries.conf.d/*.conf`` and
``$HOME/.config/containers/registries.conf.d/*.conf`` in name order, each overriding
what came before (``[[registry]]`` tables by ``prefix``, top-level keys by name).

For an image, the ``[[registry]]`` with the longest matching ``prefix`` decides: its
mirrors are tried in order, then its ``location``; ``blocked = true`` refuses the pull.
Auth files (containers-auth.json(5)): ``REGISTRY_AUTH_FILE``, else (podman)
``$DOCKER_CONFIG/config.json``, else ``$XDG_RUNTIME_DIR/containers/auth.json``, else
``/run/containers/<uid>/auth.json``; then
``$XDG_CONFIG_HOME/containers/auth.json``, then Docker's ``config.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regdoctor.discovery import docker_config, locations
from regdoctor.discovery.base import FileResult, Paths, parse_toml, read_text, where

SOURCE = "registries_conf"
EFFECT = "podman, CRI-O and skopeo refuse to pull while this file does not parse"
SHORT_NAME_MODES = ("enforcing", "permissive", "disabled")
TOP_KEYS = frozenset(
    {
        "unqualified-search-registries",
        "short-name-mode",
        "registry",
        "aliases",
        "credential-helpers",
        "additional-layer-store-auth-helper",
        "registries",  # v1
    }
)
REGISTRY_KEYS = frozenset(
    {
        "prefix",
        "location",
        "insecure",
        "blocked",
        "mirror",
        "mirror-by-digest-only",
        "pull-from-mirror",
    }
)
MIRROR_KEYS = frozenset({"location", "insecure", "pull-from-mirror"})
ALIAS_CACHE = "/var/cache/containers/short-name-aliases.conf"
ALIAS_CACHE_SOURCE = "short_name_aliases"
ALIAS_CACHE_EFFECT = "podman refuses every short name while this file does not load"


@dataclass(eq=False)
class Endpoint:
    """A location of a ``[[registry]]`` table (itself or one of its mirrors)."""

    location: str
    insecure: bool
    source: str
    pull_from_mirror: str = "all"

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "insecure": self.insecure,
            "pull_from_mirror": self.pull_from_mirror,
            "source": self.source,
        }


@dataclass(eq=False)
class RegistryTable:
    """One ``[[registry]]`` table of registries.conf (podman, CRI-O, skopeo)."""

    prefix: str
    location: str
    insecure: bool
    blocked: bool
    source: str
    mirrors: list[Endpoint] = field(default_factory=list)
    mirror_by_digest_only: bool = False

    def matches(self, name: str) -> bool:
        prefix = self.prefix
        if prefix.startswith("*."):
            host = name.split("/", 1)[0]
            return host.endswith(prefix[1:])
        return (
            name == prefix
            or name.startswith(prefix + "/")
            or (prefix.endswith("/") and name.startswith(prefix))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "location": self.location,
            "insecure": self.insecure,
            "blocked": self.blocked,
            "source": self.source,
            "mirrors": [m.to_dict() for m in self.mirrors],
        }


@dataclass(eq=False)
class RegistriesConf:
    """registries.conf and its drop-ins, merged as containers/image does."""

    files: list[FileResult] = field(default_factory=list)
    unqualified_search: list[str] = field(default_factory=list)
    unqualified_source: str | None = None
    short_name_mode: str | None = None
    aliases: dict[str, tuple[str, str]] = field(default_factory=dict)
    registries: dict[str, RegistryTable] = field(default_factory=dict)
    auth_files: list[docker_config.ClientConfig] = field(default_factory=list)

    def short_name_settings(self) -> dict[str, Any]:
        """What short-name resolution reads (``runtime.podman.resolve_short_name``), as
        every file read merges them: aliases per name, the last search list and mode;
        values of the wrong type are left out (the files' issues say so)."""
        return {
            "unqualified-search-registries": list(self.unqualified_search),
            "aliases": {name: value for name, (value, _src) in self.aliases.items()},
            "short-name-mode": self.short_name_mode,
        }

    def table_for(self, name: str) -> RegistryTable | None:
        """The [[registry]] with the longest prefix matching ``registry/repository``."""
        best: RegistryTable | None = None
        for table in self.registries.values():
            if table.matches(name) and (best is None or len(table.prefix) > len(best.prefix)):
                best = table
        return best

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [f.to_dict() for f in self.files],
            "unqualified_search_registries": self.unqualified_search,
            "unqualified_source": self.unqualified_source,
            "short_name_mode": self.short_name_mode,
            "aliases": {k: {"value": v, "source": s} for k, (v, s) in self.aliases.items()},
            "registries": [t.to_dict() for t in self.registries.values()],
            "auth_files": [a.to_dict() for a in self.auth_files],
        }


def candidate_files(paths: Paths) -> list[Path]:
    """registries.conf and its drop-ins in the order containers/image v5.23.1 reads them
    (pkg/sysregistriesv2 newConfigWrapperWithHomeDir, dropInConfigs). The user's files
    are below ``$HOME/.config`` (homedir.Get: ``$HOME``, not ``$XDG_CONFIG_HOME``), for
    root too. ``CONTAINERS_REGISTRIES_CONF`` replaces the main file and keeps both drop-in
    directories; otherwise an existing ``$HOME/.config/containers/registries.conf`` is the
    main file and *only* ``$HOME/.config/containers/registries.conf.d`` follows it (neither
    /etc/containers/registries.conf nor /etc/containers/registries.conf.d is read);
    otherwise /etc/containers/registries.conf, then each directory's ``*.conf`` in name
    order, /etc's first."""
    user_dir = paths.home() / ".config" / "containers"
    main = paths.override("registries_conf") or paths.env_path("CONTAINERS_REGISTRIES_CONF")
    directories = dropin_dirs(paths)
    if main is None and len(directories) == 1:
        main = paths.within(user_dir / "registries.conf")
    elif main is None:
        main = paths.at(locations.REGISTRIES_CONF)
    files = [main]
    for directory in directories:
        try:
            files.extend(sorted(p for p in directory.glob("*.conf") if paths.within(p).is_file()))
        except OSError:
            continue
    return files


def dropin_dirs(paths: Paths) -> list[Path]:
    """The drop-in directories containers/image reads, in order (see
    :func:`candidate_files`): ``/etc/containers/registries.conf.d`` then the user's, or
    only the user's when ``$HOME/.config/containers/registries.conf`` is the main file."""
    user_dir = paths.home() / ".config" / "containers"
    directories = [
        paths.at(locations.REGISTRIES_CONF_D),
        paths.within(user_dir / "registries.conf.d"),
    ]
    main = paths.override("registries_conf") or paths.env_path("CONTAINERS_REGISTRIES_CONF")
    if main is None and paths.within(user_dir / "registries.conf").is_file():
        return directories[1:]
    return directories


def auth_file_paths(paths: Paths, uid: int | None = None) -> list[Path]:
    """podman's auth.json files, in the order it reads them (containers/image v5.23.1
    pkg/docker/config/config.go getAuthFilePaths, getPathToAuthWithOS): the first is
    ``--authfile`` / ``REGISTRY_AUTH_FILE``, else ``$DOCKER_CONFIG/config.json`` (podman's
    default ``--authfile``: containers/common v0.50.1 pkg/auth GetDefaultAuthFile; scenario
    ``creds-podman-docker-config-env``), else ``$XDG_RUNTIME_DIR/containers/auth.json``,
    else root's ``/run/containers/0/auth.json`` or a rootless user's runtime directory
    (:func:`login_file_without_runtime_dir`); then always
    ``$XDG_CONFIG_HOME/containers/auth.json``. (``~/.docker/config.json`` comes after
    them: :meth:`Effective.credential_for`.)"""
    docker_config = paths.env_path("DOCKER_CONFIG")
    first = (
        paths.override("auth_file")
        or paths.env_path("REGISTRY_AUTH_FILE")
        or (docker_config / "config.json" if docker_config is not None else None)
    )
    if first is None:
        first = paths.env_path("XDG_RUNTIME_DIR")
        if first is not None:
            first = first / "containers" / "auth.json"
        else:
            first, _why = login_file_without_runtime_dir(paths, uid)
    return [first, paths.xdg_config_home() / "containers" / "auth.json"]


def login_file_without_runtime_dir(paths: Paths, uid: int | None = None) -> tuple[Path, str]:
    """podman's login file when ``$XDG_RUNTIME_DIR`` is not set, and why (which uid,
    and whether it is a guess: :meth:`Paths.uid_guessed`).

    Root podman reads ``/run/containers/0/auth.json`` (containers/image v5.23.1
    getPathToAuthWithOS: ``/run/containers/<os.Getuid()>``). Rootless podman never
    does: before any pull it sets ``XDG_RUNTIME_DIR`` itself (podman v4 libpod
    SetXdgDirs, pkg/util GetRuntimeDir): ``/run/user/<uid>`` when that is a directory
    the user owns with mode 0700, else ``$TMPDIR/podman-run-<uid>`` (``/tmp`` without
    ``TMPDIR``; podman creates it), else ``$HOME/rundir``; the login file is
    ``containers/auth.json`` there. The last, which podman uses only when it cannot make
    the temporary directory, is not modelled."""
    import stat

    number = paths.uid() if uid is None else uid
    guessed = uid is None and paths.uid_guessed()
    who = f"uid {number}"
    if guessed:
        who += " (the owner of $HOME: a guess, podman uses the uid it runs as)"
    if number == 0:
        return paths.at("/run/containers/0/auth.json"), f"root podman, {who}"
    run_user = paths.at(f"/run/user/{number}")
    try:
        st = run_user.stat()
        usable = stat.S_ISDIR(st.st_mode) and st.st_uid == number and st.st_mode & 0o700 == 0o700
    except OSError:
        usable = False
    if usable:
        where = f"/run/user/{number}"
    else:
        # Go's os.TempDir on the examined machine: a path named, not a file made here
        tmp = paths.env.get("TMPDIR") or "/tmp"  # noqa: S108
        where = f"{tmp.rstrip('/')}/podman-run-{number}"
    why = f"rootless podman sets XDG_RUNTIME_DIR={where}, {who}"
    return paths.at(where) / "containers" / "auth.json", why


def alias_cache_path(paths: Paths) -> Path:
    """podman's saved short-name aliases (what a user picked at a prompt), read before
    every registries.conf alias (containers/image v5.23.1 pkg/sysregistriesv2
    shortNameAliasesConfPath, ResolveShortNameAlias): root's
    ``/var/cache/containers/short-name-aliases.conf``, a user's
    ``${XDG_CACHE_HOME:-$HOME/.cache}/containers/short-name-aliases.conf``."""
    if paths.uid() == 0:
        return paths.at(ALIAS_CACHE)
    cache = paths.env_path("XDG_CACHE_HOME") or paths.home() / ".cache"
    return paths.within(cache / "containers" / "short-name-aliases.conf")


def load_alias_cache(conf: RegistriesConf, path: Path) -> None:
    """The saved aliases win over registries.conf's, name by name; an empty value there
    sends the name to the search registries. A file containers/image cannot load fails
    every short-name pull ("loading short-name aliases config file ..."), not the others."""
    result = FileResult(path, ALIAS_CACHE_SOURCE, "podman", "toml", effect=ALIAS_CACHE_EFFECT)
    text = read_text(result)
    if text is None:
        if result.exists:
            conf.files.append(result)
            _short_names_only(result)
        return
    conf.files.append(result)
    data = parse_toml(result, text)
    _short_names_only(result)
    aliases = data.get("aliases") if data is not None else None
    if data is None or aliases is None:
        return
    result.data = data
    from regdoctor.runtime.podman import alias_problem

    if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
        result.issue("must be a table of strings", key="aliases", fatal=False)
        return
    problems = [alias_problem(name, value) for name, value in aliases.items()]
    refused = [p for p in problems if p is not None]
    if refused:
        result.issue(f"{ALIAS_CACHE_EFFECT}: {refused[0]}", key="aliases", fatal=False)
        return
    for name, value in aliases.items():
        conf.aliases[name] = (value, where(result, "aliases", name))


def _short_names_only(result: FileResult) -> None:
    """A saved-alias file podman cannot load fails short names only (the route of a
    short name is stopped, ``Routes``): a fully qualified pull never reads it
    (containers/image v5.23.1 pkg/shortnames Resolve returns a qualified name at once),
    so its problems are not the file's refusal by podman as a whole (not ``fatal``)."""
    from dataclasses import replace

    result.issues[:] = [replace(issue, fatal=False) for issue in result.issues]


def discover(paths: Paths) -> RegistriesConf | None:
    conf = RegistriesConf()
    for path in candidate_files(paths):
        load_into(conf, path)
    load_alias_cache(conf, alias_cache_path(paths))
    for path in auth_file_paths(paths):
        auth = docker_config.load(path, kind="containers")
        if auth.file.exists:
            conf.auth_files.append(auth)
    if not conf.files and not conf.auth_files:
        return None
    return conf


def load_into(conf: RegistriesConf, path: Path) -> FileResult:
    result = FileResult(path, SOURCE, "podman", "toml", effect=EFFECT)
    text = read_text(result)
    if text is None:
        if result.exists:
            conf.files.append(result)
        return result
    conf.files.append(result)
    data = parse_toml(result, text)
    if data is None:
        return result
    result.data = data
    for key in data:
        if key not in TOP_KEYS:
            result.issue(f"unknown key {key!r}", key=key, fatal=False)
    if "registries" in data:
        v2 = [k for k in ("registry", "unqualified-search-registries") if k in data]
        message = "the v1 format ([registries.search]) is deprecated"
        if v2:
            message = (
                f"mixes the v1 format ([registries.*]) with v2 keys ({', '.join(v2)}): "
                "podman refuses it"
            )
        result.issue(message, key="registries", fatal=bool(v2))
    search = data.get("unqualified-search-registries")
    if search is not None:
        if not isinstance(search, list) or not all(isinstance(s, str) for s in search):
            result.issue("must be a list of registry names", key="unqualified-search-registries")
        else:
            bad = [s for s in search if "/" in s or "://" in s]
            for s in bad:
                result.issue(
                    f"{s!r} must be a registry host[:port], without scheme or path",
                    key="unqualified-search-registries",
                )
            conf.unqualified_search = [s for s in search if s not in bad]
            conf.unqualified_source = where(result, "unqualified-search-registries")
    mode = data.get("short-name-mode")
    if mode is not None:
        if mode not in SHORT_NAME_MODES:
            result.issue(
                f"must be one of {', '.join(SHORT_NAME_MODES)}, not {mode!r}", key="short-name-mode"
            )
        else:
            conf.short_name_mode = mode
    aliases = data.get("aliases")
    if aliases is not None:
        if not isinstance(aliases, dict):
            result.issue("must be a table", key="aliases")
        else:
            from regdoctor.runtime.podman import alias_problem

            for name, value in aliases.items():
                if not isinstance(value, str):
                    result.issue("must be a string", key=f'aliases."{name}"')
                    continue
                problem = alias_problem(name, value)
                if problem is not None:
                    # containers/image refuses the file: no pull at all, of any image
                    result.issue(
                        f"validating short-name aliases: {problem}", key=f'aliases."{name}"'
                    )
                    continue
                conf.aliases[name] = (value, where(result, "aliases", name))
    tables = data.get("registry")
    if tables is not None:
        if not isinstance(tables, list):
            result.issue("must be an array of tables ([[registry]])", key="registry")
        else:
            for i, table in enumerate(tables):
                _registry_table(conf, result, i, table)
    return result


def _strip_scheme(result: FileResult, value: str, key: str) -> str:
    if "://" in value:
        result.issue(f"{value!r} must not contain a scheme", key=key)
        return value.split("://", 1)[1]
    return value


def _registry_table(conf: RegistriesConf, result: FileResult, i: int, table: Any) -> None:
    label = f"registry[{i}]"
    if not isinstance(table, dict):
        result.issue("must be a table", key=label)
        return
    for key in table:
        if key not in REGISTRY_KEYS:
            result.issue(f"unknown key {key!r}", key=f"{label}.{key}", fatal=False)
    location = table.get("location")
    prefix = table.get("prefix")
    if location is not None and not isinstance(location, str):
        result.issue("must be a string", key=f"{label}.location")
        location = None
    if prefix is not None and not isinstance(prefix, str):
        result.issue("must be a string", key=f"{label}.prefix")
        prefix = None
    if not location and not prefix:
        result.issue("needs a location or a prefix", key=label)
        return
    location = _strip_scheme(result, location or prefix or "", f"{label}.location")
    prefix = _strip_scheme(result, prefix or location, f"{label}.prefix")
    flags = {}
    for flag in ("insecure", "blocked", "mirror-by-digest-only"):
        value = table.get(flag, False)
        if not isinstance(value, bool):
            result.issue("must be true or false", key=f"{label}.{flag}")
            value = False
        flags[flag] = value
    entry = RegistryTable(
        prefix=prefix,
        location=location,
        insecure=flags["insecure"],
        blocked=flags["blocked"],
        source=where(result, "registry", i),
        mirror_by_digest_only=flags["mirror-by-digest-only"],
    )
    mirrors = table.get("mirror", [])
    if not isinstance(mirrors, list):
        result.issue("must be an array of tables ([[registry.mirror]])", key=f"{label}.mirror")
        mirrors = []
    for j, mirror in enumerate(mirrors):
        mlabel = f"{label}.mirror[{j}]"
        if not isinstance(mirror, dict) or not isinstance(mirror.get("location"), str):
            result.issue("must be a table with a location", key=mlabel)
            continue
        for key in mirror:
            if key not in MIRROR_KEYS:
                result.issue(f"unknown key {key!r}", key=f"{mlabel}.{key}", fatal=False)
        insecure = mirror.get("insecure", False)
        if not isinstance(insecure, bool):
            result.issue("must be true or false", key=f"{mlabel}.insecure")
            insecure = False
        pull_from = mirror.get("pull-from-mirror", "all")
        if pull_from not in ("all", "digest-only", "tag-only"):
            result.issue("must be all, digest-only or tag-only", key=f"{mlabel}.pull-from-mirror")
            pull_from = "all"
        if entry.mirror_by_digest_only:
            pull_from = "digest-only"
        entry.mirrors.append(
            Endpoint(
                _strip_scheme(result, mirror["location"], f"{mlabel}.location"),
                insecure,
                where(result, "registry", i, "mirror", j),
                pull_from,
            )
        )
    conf.registries[prefix] = entry  # a drop-in's table replaces one with the same prefix
