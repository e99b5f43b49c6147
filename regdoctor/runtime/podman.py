"""What containers/image (podman, skopeo, CRI-O, buildah) does with registries.conf.

Default version 5.23 (podman 4.3.1 / skopeo 1.9.3 in Debian bookworm). Behaviour read
from containers/image v5.23.1 pkg/sysregistriesv2/system_registries_v2.go,
docker/docker_image_src.go, docker/docker_client.go, pkg/docker/config/config.go.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .common import (
    DOCKER_HUB,
    DOCKER_HUB_API_HOST,
    AuthLookup,
    Endpoint,
    ErrorKind,
    ImageRef,
    Problem,
    Severity,
    split_reference,
)

SRC_REG = "containers/image v5.23.1: pkg/sysregistriesv2/system_registries_v2.go"
SRC_SRC = "containers/image v5.23.1: docker/docker_image_src.go newImageSource"
SRC_CLIENT = "containers/image v5.23.1: docker/docker_client.go detectPropertiesHelper"
SRC_AUTH = "containers/image v5.23.1: pkg/docker/config/config.go getAuthFilePaths"


def _parse_location(value: str) -> tuple[str, str | None]:
    """parseLocation: trailing "/" trimmed; a URI scheme is an error."""
    trimmed = value.rstrip("/")
    if trimmed.startswith(("http://", "https://")):
        return trimmed, f"invalid location '{value}': URI schemes are not supported"
    return trimmed, None


def load_registries_conf(doc: str | Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Parse + validate like postProcessRegistries; returns (normalized config, problems).

    Any problem here is FATAL for every pull (the library refuses the configuration).
    Registries are deduplicated by prefix (first wins) and sorted by prefix.
    """
    if isinstance(doc, str):
        try:
            data: dict[str, Any] = tomllib.loads(doc)
        except tomllib.TOMLDecodeError as exc:
            return {}, [Problem("", f"TOML: {exc}", Severity.FATAL, SRC_REG, exact=False)]
    else:
        data = dict(doc)

    def fatal(msg: str) -> tuple[dict[str, Any], list[Problem]]:
        return data, [Problem("registry", msg, Severity.FATAL, SRC_REG + " postProcessRegistries")]

    regs: list[dict[str, Any]] = []
    for raw in data.get("registry", []) or []:
        reg = dict(raw)
        loc, err = _parse_location(str(reg.get("location", "")))
        if err:
            return fatal(err)
        reg["location"] = loc
        prefix = str(reg.get("prefix", ""))
        if not prefix:
            if not loc:
                return fatal("invalid condition: both location and prefix are unset")
            prefix = loc
        else:
            prefix, err = _parse_location(prefix)
            if err:
                return fatal(err)
            if not prefix.startswith("*.") and not loc:
                return fatal(
                    "invalid condition: location is unset and prefix is not in the "
                    "format: *.example.com"
                )
        reg["prefix"] = prefix
        if reg.get("pull-from-mirror"):
            return fatal(f'pull-from-mirror must not be set for a non-mirror registry "{prefix}"')
        mirrors = []
        for m in reg.get("mirror", []) or []:
            m = dict(m)
            mloc, err = _parse_location(str(m.get("location", "")))
            if err:
                return fatal(err)
            if not mloc:
                return fatal("invalid condition: mirror location is unset")
            m["location"] = mloc
            pfm = m.get("pull-from-mirror", "")
            if reg.get("mirror-by-digest-only") and pfm:
                return fatal(
                    "cannot set mirror usage mirror-by-digest-only for the registry "
                    f'("{prefix}") and pull-from-mirror for per-mirror ("{mloc}") '
                    "at the same time"
                )
            if pfm and pfm not in ("all", "digest-only", "tag-only"):
                return fatal(f'unsupported pull-from-mirror value "{pfm}" for mirror "{mloc}"')
            mirrors.append(m)
        reg["mirror"] = mirrors
        regs.append(reg)
    by_loc: dict[str, list[dict[str, Any]]] = {}
    for reg in regs:
        by_loc.setdefault(reg["location"] or reg["prefix"], []).append(reg)
    for reg in regs:
        for other in by_loc[reg["location"] or reg["prefix"]]:
            for flag in ("insecure", "blocked"):
                if bool(reg.get(flag)) != bool(other.get(flag)):
                    return fatal(
                        f"registry '{reg['location']}' is defined multiple times with "
                        f"conflicting '{flag}' setting"
                    )
    unique: dict[str, dict[str, Any]] = {}
    for reg in regs:
        unique.setdefault(reg["prefix"], reg)
    data["registry"] = [unique[p] for p in sorted(unique)]
    return data, []


