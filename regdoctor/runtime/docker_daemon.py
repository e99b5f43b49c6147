"""What stops dockerd from starting: ``daemon.json`` validated the way the daemon does it
(JSON syntax with Go's wording, unknown keys, keys given both as a flag and in the file,
and the registry settings), with the exact message dockerd prints."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import _gojson
from .common import Problem, Severity, at_least
from .docker import (
    DEFAULT_DAEMON_JSON,
    SRC_DAEMON_CONFIG,
    _start_failure,
    parse_insecure_registries,
    validate_mirror,
)

#: Keys dockerd 20.10 (linux) accepts in daemon.json: its long flag names plus the
#: names of "named" options, read from moby/moby v20.10.24 cmd/dockerd/config.go,
#: config_common_unix.go, config_unix.go, options.go, docker.go and opts/*.go Name().
DOCKERD_20_10_KEYS = frozenset(
    [
        "add-runtime",
        "allow-nondistributable-artifacts",
        "api-cors-header",
        "authorization-plugin",
        "authorization-plugins",
        "bip",
        "bridge",
        "cgroup-parent",
        "cluster-advertise",
        "cluster-store",
        "cluster-store-opt",
        "cluster-store-opts",
        "config-file",
        "containerd",
        "containerd-namespace",
        "containerd-plugins-namespace",
        "cpu-rt-period",
        "cpu-rt-runtime",
        "cri-containerd",
        "data-root",
        "debug",
        "default-address-pool",
        "default-address-pools",
        "default-cgroupns-mode",
        "default-gateway",
        "default-gateway-v6",
        "default-ipc-mode",
        "default-runtime",
        "default-shm-size",
        "default-ulimit",
        "default-ulimits",
        "dns",
        "dns-opt",
        "dns-opts",
        "dns-search",
        "exec-opt",
        "exec-opts",
        "exec-root",
        "experimental",
        "fixed-cidr",
        "fixed-cidr-v6",
        "graph",
        "group",
        "host",
        "host-gateway-ip",
        "hosts",
        "icc",
        "identity",
        "init",
        "init-path",
        "insecure-registry",
        "insecure-registries",
        "ip",
        "ip-forward",
        "ip-masq",
        "ip6tables",
        "iptables",
        "ipv6",
        "label",
        "labels",
        "live-restore",
        "log-driver",
        "log-level",
        "log-opt",
        "log-opts",
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "max-download-attempts",
        "metrics-addr",
        "mtu",
        "network-control-plane-mtu",
        "network-diagnostic-port",
        "no-new-privileges",
        "node-generic-resource",
        "node-generic-resources",
        "oom-score-adjust",
        "pidfile",
        "raw-logs",
        "registry-mirror",
        "registry-mirrors",
        "restart",
        "rootless",
        "runtimes",
        "seccomp-profile",
        "selinux-enabled",
        "shutdown-timeout",
        "storage-driver",
        "storage-opt",
        "storage-opts",
        "swarm-default-advertise-addr",
        "tls",
        "tlscacert",
        "tlscert",
        "tlskey",
        "tlsverify",
        "userland-proxy",
        "userland-proxy-path",
        "userns-remap",
        "version",
    ]
)
#: daemon/config/config.go flatOptions / skipValidateOptions / skipDuplicates (v20.10.24)
_FLAT = frozenset(
    {"cluster-store-opts", "log-opts", "runtimes", "default-ulimits", "features", "builder"}
)
_SKIP_UNKNOWN = frozenset({"features", "builder", "deprecated-key-path"})
_SKIP_DUP = frozenset({"runtimes"})
#: flag -> daemon.json name for NamedOption flags; shorthand -> flag (v20.10.24 cmd/dockerd)
_NAMED = {
    "host": "hosts",
    "registry-mirror": "registry-mirrors",
    "insecure-registry": "insecure-registries",
    "label": "labels",
    "storage-opt": "storage-opts",
    "exec-opt": "exec-opts",
    "dns-opt": "dns-opts",
    "log-opt": "log-opts",
    "authorization-plugin": "authorization-plugins",
    "allow-nondistributable-artifacts": "allow-nondistributable-artifacts",
    "default-ulimit": "default-ulimits",
    "add-runtime": "runtimes",
    "node-generic-resource": "node-generic-resources",
    "cluster-store-opt": "cluster-store-opts",
    "default-address-pool": "default-address-pools",
}
_SHORT = {
    "H": "host",
    "D": "debug",
    "l": "log-level",
    "G": "group",
    "b": "bridge",
    "g": "graph",
    "p": "pidfile",
    "s": "storage-driver",
    "r": "restart",
}
_LIST_KEYS = ("registry-mirrors", "insecure-registries", "allow-nondistributable-artifacts")


def go_value(v: Any) -> str:
    """Go's %v for a value decoded from JSON into interface{}."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "<nil>"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list):
        return "[" + " ".join(go_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_value(v[k])}" for k in sorted(v)) + "]"
    return str(v)


