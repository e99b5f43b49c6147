"""Issue #13, judgement: a 200 to a manifest request that no runtime can use (a web
page, megabytes of garbage, an endless body, JSON of another shape) is an error
finding, not a healthy image; so is an endless ``/v2/`` answer.

Each case runs ``regdoctor check`` (JSON and plain at once, see ``survive``) against a
registry that is ``registry_ok`` (a valid Docker v2 schema 2 manifest) except for the
manifest answer.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.hardening.test_hostile_registry import image, survive
from tests.harness import hostile
from tests.harness.hostile import REGISTRY_HEADERS, Conn, RawRequest

MANIFESTS = "/v2/team/app/manifests/"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _manifest_answer(handler: hostile.Handler) -> hostile.Handler:
    return hostile.on_path({MANIFESTS: handler})


def _invalid(serve, handler: hostile.Handler, problem: str) -> dict:  # type: ignore[no-untyped-def]
    server = serve(_manifest_answer(handler))
    runs = survive([image(server)], code=2, rule="image-manifest-invalid")
    assert "image.manifest_invalid" in runs[0].categories
    manifest = runs[0].observation("image.manifest")
    assert manifest["ok"] is False
    assert manifest["facts"]["outcome"] == "invalid"
    assert manifest["facts"]["body_problem"] == problem, manifest
    assert "image-manifest-invalid" in runs[1].stdout
    return manifest


def test_the_baseline_registry_serves_a_valid_manifest(serve) -> None:  # type: ignore[no-untyped-def]
    runs = survive([image(serve(hostile.registry_ok))], code=0)
    facts = runs[0].observation("image.manifest")["facts"]
    assert facts["outcome"] == "found"
    assert facts["manifest_kind"] == "docker.manifest" and facts["body_problem"] is None
    assert [f for f in runs[0].findings if f["severity"] == "error"] == []


def test_an_html_page_is_not_a_manifest(serve) -> None:  # type: ignore[no-untyped-def]
    page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>SSO</body></html>"
    manifest = _invalid(
        serve, hostile.body(200, page, {"Content-Type": "text/html; charset=utf-8"}), "html"
    )
    assert "web page" in manifest["error"]


def test_html_with_a_manifest_content_type(serve) -> None:  # type: ignore[no-untyped-def]
    page = b"\n  <html><body>502 Bad Gateway</body></html>"
    _invalid(serve, hostile.body(200, page, {"Content-Type": hostile.MANIFEST_TYPE}), "html")


def test_five_mebibytes_of_garbage(serve) -> None:  # type: ignore[no-untyped-def]
    garbage = os.urandom(5 * 1024 * 1024)
    manifest = _invalid(
        serve, hostile.body(200, garbage, {"Content-Type": hostile.MANIFEST_TYPE}), "too_large"
    )
    assert "4096 KiB" in manifest["error"]


def test_garbage_under_the_cap(serve) -> None:  # type: ignore[no-untyped-def]
    garbage = bytes(range(256)) * 256  # 64 KiB, not UTF-8, not JSON
    _invalid(serve, hostile.body(200, garbage, {"Content-Type": "application/json"}), "not_json")


def test_an_endless_manifest_body(serve) -> None:  # type: ignore[no-untyped-def]
    def endless(conn: Conn, request: RawRequest) -> None:
        head = (
            b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: registry/2.0\r\n"
            b"Content-Type: " + hostile.MANIFEST_TYPE.encode() + b"\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        if not conn.send(head) or request.method == "HEAD":
            # a HEAD gets the head only (a body after it would be read as the answer to
            # the next request on the connection, or make it unusable: a race)
            return
        chunk = b"10000\r\n" + b'{"schemaVersion": 2' + b" " * (0x10000 - 19) + b"\r\n"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and conn.send(chunk):
            pass

    _invalid(serve, endless, "too_large")


def test_json_that_is_not_a_manifest(serve) -> None:  # type: ignore[no-untyped-def]
    """``{}`` (what a registry answers for /v2/) where a manifest should be."""
    _invalid(
        serve, hostile.body(200, b"{}", {"Content-Type": "application/json"}), "schema_version"
    )


def test_content_type_and_manifest_disagree(serve) -> None:  # type: ignore[no-untyped-def]
    """An index by its Content-Type, an image manifest by its body."""
    manifest = _invalid(
        serve,
        hostile.body(200, hostile.MANIFEST, {"Content-Type": OCI_INDEX}),
        "media_type_mismatch",
    )
    assert OCI_INDEX in manifest["error"]


@pytest.mark.parametrize(
    ("content_type", "document"),
    [
        pytest.param(
            OCI_INDEX,
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{"digest": "sha256:x"}]},
            id="index-entry-without-size",
        ),
        pytest.param(
            hostile.MANIFEST_TYPE,
            {"schemaVersion": 2, "mediaType": hostile.MANIFEST_TYPE, "config": {}},
            id="manifest-without-layers",
        ),
    ],
)
def test_a_manifest_of_the_wrong_shape(serve, content_type: str, document: dict) -> None:  # type: ignore[no-untyped-def]
    data = json.dumps(document).encode()
    _invalid(serve, hostile.body(200, data, {"Content-Type": content_type}), "shape")


def test_a_manifest_head_with_html_gets_looked_at(serve) -> None:  # type: ignore[no-untyped-def]
    """HEAD answers 200 text/html with a digest: the body is fetched and judged, not
    taken for a manifest on the strength of the headers."""
    page = b"<html>maintenance</html>"
    headers = {"Content-Type": "text/html", "Docker-Content-Digest": "sha256:" + "1" * 64}
    manifest = _invalid(serve, hostile.body(200, page, headers), "html")
    assert manifest["facts"]["digest"] is None  # a page's digest header names no image


def test_schema1_signed_manifest_is_recognised(serve) -> None:  # type: ignore[no-untyped-def]
    document = {
        "schemaVersion": 1,
        "name": "team/app",
        "tag": "1",
        "architecture": "amd64",
        "fsLayers": [{"blobSum": "sha256:" + "a" * 64}],
        "history": [{"v1Compatibility": "{}"}],
        "signatures": [{"header": {"alg": "ES256"}, "signature": "x", "protected": "y"}],
    }
    content_type = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    server = serve(
        _manifest_answer(
            hostile.body(200, json.dumps(document).encode(), {"Content-Type": content_type})
        )
    )
    runs = survive([image(server)], code=None)
    facts = runs[0].observation("image.manifest")["facts"]
    assert facts["outcome"] == "found" and facts["manifest_kind"] == "docker.schema1"
    assert "image-manifest-invalid" not in runs[0].rules
    assert REGISTRY_HEADERS  # the registry's own headers on every other answer
