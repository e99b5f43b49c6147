"""The registries.conf drop-in that makes podman reach one endpoint over plain HTTP.

podman uses, for an image, the ``[[registry]]`` table with the longest matching prefix
(containers/image v5.23.1 pkg/sysregistriesv2 ``findRegistryWithParsedConfig``; a
wildcard ``*.example.test`` counts its own length), and a mirror's ``insecure`` is the
mirror's own (``[[registry.mirror]] insecure``), never its table's. A drop-in read after
the files that define that table replaces the whole table of its prefix
(``updateWithConfigurationFrom``), so the drop-in carries the table as podman has it,
with ``insecure = true`` where the failing endpoint is: on the table (and on every other
table of the same location, which containers/image refuses to see with conflicting
``insecure``), or on the one mirror. A wildcard's own table is replaced by one for the
host alone when that prefix is longer (it then wins for this host only).

regdoctor has read and merged the files already, so the fix needs no TOML parser on
the node (``tomllib`` is Python 3.11+; RHEL 8 has 3.6): the drop-in is one line of TOML,
``registry = [{...}]`` (an array of inline tables is the same as ``[[registry]]``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regdoctor.runtime import podman as model
from regdoctor.runtime.common import split_reference

if TYPE_CHECKING:
    from regdoctor.discovery.effective import Effective

__all__ = ["host_table_dropin", "insecure_dropin", "toml_line"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    # a TOML basic string: JSON's escapes (\" \\ \n \uXXXX...) are TOML's; not ASCII
    # only, whose surrogate pairs for a character beyond U+FFFF TOML refuses
    return json.dumps(str(value), ensure_ascii=False)


def _key(key: Any) -> str:
    text = str(key)
    return text if _BARE_KEY.match(text) else json.dumps(text, ensure_ascii=False)


def toml_line(tables: list[dict[str, Any]]) -> str:
    """``registry = [{...}, ...]``: the tables on one line of TOML."""
    return "registry = " + _value(tables)


def _normal(text: str) -> str:
    """A prefix as containers/image keys it (parseLocation: a trailing "/" trimmed)."""
    return text.rstrip("/")


def _host(location: str) -> str:
    return location.split("/", 1)[0]


def insecure_dropin(
    effective: Effective | None, image: str, host: str, plain: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Facts for the podman insecure fix of ``host`` (an endpoint podman tries for the
    fully qualified ``image``): ``podman_dropin`` (the one line), ``podman_dropin_file``
    and ``podman_dropin_sudo`` (the file is below /etc), ``podman_dropin_table`` (the
    prefix of the table podman uses, "" for none) and ``podman_dropin_mirror`` (the
    mirror made insecure, or None). Empty when the files were not read or do not load.

    The table's other endpoints in ``plain`` (hosts that answer https:// in plain HTTP)
    get ``insecure`` too: the fix of each endpoint of one table is a drop-in for that
    table, of the same name, so each writes them all (two fixes, one for the mirror and
    one for the location, each with only its own, undid each other: the second one
    run replaced the first one's table)."""
    if effective is None or effective.containers is None:
        return {}
    from regdoctor.discovery.registries_conf import dropin_dirs

    paths = effective.paths
    merged: dict[str, tuple[dict[str, Any], Path]] = {}
    for result in effective.containers.files:
        if result.source != "registries_conf" or not isinstance(result.data, dict):
            continue
        tables = result.data.get("registry")
        for table in tables if isinstance(tables, list) else []:
            if isinstance(table, dict):
                key = _normal(str(table.get("prefix") or table.get("location") or ""))
                merged[key] = (table, Path(result.file))
    loaded, problems = model.load_registries_conf({"registry": [t for t, _ in merged.values()]})
    if problems:
        return {}
    name = split_reference(image).name
    found = model.find_registry(loaded, name)
    written: list[tuple[dict[str, Any], Path | None]] = []
    mirror = None
    hosts = {host, *plain}
    if found is None:
        written.append(({"location": host, "insecure": True}, None))
        table_prefix = ""
    else:
        raw, read_from = merged[found["prefix"]]
        source: Path | None = read_from
        table_prefix = found["prefix"]
        copy = dict(raw)
        location = found["location"] or _host(name)
        mirror_hosts = [_host(m["location"]) for m in found["mirror"]]
        if host not in mirror_hosts and _host(location) != host:
            return {}
        if any(h in hosts for h in mirror_hosts):
            mirrors = [dict(m) for m in raw.get("mirror") or []]
            for index, mirror_host in enumerate(mirror_hosts):
                if mirror_host in hosts:
                    mirrors[index]["insecure"] = True
                if mirror_host == host and mirror is None:
                    mirror = found["mirror"][index]["location"]
            copy["mirror"] = mirrors
        if _host(location) in hosts:
            loc_host = _host(location)
            copy["insecure"] = True
            if found["prefix"].startswith("*.") and len(loc_host) > len(found["prefix"]):
                # a table for the host alone is the longer prefix: the wildcard's other
                # hosts keep theirs. It goes to the wildcard's folder, as the rewrite
                # fix's table for the host does (host_table_dropin): in two folders, the
                # one podman reads last (the user's) would replace the other's table
                copy["prefix"], copy["location"] = loc_host, loc_host
            written.append((copy, source))
            own = found["location"] or found["prefix"]
            for other in loaded.get("registry") or []:
                if other is found or (other["location"] or other["prefix"]) != own:
                    continue
                if not other.get("insecure"):
                    # containers/image refuses one location with conflicting insecure
                    raw_other, other_source = merged[other["prefix"]]
                    written.append(({**raw_other, "insecure": True}, other_source))
        else:
            written.append((copy, source))
    dirs = dropin_dirs(paths)
    out = dirs[0]
    for _table, source in written:
        if source is not None and source.parent in dirs[1:]:
            out = source.parent
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", table_prefix or host).strip("-") or "registry"
    # the drop-ins discovery read in that folder (none is read here again)
    beside = [
        Path(result.file).name
        for result in effective.containers.files
        if result.source == "registries_conf" and Path(result.file).parent == out
    ]
    shown = paths.shown(out / _last_name(beside, f"zz-regdoctor-insecure-{label}.conf"))
    return {
        "podman_dropin": toml_line([t for t, _ in written]),
        "podman_dropin_file": shown,
        "podman_dropin_dir": str(Path(shown).parent),
        "podman_dropin_sudo": not shown.startswith(paths.shown(paths.home()) + "/"),
        "podman_dropin_table": table_prefix,
        "podman_dropin_mirror": mirror,
    }


