"""Test images, pushed with the plain registry API (no docker, no skopeo needed).

Bytes are deterministic (fixed tar and gzip mtimes, sorted JSON), so digests are the
same in every session and can be compared across registries. All registry variants
share one storage root, so pushing once through the plain registry is enough.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any

import httpx

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

_CREATED = "2024-01-01T00:00:00Z"


@dataclass(frozen=True)
class PushedImage:
    """One tag as pushed: what a test needs to ask for it and check the answer."""

    repository: str
    tag: str
    digest: str
    """Digest of the manifest (or index) the tag points at."""
    media_type: str
    size: int
    platforms: dict[str, str] = field(default_factory=dict)
    """For an index: ``"linux/amd64"`` -> the platform manifest's digest."""

    def ref(self, hostport: str) -> str:
        """``HOST:PORT/repository:tag``, e.g. for ``skopeo inspect docker://...``."""
        return f"{hostport}/{self.repository}:{self.tag}"

    def digest_ref(self, hostport: str) -> str:
        return f"{hostport}/{self.repository}@{self.digest}"


@dataclass(frozen=True)
class TestImages:
    """The images every session pushes."""

    __test__ = False  # not a pytest test class despite the name

    app: PushedImage
    """``team/app:1.2``: one layer, docker v2 schema2."""
    multi: PushedImage
    """``team/multi:latest``: an OCI index of linux/amd64 and linux/arm64."""
    nginx: PushedImage
    """``library/nginx:latest``: one layer, docker v2 schema2."""


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def make_layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzipped tar layer with fixed metadata; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, compresslevel=6, mtime=0), sha256_digest(tar_bytes)


def make_config(arch: str, diff_id: str, cmd: str, variant: str | None = None) -> bytes:
    config: dict[str, Any] = {
        "architecture": arch,
        "os": "linux",
        "created": _CREATED,
        "config": {"Cmd": [cmd], "Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": _CREATED, "created_by": "regdoctor testbed"}],
    }
    if variant:
        config["variant"] = variant
    return canonical_json(config)


def single_arch_blobs(arch: str, cmd: str, oci: bool) -> tuple[bytes, bytes, bytes]:
    """(layer, config, manifest) of the one-layer image :meth:`Pusher.single_arch` pushes:
    deterministic, so a scenario can name its digest before anything is pushed."""
    layer, diff_id = make_layer({cmd.lstrip("/"): f"#!/bin/sh\necho {cmd} {arch}\n".encode()})
    config = make_config(arch, diff_id, cmd, variant="v8" if arch == "arm64" else None)
    manifest_type, config_type, layer_type = (
        (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER)
        if oci
        else (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER)
    )
    body = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": _descriptor(config_type, config),
            "layers": [_descriptor(layer_type, layer)],
        }
    )
    return layer, config, body


def _descriptor(media_type: str, blob: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "size": len(blob), "digest": sha256_digest(blob)}


class Pusher:
    """Pushes blobs and manifests to one registry over its HTTP API."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def blob(self, repository: str, data: bytes) -> str:
        """Upload one blob: a monolithic POST, or POST + monolithic PUT where needed.

        The spec's single-request ``POST .../blobs/uploads/?digest=`` (201) is not
        implemented by distribution 2.8.2: it ignores the body and answers 202 with an
        upload Location, which then takes the whole blob in one ``PUT ?digest=``.
        """
        digest = sha256_digest(data)
        headers = {"Content-Type": "application/octet-stream"}
        resp = self.client.post(
            f"/v2/{repository}/blobs/uploads/",
            params={"digest": digest},
            content=data,
            headers=headers,
        )
        if resp.status_code == 202:
            # Keep the Location's own query (its signed ``_state``): httpx's ``params=``
            # would replace it.
            location = httpx.URL(resp.headers["Location"])
            url = location.copy_merge_params({"digest": digest})
            resp = self.client.put(url, content=data, headers=headers)
        _expect(resp, 201)
        return digest

    def manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        resp = self.client.put(
            f"/v2/{repository}/manifests/{reference}",
            content=body,
            headers={"Content-Type": media_type},
        )
        _expect(resp, 201)
        digest = sha256_digest(body)
        if resp.headers.get("Docker-Content-Digest", digest) != digest:
            raise RuntimeError(f"registry stored {repository}:{reference} under another digest")
        return digest

    def single_arch(
        self, repository: str, reference: str | None, arch: str, cmd: str, oci: bool
    ) -> tuple[str, bytes]:
        """Push layer, config and manifest (under ``reference``, else by digest).

        Returns (manifest digest, manifest bytes).
        """
        layer, config, body = single_arch_blobs(arch, cmd, oci)
        self.blob(repository, layer)
        self.blob(repository, config)
        manifest_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
        reference = reference or sha256_digest(body)
        return self.manifest(repository, reference, body, manifest_type), body

    def image(self, repository: str, tag: str, cmd: str) -> PushedImage:
        digest, body = self.single_arch(repository, tag, "amd64", cmd, oci=False)
        return PushedImage(repository, tag, digest, DOCKER_MANIFEST, len(body))

    def index(
        self, repository: str, tag: str, arches: tuple[str, ...] = ("amd64", "arm64")
    ) -> PushedImage:
        """The platform manifests (linux/``arches``) by digest first, then the index under
        the tag."""
        entries = []
        platforms = {}
        for arch in arches:
            digest, body = self.single_arch(repository, None, arch, "/multi", oci=True)
            platform = {"architecture": arch, "os": "linux"}
            if arch == "arm64":
                platform["variant"] = "v8"
            entries.append({**_descriptor(OCI_MANIFEST, body), "platform": platform})
            platforms[f"linux/{arch}"] = digest
        body = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        digest = self.manifest(repository, tag, body, OCI_INDEX)
        return PushedImage(repository, tag, digest, OCI_INDEX, len(body), platforms)


def _expect(resp: httpx.Response, status: int) -> None:
    if resp.status_code != status:
        raise RuntimeError(
            f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text[:300]}"
        )


def push_test_images(base_url: str) -> TestImages:
    """Push every test image through the registry at ``base_url`` (the plain one)."""
    with httpx.Client(base_url=base_url, timeout=10.0, trust_env=False) as client:
        pusher = Pusher(client)
        app = pusher.image("team/app", "1.2", "/app")
        nginx = pusher.image("library/nginx", "latest", "/nginx")
        multi = pusher.index("team/multi", "latest")
    return TestImages(app=app, multi=multi, nginx=nginx)
