"""How each runtime in scope reaches a target: its endpoints in order, from the runtime
model (:mod:`regdoctor.runtime`) fed with the effective configuration.

:class:`Routes` answers two questions. The probes ask it which schemes are worth
observing for a host (:meth:`Routes.schemes`: is there a runtime that skips TLS
verification for it, one that tries plain HTTP after an HTTPS failure of some kind);
the verdicts ask it for each runtime's endpoint list (:meth:`Routes.route`). Both read
the same model, so what regdoctor observes is what the runtimes would try.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from regdoctor import runtime as model
from regdoctor.model import Target
from regdoctor.options import SchemeChoice
from regdoctor.reference import dockerhub

if TYPE_CHECKING:
    from regdoctor.discovery.effective import Effective

__all__ = ["ALL_RUNTIMES", "VERSIONS", "Route", "Routes", "endpoint_is_target", "short_name"]

#: Every runtime a verdict can be given for. ``kubernetes`` is containerd's CRI plugin,
#: which the kubelet drives.
ALL_RUNTIMES: tuple[str, ...] = ("docker", "containerd", "podman", "kubernetes")
#: The versions modelled (Debian 12's packages; docs/runtime-model.md has the others).
VERSIONS: Mapping[str, str] = {
    "docker": "20.10",
    "containerd": "1.6.20",
    "podman": "4.3 (containers/image 5.23)",
    "kubernetes": "containerd 1.6.20 CRI",
}
#: Failures after which a runtime that lists an ``http://`` endpoint goes on to it, as
#: far as regdoctor observes them: never after a timeout (a slow TLS server is slow, not
#: plain HTTP; a runtime that would still try http:// is told apart in its verdict).
_HTTP_AFTER = frozenset(
    {
        model.ErrorKind.DNS,
        model.ErrorKind.CONNECT,
        model.ErrorKind.TLS,
        model.ErrorKind.HTTP_ON_HTTPS,
    }
)


@dataclass(frozen=True, eq=False)
class Route:
    """What one runtime does for one target."""

    runtime: str
    endpoints: tuple[model.Endpoint, ...] = ()
    #: Set when the runtime cannot pull at all before any request (dockerd would not
    #: start, the registry is blocked, the CRI plugin did not load): the exact message.
    stopped: str | None = None
    #: Where ``stopped`` comes from (the file as the machine names it).
    stopped_source: str | None = None
    #: The one edit that removes the cause: (key, entry at fault, corrected entry or "").
    fix: tuple[str, str, str] | None = None
    #: more facts the fix's commands need (fill-in name, value)
    fix_facts: tuple[tuple[str, str], ...] = ()
    #: A stopped runtime's endpoints once the stop's fix is in (podman and a name it
    #: cannot rewrite): what it meets next, so that one check names that fault too.
    behind: tuple[model.Endpoint, ...] = ()
    #: podman's rewrite stop: (the image as pulled, the qualified name it could not
    #: rewrite, the table's prefix, the name that does not parse), to compute its fix
    #: again once the probes know which endpoints speak plain HTTP
    #: (:meth:`Routes.podman_rewrite_stop`)
    rewrite: tuple[str, str, str, str] | None = None
    notes: tuple[str, ...] = ()
    #: containerd: the hosts.toml read for the registry (as the machine names it), and
    #: why containerd ignores it when it does (then it behaves as if there were none).
    hosts_toml: str | None = None
    hosts_ignored: str | None = None
    #: containerd: every entry of that hosts.toml with a ``ca`` (its table: "server" for
    #: the file's root, else the ``[host]`` key; the files as written), those the route
    #: leaves out for their capabilities too (a root that may not resolve)
    hosts_cas: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: ctr and a short name: the name as written, and the full name it needs
    #: (ctr reads the first component as the host, :func:`_ctr_reading`).
    short_name: str | None = None
    full_name: str | None = None


@dataclass(eq=False)
class Routes:
    """The runtimes in scope and how each reaches a target (see the module docstring)."""

    runtimes: tuple[str, ...] = ALL_RUNTIMES
    effective: Effective | None = None
    #: ``--insecure``: every registry is treated as insecure by every runtime.
    insecure: bool = False
    _cache: dict[tuple[str, str, tuple[str, ...]], Route] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what the probes ask ---------------------------------------------------------

    def schemes(self, target: Target, addresses: Sequence[str]) -> SchemeChoice:
        """Which runtimes skip TLS verification for ``target`` and which go on to plain
        HTTP after an HTTPS failure (and after which failures)."""
        skip: list[str] = []
        verify: list[str] = []
        http: list[str] = []
        for runtime in self.runtimes:
            route = self.route(runtime, target, addresses)
            own = [e for e in route.endpoints if _same_host(e.host, target)]
            # the first https endpoint decides: containerd appends the file's `server` to
            # its [host] entries (config/hosts.go parseHostsFile), so a [host] with
            # skip_verify for the server's own URL comes first, and the verifying
            # server entry is reached only when that host fails
            first_https = next((e for e in own if e.scheme == "https"), None)
            if first_https is not None:
                (skip if first_https.skip_verify else verify).append(runtime)
            if any(e.scheme == "http" or e.http_fallback for e in own):
                http.append(runtime)
        return SchemeChoice(
            skip_verify=tuple(skip),
            verify=tuple(verify),
            plain_http=tuple(http),
            plain_http_after=tuple(sorted(str(k) for k in _HTTP_AFTER)),
            scope=tuple(self.runtimes),
        )

    def trust(self, target: Target) -> dict[str, list[str]]:
        """Per runtime in scope, the CA files it trusts for ``target`` besides the system
        store (as paths on this machine, below ``--root``): docker its certs.d, podman
        /etc/containers/certs.d and /etc/docker/certs.d, containerd the hosts.toml ``ca``
        of the host, or the directory's ``*.crt`` when there is no hosts.toml."""
        from regdoctor.discovery import locations

        out: dict[str, list[str]] = {}
        host = _index_name(target)
        docker_dir = self._crt_files(locations.DOCKER_CERTS_D, host)
        # what the configuration names for this very endpoint (a mirror's hosts.toml ca)
        own = list(target.ca_files) if target.runtime in (None, *self.runtimes) else []
        for runtime in self.runtimes:
            given = own if target.runtime in (None, runtime) else []
            if runtime == "docker":
                out[runtime] = docker_dir + given
            elif runtime == "podman":
                out[runtime] = (
                    self._crt_files(locations.CONTAINERS_CERTS_D, host) + docker_dir + given
                )
            else:
                out[runtime] = self._containerd_cas(host) + given
        return out

    def trust_elsewhere(self, target: Target) -> list[str]:
        """The CA files the runtimes *out of* scope read for ``target`` (paths on this
        machine): a CA another runtime of this machine trusts is one a fix can copy to
        where the runtime in scope looks (tls-runtime-lacks-ca), even when ``check``
        runs with ``--runtime`` for that one alone."""
        others = tuple(r for r in ALL_RUNTIMES if r not in self.runtimes)
        if not others:
            return []
        scoped = replace(self, runtimes=others, _cache={}, _lock=threading.Lock())
        inside = {f for files in self.trust(target).values() for f in files}
        return list(
            dict.fromkeys(
                f for files in scoped.trust(target).values() for f in files if f not in inside
            )
        )

    def trust_dirs(self, target: Target) -> dict[str, list[str]]:
        """Per runtime in scope, the directories it looks in for the CA of ``target``
        (as the runtime names them, not below ``--root``), whether or not they exist:
        what a finding lists as the places tried."""
        from regdoctor.discovery import locations

        host = _index_name(target)
        out: dict[str, list[str]] = {}
        for runtime in self.runtimes:
            if runtime == "docker":
                out[runtime] = [f"{locations.DOCKER_CERTS_D}/{host}"]
            elif runtime == "podman":
                out[runtime] = [
                    f"{locations.CONTAINERS_CERTS_D}/{host}",
                    f"{locations.DOCKER_CERTS_D}/{host}",
                ]
            else:
                _text, source = self._hosts_toml(host)
                where = source.rsplit("/", 1)[0] if source else None
                out[runtime] = [where or f"{locations.CONTAINERD_CERTS_D}/{host}"]
        return out

    def mirror_cas(self, runtime: str, target: Target) -> dict[str, list[str]]:
        """containerd: the ``ca`` each host of the target's hosts.toml names, by host (as
        paths on this machine): what the runtime trusts at a mirror."""
        if runtime not in ("containerd", "kubernetes") or self.effective is None:
            return {}
        text, _source = self._hosts_toml(_index_name(target))
        if text is None:
            return {}
        parsed = model.parse_hosts_toml(text)
        return {
            entry.host: [str(self.effective.paths.at(ca)) for ca in entry.ca]
            for entry in parsed.hosts or ()
            if entry.ca
        }

    def endpoint_trust(self, target: Target) -> dict[str, list[list[str] | None]]:
        """containerd with a hosts.toml: per runtime in scope, for each of its endpoints
        (in route order) the CA files of that very entry (paths on this machine), or
        None where TLS to the target is not at stake (another host, http://,
        ``skip_verify``). containerd gives every hosts.toml entry its own TLS config
        (remotes/docker/config/hosts.go ConfigureHosts, v1.6.20), so after a 404 from a
        ``[host]`` with a ``ca`` the ``server`` entry without one verifies with the
        system store alone. Empty when no runtime has such a list."""
        out: dict[str, list[list[str] | None]] = {}
        effective = self.effective
        if effective is None or target.scheme is not None:
            return out
        for runtime in self.runtimes:
            if runtime not in ("containerd", "kubernetes"):
                continue
            route = self.route(runtime, target)
            if route.hosts_toml is None or route.hosts_ignored is not None:
                continue
            out[runtime] = [
                [str(effective.paths.at(ca)) for ca in e.ca]
                if e.scheme == "https" and not e.skip_verify and _same_host(e.host, target)
                else None
                for e in route.endpoints
            ]
        return out

    def _crt_files(self, root: str, host: str) -> list[str]:
        if self.effective is None:
            return []
        names = [host, host.removesuffix(":443")]
        for name in dict.fromkeys(names):
            directory = self.effective.paths.at(f"{root}/{name}")
            try:
                found = sorted(str(p) for p in directory.glob("*.crt"))
            except OSError:
                continue
            if found:
                return found
        return []

    def _containerd_cas(self, host: str) -> list[str]:
        effective = self.effective
        if effective is None:
            return []
        text, source = self._hosts_toml(host)
        if text is not None:
            parsed = model.parse_hosts_toml(text)
            cas = [ca for entry in parsed.hosts or () for ca in entry.ca]
            return [str(effective.paths.at(ca)) for ca in cas]
        if source is None:
            return []
        # no hosts.toml: containerd reads the directory the docker way (*.crt)
        directory = source.rsplit("/", 1)[0]
        try:
            return sorted(str(p) for p in effective.paths.at(directory).glob("*.crt"))
        except OSError:
            return []

    # -- what the verdicts ask -------------------------------------------------------

    def route(self, runtime: str, target: Target, addresses: Sequence[str] = ()) -> Route:
        key = (runtime, target.id, tuple(addresses))
        with self._lock:
            found = self._cache.get(key)
        if found is None:
            try:
                found = self._build(runtime, target, addresses)
            except ValueError as exc:  # blocked registry, invalid registries.conf
                found = Route(runtime, stopped=str(exc))
            with self._lock:
                self._cache[key] = found
        return found

    def _build(self, runtime: str, target: Target, addresses: Sequence[str]) -> Route:
        host = _index_name(target)
        repository = target.repository or ""
        if target.scheme is not None:  # https:// or http:// pinned on the command line
            return Route(runtime, (_pinned(target, runtime),))
        if runtime == "docker":
            return self._docker(host, repository, addresses)
        if runtime in ("containerd", "kubernetes"):
            refused = _ctr_refuses(target) if runtime == "containerd" else None
            if refused is not None:
                return refused
            read_as = _ctr_reading(target) if runtime == "containerd" else None
            if read_as is None:
                return self._containerd(runtime, host, target, repository)
            from dataclasses import replace

            route = self._containerd(runtime, read_as[0], target, read_as[1])
            short = target.raw.strip()
            return replace(route, short_name=short, full_name=_ctr_full_name(short))
        if runtime == "podman":
            return self._podman(target)
        raise ValueError(f"unknown runtime {runtime!r}")

    def _docker(self, host: str, repository: str, addresses: Sequence[str]) -> Route:
        config = self._daemon_json()
        if isinstance(config, str):
            data = self._daemon_data()
            return Route(
                "docker",
                stopped=config,
                stopped_source=self._daemon_file(),
                fix=daemon_fix(data) if data is not None else None,
            )
        mirrors = [str(m) for m in config.get("registry-mirrors") or [] if isinstance(m, str)]
        insecure = [str(e) for e in config.get("insecure-registries") or [] if isinstance(e, str)]
        if self.insecure:
            insecure.append(host)
        try:
            endpoints = model.docker_endpoints(
                host,
                mirrors=mirrors,
                insecure_registries=insecure,
                resolved_ips={host.rsplit(":", 1)[0]: list(addresses)} if addresses else None,
                repository=repository,
            )
        except model.DaemonWouldNotStart as exc:
            return Route(
                "docker",
                stopped=str(exc),
                stopped_source=self._daemon_file(),
                fix=daemon_fix(config),
            )
        # dockerd reads certs.d only for a secure registry (registry.go newTLSConfig)
        secure = any(e.scheme == "https" and not e.skip_verify and not e.mirror for e in endpoints)
        if secure:
            from regdoctor.discovery import locations

            stop = self._certs_dir_stop("docker", _cert_dirs([locations.DOCKER_CERTS_D], host))
            if stop is not None:
                return stop
        return Route("docker", tuple(endpoints))

    def _certs_dir_stop(self, runtime: str, directories: Sequence[str]) -> Route | None:
        """The first of ``directories`` (as the machine names them) that exists, holding a
        client certificate without its key (a CA saved as ``ca.cert``) or a key without
        its certificate: the runtime refuses the pull before any request
        (:mod:`regdoctor.runtime.certs_dir`). The fix renames the file."""
        from regdoctor.runtime.certs_dir import unpaired_file

        effective = self.effective
        if effective is None:
            return None
        for shown in directories:
            directory = effective.paths.at(shown)
            try:
                if not directory.is_dir():
                    continue
                files = [p.name for p in directory.iterdir() if p.is_file()]
            except OSError:
                continue
            bad = unpaired_file(runtime, files)
            if bad is None:
                return None
            return Route(
                runtime,
                stopped=bad.message,
                stopped_source=f"{shown}/{bad.name}",
                fix=("certs-unpaired", f"{shown}/{bad.name}", f"{shown}/{bad.rename_to}"),
            )
        return None

    def _daemon_file(self) -> str | None:
        """daemon.json as the machine names it (``/etc/docker/daemon.json`` also when it
        was read below ``--root``)."""
        effective = self.effective
        daemon = self._daemon()
        if effective is None or daemon is None:
            return None
        return effective.paths.shown(daemon.file.file)

    def _daemon(self) -> Any:
        """The daemon.json dockerd reads (rootful first), parsed or not."""
        effective = self.effective
        if effective is None:
            return None
        return next((d for d in effective.daemon if d.file.exists), None)

    def _daemon_data(self) -> dict[str, Any] | None:
        daemon = self._daemon()
        data = daemon.file.data if daemon is not None else None
        return data if isinstance(data, dict) else None

    def _daemon_json(self) -> dict[str, Any] | str:
        """daemon.json as dockerd reads it, or the message dockerd stops with."""
        daemon = self._daemon()
        if daemon is None:
            return {}
        from regdoctor.bounded import read_within_root

        root = self.effective.paths.root if self.effective else None
        try:  # never a FIFO, a device, an endless file or a link out of --root
            text = read_within_root(root, daemon.file.path).decode("utf-8", "replace")
        except (OSError, ValueError):
            return {}
        shown = self.effective.paths.shown(daemon.file.file) if self.effective else daemon.file.file
        problems = model.validate_daemon_json(text, path=shown)
        fatal = [p for p in problems if p.fatal]
        if fatal:
            return fatal[0].message
        data = daemon.file.data
        return data if isinstance(data, dict) else {}

    def _containerd(self, runtime: str, host: str, target: Target, repository: str) -> Route:
        cri = runtime == "kubernetes"
        if cri:
            stopped = self._cri_stopped()
            if stopped is not None:
                return stopped
            legacy = self._cri_legacy(host, repository)
            if legacy is not None:
                return legacy
        text, source = self._hosts_toml(host)
        ignored = None
        hosts_cas: tuple[tuple[str, tuple[str, ...]], ...] = ()
        if text is not None:
            parsed = model.parse_hosts_toml(text)
            ignored = next((p.message for p in parsed.problems if p.severity != "warning"), None)
            hosts_cas = tuple(
                ("server" if e.key is None else e.key, e.ca) for e in parsed.hosts or () if e.ca
            )
        endpoints = model.containerd_endpoints(
            host,
            text,
            ctr=not cri,
            by_digest=target.digest is not None,
            repository=repository,
        )
        notes = (f"hosts.toml: {source}",) if source else ()
        if text is None and source is not None:
            # a host directory without hosts.toml: its files are read the docker way
            stop = self._certs_dir_stop(runtime, [source.rsplit("/", 1)[0]])
            if stop is not None:
                return stop
        if self.insecure:
            endpoints = [_insecure(e) for e in endpoints]
        return Route(
            runtime,
            tuple(endpoints),
            notes=notes,
            hosts_toml=source if text is not None else None,
            hosts_ignored=ignored,
            hosts_cas=hosts_cas,
        )

    def _cri_registry(self) -> tuple[dict[str, Any], str] | None:
        """The CRI plugin's ``registry`` table of a version-2 config.toml, and the file
        as the machine names it. No config.toml at all: containerd 1.6/1.7's built-in
        defaults, an empty table (``config_path = ""``: no hosts directories; v1.6.20
        pkg/cri/config/config_unix.go DefaultConfig), so the CRI goes to the registry
        itself; regdoctor does not ask the binary its version, and 1.6/1.7 are what
        Kubernetes nodes run with a version-2 file. None for a file it cannot read as
        version 1 or 2 (a version-3 file is containerd 2.x: the hosts directories)."""
        effective = self.effective
        if effective is None:
            return None
        containerd = effective.containerd
        if containerd is None or containerd.file is None:
            from regdoctor.discovery import locations

            override = effective.paths.override("containerd_config")
            shown = str(override) if override else locations.CONTAINERD_CONFIG
            return {}, f"{shown} (absent: containerd 1.6/1.7 defaults)"
        data = containerd.file.data
        if not isinstance(data, dict) or containerd.version not in (1, 2):
            return None
        table: Any = data
        for key in ("plugins", "io.containerd.grpc.v1.cri", "registry"):
            table = table.get(key) if isinstance(table, dict) else None
        return (table if isinstance(table, dict) else {}), effective.paths.shown(
            containerd.file.file
        )

    def _cri_stopped(self) -> Route | None:
        """The CRI plugin does not load with this registry table: containerd runs, the
        kubelet gets "unknown service runtime.v1.ImageService" (pkg/cri/cri.go
        initCRIService and pkg/cri/config/config.go ValidatePluginConfig, v1.6.20)."""
        found = self._cri_registry()
        if found is None:
            return None
        table, source = found
        fatal = [p for p in model.validate_cri_registry(table) if p.fatal]
        if not fatal:
            return None
        return Route(
            "kubernetes",
            stopped=fatal[0].message,
            stopped_source=source,
            fix=(fatal[0].key, "", ""),
        )

    def _cri_legacy(self, host: str, repository: str) -> Route | None:
        """containerd 1.6's CRI without ``config_path``: the hosts directories are not
        read; the inline ``registry.mirrors`` (and ``configs.<host>.tls``) decide
        (pkg/cri/server/image_pull.go registryHosts, registryEndpoints, v1.6.20)."""
        found = self._cri_registry()
        if found is None:
            return None
        table, source = found
        if table.get("config_path"):
            return None
        mirrors: dict[str, list[str]] = {}
        for name, entry in (table.get("mirrors") or {}).items():
            endpoints = entry.get("endpoint") if isinstance(entry, dict) else None
            if isinstance(endpoints, list):
                mirrors[str(name)] = [str(e) for e in endpoints if isinstance(e, str)]
        raw = table.get("configs")
        configs: dict[str, Any] = raw if isinstance(raw, dict) else {}
        endpoints = []
        for endpoint in model.cri_legacy_endpoints(host, mirrors, repository):
            entry = configs.get(endpoint.host)
            tls = entry.get("tls") if isinstance(entry, dict) else None
            if isinstance(tls, dict):
                # a tls table replaces the localhost default (no skip_verify unless set)
                from dataclasses import replace

                endpoint = replace(endpoint, skip_verify=bool(tls.get("insecure_skip_verify")))
            endpoints.append(endpoint)
        if self.insecure:
            endpoints = [_insecure(e) for e in endpoints]
        return Route(
            "kubernetes",
            tuple(endpoints),
            notes=(
                f"no config_path in {source}: the CRI uses registry.mirrors"
                if "(absent" not in source
                else f"{source}: the CRI reads no hosts directory",
            ),
        )

    def _hosts_toml(self, host: str) -> tuple[str | None, str | None]:
        """The hosts.toml containerd reads for ``host`` (first directory found wins)."""
        from regdoctor.discovery import locations

        effective = self.effective
        if effective is None:
            return None, None
        containerd = effective.containerd
        roots = list(containerd.config_path) if containerd and containerd.config_path else []
        roots = roots or [locations.CONTAINERD_CERTS_D]
        for root in roots:
            for directory in model.host_dir_candidates(host, root):
                path = effective.paths.at(f"{directory}/hosts.toml")  # links stay in --root
                try:
                    if path.is_file():
                        from regdoctor.bounded import read_within_root

                        config_root = effective.paths.root
                        text = read_within_root(config_root, path).decode("utf-8", "replace")
                        return text, f"{directory}/hosts.toml"
                    if effective.paths.at(directory).is_dir():
                        # the directory wins even without hosts.toml (then containerd
                        # reads its *.crt, *.cert, *.key the docker way)
                        return None, f"{directory}/hosts.toml"
                except OSError:
                    continue
        return None, None

    def _podman(self, target: Target) -> Route:
        refused = self._invalid_alias()
        if refused is not None:
            return refused
        conf = self._registries_conf()
        # a registry without an image: its endpoints for any repository of it
        name = f"{target.registry}/{_ANY_REPOSITORY}"
        if target.repository:
            reference = f"{target.registry}/{target.repository}"
            if target.digest:
                reference += f"@{target.digest}"
            elif target.tag:
                reference += f":{target.tag}"
            name = reference
        image = _qualified(name)
        candidates: tuple[str, ...] = (image,)
        # only with the registries.conf files read (--no-config knows nothing of them)
        read = self.effective is not None and self.effective.containers is not None
        short = _short_name(target) if read else None
        if short is not None:
            broken = self._alias_cache_refused()
            if broken is not None:
                return broken
            # podman does not assume docker.io: an alias or the search registries
            resolved = model.resolve_short_name(short, conf)
            if resolved.error:
                return self._short_name_stop(target, resolved)
            image, candidates = short, resolved.candidates
        try:
            endpoints = model.podman_endpoints(image, conf)
        except model.RewriteError as exc:
            return self._rewrite_stop(image, exc, conf)
        except ValueError as exc:
            prefix = next(filter(None, (_blocked_prefix(conf, c) for c in candidates)), None)
            if prefix is None:
                raise
            # containers/image refuses before any request (docker_image_src.go
            # newImageSource: "registry %s is blocked in %s or %s"); the fix is the flag
            return Route(
                "podman",
                stopped=str(exc),
                stopped_source=self._table_file(prefix, key="blocked"),
                fix=("blocked", prefix, ""),
            )
        if not any(e.mirror for e in endpoints):
            # containers/image reads the first existing certs.d directory of the host
            # (docker_client.go dockerCertDir: /etc/containers/certs.d, then
            # /etc/docker/certs.d) for every registry, secure or not
            host = model.split_reference(image).domain if short is None else None
            if host:
                from regdoctor.discovery import locations

                roots = [locations.CONTAINERS_CERTS_D, locations.DOCKER_CERTS_D]
                stop = self._certs_dir_stop("podman", _cert_dirs(roots, host))
                if stop is not None:
                    return stop
        if self.insecure:
            endpoints = [_insecure(e) for e in endpoints]
        return Route("podman", tuple(endpoints))

    def _rewrite_stop(self, image: str, exc: Exception, conf: Mapping[str, Any]) -> Route:
        """containers/image cannot rewrite the image's name for an endpoint of its table
        (v5.23.1 ``PullSourcesFromReference``: the first ``rewriteReference`` error is
        the pull's, before any request): podman stops with ``rewriting reference:
        invalid reference format``. The fix is a table for the image's host alone
        (:func:`regdoctor.check.podman_dropin.host_table_dropin`); ``behind`` are the
        endpoints podman then tries (each is checked, and what fails there is named in
        the same run)."""
        prefix = str(getattr(exc, "prefix", ""))
        if not prefix.startswith("*."):
            # not the wildcard's port: the entry itself gives a name that does not parse
            # (a location with capitals in its path...); a table for the host would be a
            # shorter prefix that never wins, so the fix is that entry
            which = "mirror" if getattr(exc, "mirror", False) else "location"
            return Route(
                "podman",
                stopped=str(exc),
                stopped_source=self._table_file(prefix),
                fix=("rewrite-entry", prefix, str(getattr(exc, "rewritten", ""))),
                fix_facts=(
                    ("rewrite_entry", which),
                    ("rewrite_location", str(getattr(exc, "location", ""))),
                ),
            )
        # a short name: the search registry's candidate podman stopped at
        reference = str(getattr(exc, "reference", "") or image)
        rewritten = str(getattr(exc, "rewritten", ""))
        return self._rewrite_route((image, reference, prefix, rewritten), conf, frozenset())

    def podman_rewrite_stop(self, route: Route, plain: frozenset[str]) -> Route:
        """podman's rewrite stop again, with the endpoints in ``plain`` (they answered
        https:// in plain HTTP) marked insecure in the fix's host table: that table is
        the longer prefix, so only its own ``insecure`` applies to the image."""
        if route.rewrite is None or not plain:
            return route
        return self._rewrite_route(route.rewrite, self._registries_conf(), plain)

    def _rewrite_route(
        self, rewrite: tuple[str, str, str, str], conf: Mapping[str, Any], plain: frozenset[str]
    ) -> Route:
        import tomllib

        from regdoctor.check.podman_dropin import host_table_dropin

        image, reference, prefix, rewritten = rewrite
        facts = host_table_dropin(self.effective, reference, prefix, plain)
        behind: list[model.Endpoint] = []
        if facts:
            added = tomllib.loads(facts["podman_host_table"])["registry"]
            fixed = {**conf, "registry": [*(conf.get("registry") or []), *added]}
            try:
                behind = model.podman_endpoints(image, fixed)
            except ValueError:
                behind = []
            if self.insecure:
                behind = [_insecure(e) for e in behind]
        return Route(
            "podman",
            stopped="rewriting reference: invalid reference format",
            stopped_source=self._table_file(prefix),
            fix=("rewrite", prefix, rewritten),
            fix_facts=tuple(facts.items()),
            behind=tuple(behind),
            rewrite=rewrite,
        )

    def podman_insecure_fix(
        self, target: Target, host: str, plain: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """Facts of the drop-in that lets podman reach ``host`` over plain HTTP for the
        image of ``target`` (a fully qualified name; a short name resolves elsewhere),
        and the table's other endpoints in ``plain``:
        :func:`regdoctor.check.podman_dropin.insecure_dropin`."""
        if _short_name(target) is not None:
            return {}
        from regdoctor.check.podman_dropin import insecure_dropin

        name = f"{target.registry}/{target.repository or _ANY_REPOSITORY}"
        return insecure_dropin(self.effective, _qualified(name), host, plain)

    def _invalid_alias(self) -> Route | None:
        """An ``[aliases]`` entry containers/image refuses makes podman refuse the whole
        file, and so every pull, of any image (v5.23.1 loadConfigFile: "validating
        short-name aliases: invalid alias ..."). The fix rewrites the entry: a value
        without a registry to the Docker Hub name ``reference.ParseNormalizedNamed``
        gives it, anything else commented out."""
        from regdoctor.reference.grammar import ReferenceSyntaxError, parse_normalized

        effective = self.effective
        if effective is None or effective.containers is None:
            return None
        for result in effective.containers.files:
            if result.source != "registries_conf":  # the saved aliases fail short names only
                continue
            aliases = result.data.get("aliases") if isinstance(result.data, dict) else None
            if not isinstance(aliases, dict):
                continue
            for name, value in aliases.items():
                problem = model.alias_problem(name, value) if isinstance(value, str) else None
                if problem is None:
                    continue
                good = ""
                if problem.endswith("must contain registry and repository"):
                    try:
                        good = parse_normalized(value).name
                    except ReferenceSyntaxError:
                        good = ""
                shown = effective.paths.shown(result.file)
                main = result is effective.containers.files[0]
                which = "registries configuration" if main else "drop-in registries configuration"
                return Route(
                    "podman",
                    stopped=f'loading {which} "{shown}": validating short-name aliases: {problem}',
                    stopped_source=shown,
                    fix=("alias-invalid", name, good),
                )
        return None

    def _alias_cache_refused(self) -> Route | None:
        """A saved short-name alias file (``short-name-aliases.conf``) containers/image
        cannot load stops every short name before any request, whatever the name
        (v5.23.1 pkg/sysregistriesv2 ResolveShortNameAlias loads it first and returns
        ``loading short-name aliases config file "...": ...``: TOML it cannot decode, an
        alias it refuses, a file it cannot read); measured with podman 4.3.1 (scenarios
        ``podman-saved-alias-cache-*``). The fix moves the file aside."""
        from regdoctor.discovery.registries_conf import ALIAS_CACHE_SOURCE

        effective = self.effective
        if effective is None or effective.containers is None:
            return None
        for result in effective.containers.files:
            if result.source != ALIAS_CACHE_SOURCE or not result.issues:
                continue
            shown = effective.paths.shown(result.file)
            return Route(
                "podman",
                stopped=f'loading short-name aliases config file "{shown}": '
                f"{result.issues[0].located()}",
                stopped_source=shown,
                fix=("alias-cache-invalid", "", ""),
            )
        return None

    def _short_name_stop(self, target: Target, resolved: Any) -> Route:
        """podman refuses a short name before any request (shortnames.Resolve): no
        search registries, or several and ``short-name-mode = "enforcing"`` without a
        TTY. The fix is an alias: to the first search registry, or (none) to Docker Hub,
        where docker would pull it."""
        key = "short-name-mode" if resolved.candidates else "unqualified-search-registries"
        if resolved.candidates:
            value = model.split_reference(resolved.candidates[0])
            good = f"{value.domain}/{value.path}"
        else:
            good = f"{dockerhub.DOMAIN}/{target.repository}"
        return Route(
            "podman",
            stopped=resolved.error,
            stopped_source=self._setting_file(key),
            fix=("short-name", resolved.name, good),
        )

    def _setting_file(self, key: str) -> str | None:
        """The last registries.conf (or drop-in) that sets top-level ``key``, else the
        first file read (the main registries.conf)."""
        effective = self.effective
        if effective is None or effective.containers is None:
            return None
        files = effective.containers.files
        found = None
        for result in files:
            if isinstance(result.data, dict) and key in result.data:
                found = effective.paths.shown(result.file)
        if found is None and files:
            found = effective.paths.shown(files[0].file)
        return found

    def _table_file(self, prefix: str, *, key: str | None = None) -> str | None:
        """The last registries.conf (or drop-in) that defines the [[registry]]
        ``prefix`` (with ``key``: and sets it), as the machine names it (later files win
        per prefix). A table without ``prefix`` is prefixed by its ``location``, as
        containers/image reads it (sysregistriesv2 postProcessRegistries)."""
        effective = self.effective
        if effective is None or effective.containers is None:
            return None
        found = None
        for result in effective.containers.files:
            data = result.data if isinstance(result.data, dict) else {}
            for table in data.get("registry") or []:
                if not isinstance(table, dict) or (key is not None and key not in table):
                    continue
                named = str(table.get("prefix") or table.get("location") or "").rstrip("/")
                if named == prefix:
                    found = effective.paths.shown(result.file)
        return found

    def _registries_conf(self) -> dict[str, Any]:
        """registries.conf and its drop-ins merged (later files win per key and per
        ``[[registry]]`` prefix, as containers/image does)."""
        effective = self.effective
        if effective is None or effective.containers is None:
            return {}
        merged: dict[str, Any] = {}
        tables: dict[str, dict[str, Any]] = {}
        for result in effective.containers.files:
            data = result.data
            if not isinstance(data, dict):
                continue
            for key, value in data.items():
                if key == "registry" and isinstance(value, list):
                    for table in value:
                        if isinstance(table, dict):
                            prefix = str(table.get("prefix") or table.get("location") or "")
                            tables[prefix] = table
                else:
                    merged[key] = value
        if tables:
            merged["registry"] = list(tables.values())
        # short names as discovery merged and checked them (aliases per name)
        merged.update(effective.containers.short_name_settings())
        return merged


def _blocked_prefix(conf: Mapping[str, Any], image: str) -> str | None:
    """The ``[[registry]]`` prefix that blocks ``image``, if one does."""
    loaded, problems = model.load_registries_conf(conf)
    if problems:
        return None
    reg = model.find_registry(loaded, model.split_reference(image).name)
    return str(reg["prefix"]) if reg is not None and reg.get("blocked") else None


#: The repository a registry-only target is looked up with (prefix matching needs one).
_ANY_REPOSITORY = "regdoctor-any-repository"


def daemon_fix(config: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """The first registry entry of daemon.json that stops dockerd, and its correction
    (``""``: remove it), checked with the same model that found it."""
    for mirror in config.get("registry-mirrors") or []:
        if not isinstance(mirror, str) or model.validate_mirror(mirror)[1] is None:
            continue
        candidates = []
        if "://" not in mirror:
            candidates.append("https://" + mirror)
        scheme, _, rest = mirror.partition("://")
        if rest:
            candidates.append(f"{scheme}://{rest.split('/', 1)[0]}")
        good = next((c for c in candidates if model.validate_mirror(c)[1] is None), "")
        return "registry-mirrors", mirror, good
    for entry in config.get("insecure-registries") or []:
        if not isinstance(entry, str):
            continue
        if not [p for p in model.parse_insecure_registries([entry])[2] if p.fatal]:
            continue
        candidate = entry.split("://", 1)[-1].rstrip("/")
        ok = candidate and not [
            p for p in model.parse_insecure_registries([candidate])[2] if p.fatal
        ]
        return "insecure-registries", entry, candidate if ok else ""
    return None


def _cert_dirs(roots: Sequence[str], host: str) -> list[str]:
    """The certs.d directories of ``host`` below each root, in order: ``host:port``, and
    for port 443 the host alone."""
    names = dict.fromkeys([host, host.removesuffix(":443")])
    return [f"{root}/{name}" for root in roots for name in names]


def _index_name(target: Target) -> str:
    """The registry as runtimes name it: ``docker.io``, ``host:5000``, ``host``."""
    if dockerhub.is_hub(target.registry) and target.registry != dockerhub.API_HOST:
        return dockerhub.DOMAIN
    return target.registry


def short_name(target: Target) -> str | None:
    """The image as the user wrote it when that is a short name (:func:`_short_name`)."""
    return _short_name(target)


def _short_name(target: Target) -> str | None:
    """The image as the user wrote it when that is a short name (no registry part):
    ``team/app:1.2``, ``nginx``."""
    raw = target.raw.strip()
    if not target.repository or "://" in raw or target.mirror_of:
        return None
    return None if model.split_reference(raw).qualified else raw


def _ctr_reading(target: Target) -> tuple[str, str] | None:
    """How ctr reads a short name with a ``/``: it does not complete it to docker.io
    (containerd's reference.Parse), so the first component is the host: ``team/app:1.2``
    is host ``team``, repository ``app`` (measured: ``Head "https://team/v2/app/..."``).
    The CRI normalizes like docker (the kubelet passes docker.io/team/app)."""
    short = _short_name(target)
    if short is None or "/" not in short:
        return None
    ref = model.split_reference(short)
    host, _, repository = ref.path.partition("/")
    return host, repository


def _ctr_full_name(short: str) -> str:
    """The full name ctr pulls for a short name: docker.io (and library/ for one
    component), and a tag (ctr has no default tag: without one it refuses, "object
    required")."""
    ref = model.split_reference(short)
    suffix = (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")
    return f"{ref.domain}/{ref.path}{suffix or ':latest'}"


def _ctr_refuses(target: Target) -> Route | None:
    """ctr refuses a one-component short name before any request: containerd's
    reference.Parse reads it as ``dummy://NAME`` (reference/reference.go, v1.6.20), so
    ``nginx`` is a host without an object ("object required", remotes/docker/resolver.go
    Resolve) and in ``nginx:1.25`` or ``nginx@sha256:...`` what follows the colon is an
    invalid port (Go's url.Parse)."""
    short = _short_name(target)
    if short is None or "/" in short:
        return None
    host = short.split("@", 1)[1] if "@" in short else short
    if ":" in host:
        port = host.rsplit(":", 1)[1]
        stopped = (
            f'failed to resolve reference "{short}": '
            f'parse "dummy://{short}": invalid port ":{port}" after host'
        )
    else:
        stopped = f'failed to resolve reference "{short}": object required'
    full = _ctr_full_name(short)
    return Route(
        "containerd",
        stopped=stopped,
        fix=("ctr-short-name", short, full),
        short_name=short,
        full_name=full,
    )


def _qualified(name: str) -> str:
    first, sep, _rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"{dockerhub.DOMAIN}/{name}" if sep else name


def _same_host(host: str, target: Target) -> bool:
    """Whether an endpoint host (``host[:port]``) is the target's own."""
    if dockerhub.is_hub(target.registry):
        return host in (dockerhub.API_HOST, f"{dockerhub.API_HOST}:443")
    return host in (target.registry, target.hostport) or (
        host == target.host
        and target.port
        in (
            443,
            80,
        )
    )


def endpoint_is_target(endpoint: model.Endpoint, target: Target) -> bool:
    """Whether ``endpoint`` is the target's own host (not a mirror elsewhere)."""
    return _same_host(endpoint.host, target)


def _pinned(target: Target, runtime: str = "") -> model.Endpoint:
    scheme = target.scheme or "https"
    # podman's mirror with ``insecure = true`` (the mirror targets check adds): after a
    # failed https ping it goes on over http there, as for any insecure endpoint
    # (containers/image v5.23.1 detectPropertiesHelper); docker never retries a mirror
    # over http
    fallback = (
        scheme == "https"
        and target.insecure
        and target.mirror_of is not None
        and runtime == "podman"
        and target.runtime == "podman"
    )
    return model.Endpoint(
        url=f"{scheme}://{target.registry}/v2/",
        scheme=scheme,
        host=target.registry,
        path_prefix="/v2",
        mirror=False,
        skip_verify=target.insecure,
        source="the scheme given on the command line",
        http_fallback=fallback,
    )


def _insecure(endpoint: model.Endpoint) -> model.Endpoint:
    from dataclasses import replace

    return replace(endpoint, skip_verify=True, http_fallback=endpoint.scheme == "https")