def _json_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def validate_daemon_json(
    obj: Mapping[str, Any] | str,
    version: str = "20.10",
    *,
    flags: Mapping[str, Any] | None = None,
    path: str = DEFAULT_DAEMON_JSON,
) -> list[Problem]:
    """Problems dockerd would report for this daemon.json, in the order it meets them.

    ``obj`` is the parsed object or the raw file text (then Go's JSON errors are
    reproduced). ``flags``: options given on dockerd's command line, e.g. Debian's
    unit passes ``{"host": ["fd://"], "containerd": "/run/containerd/containerd.sock"}``.
    dockerd stops at the first FATAL problem; later entries show what would fail next.

    Order (v20.10.24 cmd/dockerd/daemon.go loadDaemonCliConfig, daemon/config/config.go
    MergeDaemonConfigurations): JSON syntax -> unknown keys -> flag/file conflicts ->
    typed decode -> Validate() -> (at daemon start) registry options.
    """
    wrap = f"unable to configure the Docker daemon with file {path}: "
    problems: list[Problem] = []
    src = SRC_DAEMON_CONFIG + " getConflictFreeConfiguration"
    if isinstance(obj, str):
        err = _gojson.decode_error(obj)
        if err is not None:
            return [Problem("", wrap + err, Severity.FATAL, src)]
        data: Any = json.loads(obj[: _gojson.first_value_end(obj)])
        if not isinstance(data, dict) and data is not None:
            return [
                Problem(
                    "",
                    wrap + f"json: cannot unmarshal {_json_kind(data)} into Go value "
                    "of type map[string]interface {}",
                    Severity.FATAL,
                    src,
                )
            ]
        data = data or {}
    else:
        data = dict(obj)
    old = not at_least(version, (23,))
    # unknown keys (configValuesSet flattens nested objects not in flatOptions)
    flat: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict) and k not in _FLAT:
            flat.update(v)
        else:
            flat[k] = v
    if old:
        unknown = sorted(k for k in flat if k not in DOCKERD_20_10_KEYS and k not in _SKIP_UNKNOWN)
        if unknown:
            problems.append(
                Problem(
                    ",".join(unknown),
                    wrap
                    + "the following directives don't match any configuration option: "
                    + ", ".join(unknown),
                    Severity.FATAL,
                    src + " findConfigurationConflicts",
                    exact=len(unknown) == 1,
                )
            )  # Go prints map keys in random order
    conflicts = []
    for flag in sorted(flags or {}):
        name = _SHORT.get(flag.lstrip("-"), flag.lstrip("-"))
        fval = (flags or {})[flag]
        fstr = go_value(fval) if not isinstance(fval, str) else fval
        candidates = (
            [_NAMED[name]]
            if name in _NAMED
            else [name] + [s for s, f in _SHORT.items() if f == name]
        )
        for c in candidates:
            if c in flat and c not in _SKIP_DUP:
                conflicts.append(f"{c}: (from flag: {fstr}, from file: {go_value(flat[c])})")
                break
    if conflicts:
        problems.append(
            Problem(
                "flags",
                wrap + "the following directives are specified both as a flag and in the "
                "configuration file: " + ", ".join(conflicts),
                Severity.FATAL,
                src + " findConfigurationConflicts",
            )
        )
    for key in _LIST_KEYS:
        if key in data:
            v = data[key]
            if not isinstance(v, list) and v is not None:
                problems.append(
                    Problem(
                        key,
                        wrap + f"json: cannot unmarshal {_json_kind(v)} into "
                        f"Go struct field Config.{key} of type []string",
                        Severity.FATAL,
                        src + " (Go encoding/json UnmarshalTypeError wording)",
                    )
                )
            elif isinstance(v, list):
                bad = [x for x in v if not isinstance(x, str)]
                if bad:
                    problems.append(
                        Problem(
                            key,
                            wrap + f"json: cannot unmarshal "
                            f"{_json_kind(bad[0])} into Go struct field Config.{key} of "
                            "type string",
                            Severity.FATAL,
                            src + " (Go encoding/json UnmarshalTypeError wording)",
                        )
                    )
    if data.get("graph") and data.get("data-root"):
        problems.append(
            Problem(
                "graph",
                wrap + 'cannot specify both "graph" and "data-root" config file options',
                Severity.FATAL,
                src,
            )
        )
    mda = data.get("max-download-attempts")
    if isinstance(mda, (int, float)) and not isinstance(mda, bool) and mda <= 0:
        problems.append(
            Problem(
                "max-download-attempts",
                wrap + "configuration validation from "
                f"file failed: invalid max download attempts: {int(mda)}",
                Severity.FATAL,
                SRC_DAEMON_CONFIG + " Validate",
            )
        )
    mcd = data.get("max-concurrent-downloads")
    if isinstance(mcd, (int, float)) and not isinstance(mcd, bool) and mcd < 0:
        problems.append(
            Problem(
                "max-concurrent-downloads",
                wrap + "configuration validation "
                f"from file failed: invalid max concurrent downloads: {int(mcd)}",
                Severity.FATAL,
                SRC_DAEMON_CONFIG + " Validate",
            )
        )
    problems.extend(_registry_problems(data, version, wrap))
    return problems


def _registry_problems(data: Mapping[str, Any], version: str, wrap: str) -> list[Problem]:
    """registry.NewService at daemon start (v20.10.24 newServiceConfig order:
    allow-nondistributable-artifacts, registry-mirrors, insecure-registries)."""
    out: list[Problem] = []
    mirrors = data.get("registry-mirrors")
    if isinstance(mirrors, list):
        for m in mirrors:
            if not isinstance(m, str):
                continue
            _, err = validate_mirror(m, version)
            if err is None:
                continue
            if at_least(version, (28, 3)):
                # v28.3.0+: daemon/config/config.go Validate checks mirrors while loading
                # the file; wrapped by MergeDaemonConfigurations (v28.5.2 wording).
                out.append(
                    Problem(
                        "registry-mirrors",
                        wrap + "merged configuration validation "
                        "from file and command line flags failed: " + err,
                        Severity.FATAL,
                        "moby/moby v28.5.2: daemon/config/config.go "
                        "Validate, MergeDaemonConfigurations",
                        exact=False,
                    )
                )
            else:
                out.append(_start_failure("registry-mirrors", err, version))
            break
    insecure = data.get("insecure-registries")
    if isinstance(insecure, list):
        _, _, problems = parse_insecure_registries(
            [x for x in insecure if isinstance(x, str)], version
        )
        out.extend(problems)
    return out