def ref_matching_prefix(ref: str, prefix: str) -> int:
    """refMatchingPrefix: length matched or -1. "*.example.com" matches subdomains;
    otherwise the prefix must be followed by ':', '/' or '@' - so "example.com" also
    matches "example.com:5000/..." (documented upstream as unintended)."""
    if prefix.startswith("*."):
        idx = ref.find(prefix[1:])
        if idx == -1 or "/" in ref[:idx]:
            return -1
        idx += len(prefix) - 1
        if idx == len(ref) or ref[idx] in ":/@":
            return idx
        return -1
    if len(ref) < len(prefix) or not ref.startswith(prefix):
        return -1
    if len(ref) == len(prefix) or ref[len(prefix)] in ":/@":
        return len(prefix)
    return -1


def find_registry(conf: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """findRegistryWithParsedConfig: longest matching prefix wins (ties: first)."""
    best, best_len = None, 0
    for reg in conf.get("registry", []) or []:
        if ref_matching_prefix(name, reg["prefix"]) != -1 and len(reg["prefix"]) > best_len:
            best, best_len = reg, len(reg["prefix"])
    return best


def _endpoint(location_ref: str, insecure: bool, mirror: bool) -> Endpoint:
    ref = split_reference(location_ref)
    host = DOCKER_HUB_API_HOST if ref.domain == DOCKER_HUB else ref.domain
    notes = (
        [
            "https first; with insecure = true TLS is not verified and, if the https "
            "/v2/ ping fails, http is tried"
        ]
        if insecure
        else []
    )
    if mirror:
        notes.append(
            "credentials: looked up for the mirror's own host in auth.json; "
            "--creds are not sent to a mirror on another domain"
        )
    return Endpoint(
        url=f"https://{host}/v2/",
        scheme="https",
        host=host,
        path_prefix="/v2",
        mirror=mirror,
        skip_verify=insecure,
        source=SRC_SRC + ", " + SRC_CLIENT,
        repository=ref.path,
        http_fallback=insecure,
        notes=tuple(notes),
    )


class RewriteError(ValueError):
    """containers/image cannot rewrite the image's reference for one of its table's
    endpoints (v5.23.1 ``Endpoint.rewriteReference``: ``rewriting reference: invalid
    reference format``). ``PullSourcesFromReference`` returns that error for the whole
    pull, before any request: one endpoint that does not parse stops them all.
    ``prefix`` is the table's, ``rewritten`` the name that does not parse, ``reference``
    the fully qualified name podman rewrote (a short name's candidate), ``location`` the
    table's location or mirror that gave it and ``mirror`` whether it is a mirror."""

    def __init__(
        self,
        prefix: str,
        rewritten: str,
        reference: str = "",
        location: str = "",
        mirror: bool = False,
    ) -> None:
        super().__init__("rewriting reference: invalid reference format")
        self.prefix = prefix
        self.rewritten = rewritten
        self.reference = reference
        self.location = location
        self.mirror = mirror


def _rewrite(ref: ImageRef, prefix: str, location: str, mirror: bool = False) -> str:
    """rewriteReference: the location, then everything after the prefix's match. A
    wildcard ``*.example.test`` matches up to the host's name, so an image with a port
    keeps ``:5000/...``: a location with a port of its own becomes
    ``mirror.test:5000:5000/...``, which ``reference.ParseNamed`` refuses."""
    from regdoctor.reference.grammar import ReferenceSyntaxError, parse

    s = str(ref)
    n = ref_matching_prefix(s, prefix)
    if not location:
        return s
    rewritten = location + s[n:]
    try:
        parse(rewritten)
    except ReferenceSyntaxError:
        raise RewriteError(prefix, rewritten, s, location, mirror) from None
    return rewritten


def podman_endpoints(
    image_ref: str,
    registries_conf: str | Mapping[str, Any] | None = None,
) -> list[Endpoint]:
    """Endpoints podman/skopeo try, in order, for ``image_ref``.

    Qualified names: mirrors of the longest-prefix ``[[registry]]`` (in file order;
    ``mirror-by-digest-only`` or per-mirror ``pull-from-mirror`` = digest-only/tag-only
    filter them) then the registry's own ``location`` (PullSourcesFromReference). A
    mirror's ``insecure`` is its own setting, not inherited. Each candidate fails over to
    the next on *any* error, including manifest-unknown (newImageSourceAttempt).
    Short names: ``[aliases]`` then each ``unqualified-search-registries`` entry
    (short-name-mode enforcing with several candidates and no TTY fails instead:
    "short-name resolution enforced but cannot prompt without a TTY",
    pkg/shortnames/shortnames.go v5.23.1). Raises ValueError for a blocked registry or
    an invalid configuration.
    """
    conf, problems = load_registries_conf(registries_conf or {})
    if problems:
        raise ValueError(problems[0].message)
    first, sep, _ = image_ref.partition("/")
    qualified = bool(sep) and ("." in first or ":" in first or first == "localhost")
    if not qualified:
        short = resolve_short_name(image_ref, conf)
        if short.error:
            raise ValueError(short.error)
        out: list[Endpoint] = []
        refused: list[ValueError] = []
        for c in short.candidates:
            # a candidate is fully qualified (reference.ParseNormalizedNamed): a search
            # registry or an alias without a dot names a docker.io repository
            host, sep, _ = c.partition("/")
            if not sep:
                c = f"docker.io/library/{c}"
            elif not ("." in host or ":" in host or host == "localhost"):
                c = f"docker.io/{c}"
            try:
                out += podman_endpoints(c, conf)
            except ValueError as exc:
                # a blocked candidate fails alone: podman goes on to the next one
                # (containers/common v0.50.1 libimage pullSimpleImage keeps each
                # candidate's error and continues)
                refused.append(exc)
        if not out and refused:
            raise refused[0]
        return out
    ref = split_reference(image_ref)
    reg = find_registry(conf, ref.name)
    if reg is None:
        return [_endpoint(str(ref), False, False)]
    if reg.get("blocked"):
        raise ValueError(
            f"registry {reg['prefix']} is blocked in /etc/containers/registries.conf "
            "or /etc/containers/registries.conf.d"
        )
    digested = bool(ref.digest)
    out = []
    for m in reg.get("mirror", []):
        mode = m.get("pull-from-mirror", "")
        if reg.get("mirror-by-digest-only") and not digested:
            continue
        if (mode == "digest-only" and not digested) or (mode == "tag-only" and digested):
            continue
        out.append(
            _endpoint(
                _rewrite(ref, reg["prefix"], m["location"], True), bool(m.get("insecure")), True
            )
        )
    out.append(
        _endpoint(_rewrite(ref, reg["prefix"], reg["location"]), bool(reg.get("insecure")), False)
    )
    return out


SRC_SHORT = "containers/image v5.23.1: pkg/shortnames/shortnames.go Resolve"
#: GetShortNameMode's default when registries.conf sets none (v5.23.1
#: pkg/sysregistriesv2/shortnames.go: defaultShortNameMode)
DEFAULT_SHORT_NAME_MODE = "permissive"


@dataclass(frozen=True)
class ShortName:
    """How containers/image resolves a short name for a pull (shortnames.Resolve)."""

    name: str  # the short name without tag or digest (what an alias is keyed by)
    candidates: tuple[str, ...]  # fully qualified references, tried in order
    mode: str
    via: str  # "alias" or "search"
    #: the error podman stops with before any request ("" when it pulls)
    error: str = ""


def _trim(name: str) -> tuple[str, str]:
    """(repository, ":tag" / "@digest" suffix) of a short name."""
    suffix = ""
    if "@" in name:
        name, digest = name.split("@", 1)
        suffix = "@" + digest
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, suffix = name[:colon], name[colon:] + suffix
    return name, suffix


def resolve_short_name(name: str, conf: Mapping[str, Any]) -> ShortName:
    """``Resolve`` of v5.23.1 for a pull without a terminal (podman in a script, a
    unit, CI): an alias (``[aliases]``, keyed by the name without tag or digest) is the
    only candidate; otherwise each ``unqualified-search-registries`` entry in order (none:
    an error). ``disabled`` or one candidate: those. Several candidates and no TTY:
    ``permissive`` (the default) tries them all in order, ``enforcing`` refuses ("cannot
    prompt without a TTY"). (With a terminal podman prompts instead: not modelled.)"""
    mode = str(conf.get("short-name-mode") or DEFAULT_SHORT_NAME_MODE)
    repository, suffix = _trim(name)
    if mode not in ("disabled", "permissive", "enforcing"):
        return ShortName(repository, (), mode, "", f"unsupported short-name mode ({mode})")
    aliases = conf.get("aliases") or {}
    listed = conf.get("unqualified-search-registries") or []
    if not isinstance(aliases, Mapping) or not isinstance(listed, list):
        # podman refuses such a registries.conf before any pull (a TOML type error)
        bad = "aliases" if not isinstance(aliases, Mapping) else "unqualified-search-registries"
        return ShortName(repository, (), mode, "", f"registries.conf: invalid {bad}")
    alias = aliases.get(repository)
    if alias:
        return ShortName(repository, (f"{alias}{suffix}",), mode, "alias")
    search = [str(r) for r in listed]
    if not search:
        return ShortName(
            repository,
            (),
            mode,
            "search",
            f'short-name "{name}" did not resolve to an alias and no unqualified-search '
            "registries are defined",
        )
    candidates = tuple(f"{r}/{name}" for r in search)
    if mode == "enforcing" and len(candidates) > 1:
        return ShortName(
            repository,
            candidates,
            mode,
            "search",
            "short-name resolution enforced but cannot prompt without a TTY",
        )
    return ShortName(repository, candidates, mode, "search")


def _registry_like(domain: str) -> bool:
    return any(c in domain for c in ".:") or domain == "localhost"


def alias_problem(name: str, value: str) -> str | None:
    """Why containers/image refuses the ``[aliases]`` entry ``name = value`` (v5.23.1
    pkg/sysregistriesv2/shortnames.go newShortNameAliasCache: validateShortName,
    parseShortNameValue), or None. A refused entry makes every pull fail, of any image
    ("validating short-name aliases: ..."). An empty value resets the name (allowed)."""
    from regdoctor.reference.grammar import ReferenceSyntaxError, parse

    try:
        short = parse(name)
    except ReferenceSyntaxError as exc:
        return f"cannot parse short name: {name!r}: {exc}"
    if short.digest:
        return f'invalid short name "{name}": must not contain digest'
    if short.tag:
        return f'invalid short name "{name}": must not contain tag'
    if _registry_like(short.domain):
        return f'invalid short name "{name}": must not contain registry'
    if value == "":
        return None
    try:
        ref = parse(value)
    except ReferenceSyntaxError as exc:
        return f'parsing alias "{value}": {exc}'
    if ref.digest:
        return f'invalid alias "{value}": must not contain digest'
    if ref.tag:
        return f'invalid alias "{value}": must not contain tag'
    if not _registry_like(ref.domain):
        return f'invalid alias "{value}": must contain registry and repository'
    return None


def podman_falls_back(kind: ErrorKind) -> bool:
    """newImageSource (v5.23.1): any error from one pull source moves to the next."""
    return kind is not ErrorKind.CANCELLED


def auth_file_candidates(
    env: Mapping[str, str], home: str, uid: int, auth_file: str = ""
) -> AuthLookup:
    """Credential files containers/image reads, first match wins (getAuthFilePaths).

    podman's --authfile / REGISTRY_AUTH_FILE (else $DOCKER_CONFIG/config.json: podman's
    default --authfile, containers/common v0.50.1 GetDefaultAuthFile) become
    sys.AuthFilePath and replace the first entry; otherwise
    ${XDG_RUNTIME_DIR}/containers/auth.json (error if that dir is set but missing: only a
    warning, pull continues) or root's /run/containers/0/auth.json (rootless podman sets
    XDG_RUNTIME_DIR itself, to /run/user/<uid> as a rule: this model assumes that one;
    discovery's login_file_without_runtime_dir looks at the examined machine, where
    podman's $TMPDIR/podman-run-<uid> is used when /run/user/<uid> is not the user's),
    then ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json, then $DOCKER_CONFIG/config.json
    or ~/.docker/config.json, then ~/.dockercfg. credHelpers in those files are honoured;
    registries.conf ``credential-helpers`` may add external helpers.
    """
    first = auth_file or env.get("REGISTRY_AUTH_FILE", "")
    if not first and env.get("DOCKER_CONFIG"):
        # podman's default --authfile (containers/common v0.50.1 GetDefaultAuthFile)
        first = f"{env['DOCKER_CONFIG']}/config.json"
    if not first:
        # without XDG_RUNTIME_DIR: root's /run/containers/0; rootless podman sets it
        # itself first (libpod SetXdgDirs): /run/user/<uid> (else $TMPDIR/podman-run-<uid>)
        rt = env.get("XDG_RUNTIME_DIR", "") or (f"/run/user/{uid}" if uid != 0 else "")
        first = f"{rt}/containers/auth.json" if rt else "/run/containers/0/auth.json"
    xdg = env.get("XDG_CONFIG_HOME") or f"{home}/.config"
    docker = (
        f"{env['DOCKER_CONFIG']}/config.json"
        if env.get("DOCKER_CONFIG")
        else f"{home}/.docker/config.json"
    )
    return AuthLookup(
        key="<registry or repository>",
        store="file",
        on_helper_failure="error from every helper -> pull fails with the "
        "combined errors (getCredentialsWithHomeDir multiErr)",
        candidates=(first, f"{xdg}/containers/auth.json", docker, f"{home}/.dockercfg"),
        source=SRC_AUTH,
    )
