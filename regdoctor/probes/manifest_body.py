"""Is a manifest answer something a runtime can use? A pure function over what the
registry sent (the ``Content-Type`` and the body as read, with the read cap): no I/O.

A registry, or whatever answers in its place (a login page, a CDN error, a reverse
proxy routing /v2/ to a web app), may send a 200 that is not a manifest. docker,
containerd and podman then fail with ``invalid character '<' looking for beginning of
value``, ``mediaType in manifest should be ...`` or ``unexpected media type``; the
doctor says so before they do.

Recognised, as the runtimes read them (distribution's ``manifest/*``, containerd's
``images/mediatypes.go``, the OCI image-spec):

- Docker image manifest v2 schema 2 and manifest list,
- OCI image manifest and image index,
- Docker v2 schema 1 (signed or not): recognised as such (``docker.schema1``); docker
  20.10 still pulls it with a deprecation warning, newer clients refuse it.

The body must be JSON (UTF-8, an object, at most ``limit`` bytes: distribution's own
manifest cap is 4 MiB), carry ``schemaVersion`` 2 (or 1), a ``mediaType`` that agrees
with the ``Content-Type`` when both name a manifest type, and the shape of its type
(config + layers, or manifests), each descriptor with a digest and a size (what the
runtimes need to fetch it).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

#: The kind of document each media type names.
KINDS: dict[str, str] = {
    OCI_INDEX: "oci.index",
    OCI_MANIFEST: "oci.manifest",
    DOCKER_LIST: "docker.list",
    DOCKER_MANIFEST: "docker.manifest",
    DOCKER_SCHEMA1: "docker.schema1",
    DOCKER_SCHEMA1_SIGNED: "docker.schema1",
}
MANIFEST_TYPES = frozenset(KINDS)
#: distribution refuses a manifest body over 4 MiB (``maxManifestBodySize``).
DEFAULT_LIMIT = 4 * 1024 * 1024
#: Descriptors looked at per list (a manifest with 100,000 layers is still looked at
#: in bounded time; the count is what it is).
MAX_DESCRIPTORS = 1000


#: ``algorithm:encoded`` (the OCI image-spec digest grammar).
@functools.cache
def _digest() -> re.Pattern[str]:
    return re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


@dataclass(frozen=True, eq=False)
class ManifestCheck:
    """``valid`` or the ``problem`` (a stable code) and a one-line ``detail``."""

    valid: bool
    kind: str | None = None  # oci.index, oci.manifest, docker.list, docker.manifest, docker.schema1
    problem: str | None = (
        None  # too_large, html, not_json, not_object, schema_version, media_type_mismatch, shape
    )
    detail: str | None = None
    document: Any = None

    @property
    def is_index(self) -> bool:
        return self.kind in ("oci.index", "docker.list")


def _invalid(problem: str, detail: str, document: Any = None) -> ManifestCheck:
    return ManifestCheck(False, problem=problem, detail=detail, document=document)


def media_type_of(content_type: str | None) -> str | None:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    value = (content_type or "").split(";")[0].strip().lower()
    return value or None


def manifest_kind(outcome: str, content_type: str | None) -> str | None:
    """The kind a found manifest's ``Content-Type`` names (when only HEAD was made)."""
    return KINDS.get(media_type_of(content_type) or "") if outcome == "found" else None