def _last_name(beside: list[str], name: str) -> str:
    """``name``, with as many more ``z`` in front as it takes to sort after every other
    drop-in of its folder (``beside``): containers/image reads a folder's ``*.conf`` in
    lexical order and a later file's table replaces an earlier one's of the same prefix
    (sysregistriesv2 ``getConfigPath``, ``updateWithConfigurationFrom``), so a
    ``zzz-site.conf`` that defines the table would undo the fix."""
    ours = re.compile("z*" + re.escape(name))  # this fix's file, from an earlier run
    others = [other for other in beside if not ours.fullmatch(other)]
    while any(other >= name for other in others):
        name = "z" + name
    return name


def host_table_dropin(
    effective: Effective | None, image: str, prefix: str, plain: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Facts for the fix of a wildcard table (``prefix`` ``*.example.test``) whose
    endpoints containers/image cannot rewrite for ``image`` (a name with a port:
    ``rewriteReference`` keeps ``:5000/...`` after the wildcard's match and puts it after
    each location, so a mirror with a port of its own becomes ``mirror.test:5000:5000/...``
    and the whole pull stops). The fix is a table for the image's ``host:port`` alone, a
    longer prefix that wins for it (``findRegistryWithParsedConfig``), with the wildcard's
    keys and mirrors: then only ``/team/app...`` follows each location. Its location is
    what the wildcard's gave (``location:port``, or the host itself). ``podman_host_table``
    (one line of TOML), ``podman_host_table_file``, ``podman_host_table_dir``,
    ``podman_host_table_sudo`` ("1" or ""); empty when the files were not read.

    Each of its endpoints (the location, a mirror) whose host is in ``plain`` (it
    answered https:// in plain HTTP) gets ``insecure = true`` in this table: it is the
    longer prefix, so an insecure drop-in for the wildcard's table never applies to this
    host (the mirror was tried over https, "server gave HTTP response to HTTPS client")."""
    if effective is None or effective.containers is None:
        return {}
    from regdoctor.discovery.registries_conf import dropin_dirs

    paths = effective.paths
    raw: dict[str, Any] | None = None
    source: Path | None = None
    for result in effective.containers.files:
        if result.source != "registries_conf" or not isinstance(result.data, dict):
            continue
        tables = result.data.get("registry")
        for table in tables if isinstance(tables, list) else []:
            if isinstance(table, dict) and _normal(str(table.get("prefix") or "")) == prefix:
                raw, source = table, Path(result.file)
    if raw is None:
        return {}
    host = split_reference(image).domain
    _name, colon, port = host.rpartition(":")
    copy = dict(raw)
    location = _normal(str(raw.get("location") or ""))
    if location and colon and ":" not in location and "/" not in location:
        location = f"{location}:{port}"
    copy["prefix"], copy["location"] = host, location or host
    if _host(copy["location"]) in plain:
        copy["insecure"] = True
    mirrors = [dict(m) for m in raw.get("mirror") or [] if isinstance(m, dict)]
    for mirror in mirrors:
        if _host(str(mirror.get("location") or "")) in plain:
            mirror["insecure"] = True
    if mirrors:
        copy["mirror"] = mirrors
    dirs = dropin_dirs(paths)
    out = source.parent if source is not None and source.parent in dirs[1:] else dirs[0]
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", host).strip("-") or "registry"
    # before zz-regdoctor-insecure-*: that fix's table for the host keeps these keys
    shown = paths.shown(out / f"zz-regdoctor-host-{label}.conf")
    return {
        "podman_host_table": toml_line([copy]),
        "podman_host_table_file": shown,
        "podman_host_table_dir": str(Path(shown).parent),
        "podman_host_table_sudo": "" if shown.startswith(paths.shown(paths.home()) + "/") else "1",
    }
