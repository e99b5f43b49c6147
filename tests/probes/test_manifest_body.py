"""The manifest validator (a pure function): what runtimes accept and what they refuse."""

from __future__ import annotations

import json

import pytest

from regdoctor.probes import manifest_body as mb

DIGEST = "sha256:" + "a" * 64
DESCRIPTOR = {"mediaType": "application/octet-stream", "digest": DIGEST, "size": 1}
DOCKER = {
    "schemaVersion": 2,
    "mediaType": mb.DOCKER_MANIFEST,
    "config": DESCRIPTOR,
    "layers": [DESCRIPTOR],
}
OCI = {"schemaVersion": 2, "config": DESCRIPTOR, "layers": []}
INDEX = {
    "schemaVersion": 2,
    "mediaType": mb.OCI_INDEX,
    "manifests": [{**DESCRIPTOR, "platform": {"os": "linux", "architecture": "amd64"}}],
}
LIST = {**INDEX, "mediaType": mb.DOCKER_LIST}


def check(content_type: str | None, document: object, **kwargs: object) -> mb.ManifestCheck:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return mb.validate(content_type, body, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content_type", "document", "kind"),
    [
        (mb.DOCKER_MANIFEST, DOCKER, "docker.manifest"),
        (mb.DOCKER_MANIFEST + "; charset=utf-8", DOCKER, "docker.manifest"),
        (mb.OCI_MANIFEST, OCI, "oci.manifest"),
        ("application/json", OCI, "oci.manifest"),  # shape decides when nothing names it
        (None, {**OCI, "mediaType": mb.OCI_MANIFEST}, "oci.manifest"),
        (mb.OCI_INDEX, INDEX, "oci.index"),
        (mb.OCI_INDEX, {**INDEX, "mediaType": None}, "oci.index"),
        (mb.DOCKER_LIST, LIST, "docker.list"),
        ("application/json", LIST, "docker.list"),
        (
            mb.DOCKER_SCHEMA1_SIGNED,
            {
                "schemaVersion": 1,
                "name": "a/b",
                "fsLayers": [{"blobSum": DIGEST}],
                "signatures": [],
            },
            "docker.schema1",
        ),
    ],
)
def test_valid(content_type: str | None, document: object, kind: str) -> None:
    result = check(content_type, document)
    assert result.valid and result.kind == kind and result.problem is None, result


@pytest.mark.parametrize(
    ("content_type", "body", "problem"),
    [
        ("text/html", b"<html></html>", "html"),
        (mb.DOCKER_MANIFEST, b"  <!DOCTYPE html>", "html"),
        (mb.DOCKER_MANIFEST, b"\xff\xfe garbage", "not_json"),
        (mb.DOCKER_MANIFEST, b'{"schemaVersion": 2,', "not_json"),
        (mb.DOCKER_MANIFEST, b"[" * 100_000 + b"]" * 100_000, "not_json"),
        ("application/json", b"[]", "not_object"),
        ("application/json", b"{}", "schema_version"),
        ("application/json", b'{"schemaVersion": true}', "schema_version"),
        ("application/json", b'{"schemaVersion": "2"}', "schema_version"),
        (mb.OCI_INDEX, json.dumps(DOCKER).encode(), "media_type_mismatch"),
        (mb.DOCKER_MANIFEST, json.dumps(OCI).encode(), "media_type_mismatch"),  # no mediaType
        (mb.DOCKER_LIST, json.dumps({**INDEX, "mediaType": None}).encode(), "media_type_mismatch"),
        (
            "application/json",
            json.dumps({**OCI, "mediaType": "text/plain"}).encode(),
            "media_type_mismatch",
        ),
        (mb.OCI_MANIFEST, json.dumps({"schemaVersion": 2}).encode(), "shape"),
        (mb.OCI_MANIFEST, json.dumps({**OCI, "layers": {}}).encode(), "shape"),
        (
            mb.OCI_MANIFEST,
            json.dumps({**OCI, "config": {**DESCRIPTOR, "size": -1}}).encode(),
            "shape",
        ),
        (
            mb.OCI_MANIFEST,
            json.dumps({**OCI, "config": {**DESCRIPTOR, "size": True}}).encode(),
            "shape",
        ),
        (
            mb.OCI_MANIFEST,
            json.dumps({**OCI, "layers": [{**DESCRIPTOR, "digest": "x"}]}).encode(),
            "shape",
        ),
        (mb.OCI_INDEX, json.dumps({**INDEX, "manifests": [1]}).encode(), "shape"),
        (
            mb.OCI_INDEX,
            json.dumps({**INDEX, "manifests": [{**DESCRIPTOR, "platform": "x"}]}).encode(),
            "shape",
        ),
        ("application/json", json.dumps({"schemaVersion": 2, "name": "x"}).encode(), "shape"),
        (mb.DOCKER_SCHEMA1, json.dumps({"schemaVersion": 1, "name": "a"}).encode(), "shape"),
        (
            mb.OCI_INDEX,
            json.dumps({"schemaVersion": 1, "name": "a", "fsLayers": []}).encode(),
            "media_type_mismatch",
        ),
    ],
)
def test_invalid(content_type: str, body: bytes, problem: str) -> None:
    result = mb.validate(content_type, body)
    assert not result.valid and result.problem == problem, result
    assert result.detail


def test_size_cap() -> None:
    body = json.dumps({**DOCKER, "pad": "x" * 2000}).encode()
    assert mb.validate(mb.DOCKER_MANIFEST, body).valid
    assert mb.validate(mb.DOCKER_MANIFEST, body, limit=1000).problem == "too_large"
    assert mb.validate(mb.DOCKER_MANIFEST, body[:10], truncated=True).problem == "too_large"


def test_many_layers_are_looked_at_in_bounded_time() -> None:
    document = {**DOCKER, "layers": [DESCRIPTOR] * 200_000}
    assert mb.validate(mb.DOCKER_MANIFEST, json.dumps(document).encode(), limit=1 << 30).valid


def test_manifest_kind_from_the_content_type() -> None:
    assert mb.manifest_kind("found", mb.OCI_INDEX + "; x=y") == "oci.index"
    assert mb.manifest_kind("found", "text/html") is None
    assert mb.manifest_kind("manifest_unknown", mb.OCI_INDEX) is None