def validate(
    content_type: str | None,
    body: bytes,
    *,
    truncated: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> ManifestCheck:
    """Judge a manifest answer. ``truncated``: reading stopped at the cap (more came)."""
    header_type = media_type_of(content_type)
    if truncated or len(body) > limit:
        return _invalid(
            "too_large",
            f"the manifest answer is larger than {limit // 1024} KiB (a registry caps "
            "manifests at 4 MiB): stopped reading",
        )
    head = body.lstrip()[:64].lower()
    if header_type in ("text/html", "application/xhtml+xml") or head.startswith(
        (b"<!doctype", b"<html", b"<?xml", b"<")
    ):
        return _invalid(
            "html",
            f"the manifest answer is a web page ({header_type or 'no Content-Type'}), "
            "not a manifest: invalid character '<' looking for beginning of value",
        )
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _invalid(
            "not_json",
            f"the manifest answer ({len(body)} bytes, {header_type or 'no Content-Type'}) "
            "is not JSON",
        )
    if not isinstance(document, dict):
        return _invalid(
            "not_object", f"the manifest answer is JSON but not an object ({_type(document)})"
        )
    return _judge(header_type, document)


def _judge(header_type: str | None, document: dict[str, Any]) -> ManifestCheck:
    version = document.get("schemaVersion")
    body_type = document.get("mediaType")
    if body_type is not None and not isinstance(body_type, str):
        return _invalid("shape", "mediaType is not a string", document)
    if version == 1 and not isinstance(version, bool):
        return _schema1(header_type, document)
    if version != 2 or isinstance(version, bool):
        return _invalid(
            "schema_version",
            f"schemaVersion is {_shown(version)}, not 2: this is not an image manifest",
            document,
        )
    header_kind = KINDS.get(header_type or "")
    body_kind = KINDS.get(body_type or "")
    if body_type is not None and body_kind is None:
        return _invalid(
            "media_type_mismatch", f"unknown manifest mediaType {_shown(body_type)}", document
        )
    if header_kind is not None and body_type is not None and body_type != header_type:
        return _invalid(
            "media_type_mismatch",
            f"Content-Type is {header_type} but the manifest says mediaType {_shown(body_type)}",
            document,
        )
    kind = header_kind or body_kind or _kind_by_shape(document)
    if kind is None or kind == "docker.schema1":
        return _invalid(
            "shape",
            "neither an image manifest (config + layers) nor an index (manifests)",
            document,
        )
    if kind == "docker.manifest" and body_type != DOCKER_MANIFEST:
        # distribution's schema2 unmarshaller insists on the mediaType field.
        return _invalid(
            "media_type_mismatch",
            f"mediaType in manifest should be {DOCKER_MANIFEST!r} not {_shown(body_type)}",
            document,
        )
    if kind == "docker.list" and body_type != DOCKER_LIST:
        return _invalid(
            "media_type_mismatch",
            f"mediaType in manifest list should be {DOCKER_LIST!r} not {_shown(body_type)}",
            document,
        )
    problem = _index_shape(document) if kind in ("oci.index", "docker.list") else None
    if kind in ("oci.manifest", "docker.manifest"):
        problem = _manifest_shape(document)
    if problem is not None:
        return _invalid("shape", problem, document)
    return ManifestCheck(True, kind=kind, document=document)


def _schema1(header_type: str | None, document: dict[str, Any]) -> ManifestCheck:
    if KINDS.get(header_type or "") not in (None, "docker.schema1"):
        return _invalid(
            "media_type_mismatch",
            f"Content-Type is {header_type} but the body is a schema 1 manifest",
            document,
        )
    layers = document.get("fsLayers")
    if not isinstance(document.get("name"), str) or not isinstance(layers, list):
        return _invalid("shape", "a schema 1 manifest without name or fsLayers", document)
    for entry in layers[:MAX_DESCRIPTORS]:
        if not isinstance(entry, dict) or not _is_digest(entry.get("blobSum")):
            return _invalid("shape", "a schema 1 fsLayers entry without a valid blobSum", document)
    return ManifestCheck(True, kind="docker.schema1", document=document)


def _kind_by_shape(document: dict[str, Any]) -> str | None:
    """No manifest media type anywhere (``application/json``, OCI's optional field)."""
    if isinstance(document.get("manifests"), list):
        return "oci.index"
    if "config" in document or "layers" in document:
        return "oci.manifest"
    return None


def _manifest_shape(document: dict[str, Any]) -> str | None:
    problem = _descriptor(document.get("config"), "config")
    if problem is not None:
        return problem
    layers = document.get("layers")
    if not isinstance(layers, list):
        return "layers is missing or not a list"
    for number, layer in enumerate(layers[:MAX_DESCRIPTORS]):
        problem = _descriptor(layer, f"layers[{number}]")
        if problem is not None:
            return problem
    return None


def _index_shape(document: dict[str, Any]) -> str | None:
    manifests = document.get("manifests")
    if not isinstance(manifests, list):
        return "manifests is missing or not a list"
    for number, entry in enumerate(manifests[:MAX_DESCRIPTORS]):
        problem = _descriptor(entry, f"manifests[{number}]")
        if problem is not None:
            return problem
        platform = entry.get("platform")
        if platform is not None and not isinstance(platform, dict):
            return f"manifests[{number}].platform is not an object"
    return None


def _descriptor(value: Any, where: str) -> str | None:
    if not isinstance(value, dict):
        return f"{where} is missing or not an object"
    # The OCI spec requires a mediaType on every descriptor, but the runtimes fetch a
    # descriptor without one: only a present, non-string one is refused.
    if value.get("mediaType") is not None and not isinstance(value["mediaType"], str):
        return f"{where}.mediaType is not a string"
    if not _is_digest(value.get("digest")):
        return f"{where}.digest is missing or not a digest: {_shown(value.get('digest'))}"
    size = value.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return f"{where}.size is missing or not a size: {_shown(size)}"
    return None


def _is_digest(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 256 and _digest().match(value) is not None


def _type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _shown(value: Any) -> str:
    """A server's value in a message: short (escaping happens at output)."""
    text = json.dumps(value, default=str)[:80] if not isinstance(value, str) else value[:80]
    return repr(text) if isinstance(value, str) else text
