"""Populate one repository with many tags over the registry API (for tags/bench tests
and ``benchmarks/bench_tags.py``).

``populate(base_url, "bench/many", tags=2000, manifests=500)`` pushes one shared layer,
``manifests`` distinct config blobs and manifests, and points ``tags`` tags at them
round-robin (tag ``t0000`` -> manifest 0, ``t0500`` -> manifest 0 again...). Bytes are
deterministic, so the digests are the same in every session. Requests run
concurrently (the registry's CPU is the limit: about 300 tags/s on 2 cores).

``push_blob_file`` streams a large blob (the 1 GiB throughput benchmark) from a file
without holding it in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.harness.content import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    canonical_json,
    make_layer,
    sha256_digest,
)


@dataclass
class Populated:
    repository: str
    tags: dict[str, str] = field(default_factory=dict)
    """tag -> manifest digest"""
    manifests: list[str] = field(default_factory=list)
    """distinct manifest digests, in push order"""


def manifest_body(config: bytes, layers: list[tuple[bytes | int, str]]) -> bytes:
    """A Docker v2 manifest; a layer is (bytes or size, digest)."""
    descriptors = [
        {
            "mediaType": DOCKER_LAYER,
            "size": len(blob) if isinstance(blob, bytes) else blob,
            "digest": digest,
        }
        for blob, digest in layers
    ]
    return canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {
                "mediaType": DOCKER_CONFIG,
                "size": len(config),
                "digest": sha256_digest(config),
            },
            "layers": descriptors,
        }
    )


def config_blob(n: int, diff_ids: list[str], arch: str = "amd64") -> bytes:
    return canonical_json(
        {
            "architecture": arch,
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": [f"/app{n}"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    )


class AsyncPusher:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def blob(self, repository: str, data: bytes) -> str:
        digest = sha256_digest(data)
        return await self._upload(repository, digest, data, len(data))

    async def _upload(self, repository: str, digest: str, content: Any, size: int) -> str:
        headers = {"Content-Type": "application/octet-stream"}
        head = await self.client.head(f"/v2/{repository}/blobs/{digest}")
        if head.status_code == 200:
            return digest
        resp = await self.client.post(f"/v2/{repository}/blobs/uploads/")
        _expect(resp, 202)
        location = httpx.URL(resp.headers["Location"]).copy_merge_params({"digest": digest})
        headers["Content-Length"] = str(size)
        resp = await self.client.put(location, content=content, headers=headers)
        _expect(resp, 201)
        return digest

    async def manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        resp = await self.client.put(
            f"/v2/{repository}/manifests/{reference}",
            content=body,
            headers={"Content-Type": media_type},
        )
        _expect(resp, 201)
        return sha256_digest(body)


def _expect(resp: httpx.Response, status: int) -> None:
    if resp.status_code != status:
        raise RuntimeError(
            f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text[:300]}"
        )


async def _gather_limited(jobs: list[Any], limit: int) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with semaphore:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


async def populate_async(
    base_url: str,
    repository: str,
    *,
    tags: int,
    manifests: int,
    tag_format: str = "t{:04d}",
    concurrency: int = 16,
    salt: str = "",
) -> Populated:
    """Push ``manifests`` distinct manifests and ``tags`` tags pointing at them."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=60.0, trust_env=False, limits=limits, verify=False
    ) as client:
        pusher = AsyncPusher(client)
        layer, diff_id = make_layer({"bin/shared": f"shared layer {salt}\n".encode()})
        layer_digest = await pusher.blob(repository, layer)
        configs = [config_blob(i, [diff_id]) for i in range(manifests)]
        if salt:
            configs = [c.replace(b"/app", f"/{salt}app".encode()) for c in configs]
        await _gather_limited([pusher.blob(repository, c) for c in configs], concurrency)
        bodies = [manifest_body(c, [(layer, layer_digest)]) for c in configs]
        result = Populated(repository, manifests=[sha256_digest(b) for b in bodies])
        jobs = []
        for i in range(tags):
            tag = tag_format.format(i)
            body = bodies[i % manifests]
            result.tags[tag] = sha256_digest(body)
            jobs.append(pusher.manifest(repository, tag, body, DOCKER_MANIFEST))
        await _gather_limited(jobs, concurrency)
    return result


def populate(base_url: str, repository: str, **kwargs: Any) -> Populated:
    return asyncio.run(populate_async(base_url, repository, **kwargs))


async def push_image_async(
    base_url: str,
    repository: str,
    tag: str,
    *,
    layers: list[bytes],
    marker: str = "",
) -> tuple[str, bytes]:
    """One Docker v2 image with the given layer blobs; returns (digest, manifest)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, trust_env=False) as client:
        pusher = AsyncPusher(client)
        pairs = []
        for blob in layers:
            pairs.append((blob, await pusher.blob(repository, blob)))
        config = canonical_json(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": "2024-01-01T00:00:00Z",
                "config": {"Cmd": [f"/run {marker}"]},
                "rootfs": {"type": "layers", "diff_ids": [d for _b, d in pairs]},
            }
        )
        await pusher.blob(repository, config)
        body = manifest_body(config, [(b, d) for b, d in pairs])
        digest = await pusher.manifest(repository, tag, body, DOCKER_MANIFEST)
    return digest, body


def push_image(base_url: str, repository: str, tag: str, **kwargs: Any) -> tuple[str, bytes]:
    return asyncio.run(push_image_async(base_url, repository, tag, **kwargs))


async def push_raw_manifest_async(
    base_url: str, repository: str, reference: str, body: bytes, media_type: str
) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, trust_env=False) as client:
        return await AsyncPusher(client).manifest(repository, reference, body, media_type)


def push_raw_manifest(
    base_url: str, repository: str, reference: str, body: bytes, media_type: str
) -> str:
    return asyncio.run(push_raw_manifest_async(base_url, repository, reference, body, media_type))


def write_random_file(path: Path, size: int, chunk: int = 8 * 1024 * 1024) -> str:
    """A file of ``size`` pseudo-random bytes; returns its sha256 digest."""
    digest = hashlib.sha256()
    seed = hashlib.sha256(b"regdoctor-bench").digest()
    block = (seed * (chunk // len(seed) + 1))[:chunk]
    written = 0
    with path.open("wb") as handle:
        n = 0
        while written < size:
            part = block[: min(chunk, size - written)]
            # vary each block so the blob does not compress to nothing anywhere
            part = n.to_bytes(8, "big") + part[8:] if len(part) > 8 else part
            handle.write(part)
            digest.update(part)
            written += len(part)
            n += 1
    return "sha256:" + digest.hexdigest()


async def _file_chunks(path: Path, chunk: int = 4 * 1024 * 1024) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while True:
            data = handle.read(chunk)
            if not data:
                return
            yield data


async def push_blob_file_async(base_url: str, repository: str, path: Path, digest: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=600.0, trust_env=False) as client:
        return await AsyncPusher(client)._upload(
            repository, digest, _file_chunks(path), os.path.getsize(path)
        )


def push_blob_file(base_url: str, repository: str, path: Path, digest: str) -> str:
    return asyncio.run(push_blob_file_async(base_url, repository, path, digest))


def oci_index_body(entries: list[tuple[str, int, str]]) -> bytes:
    """An OCI index of (digest, size, "os/arch[/variant]") entries."""
    manifests = []
    for digest, size, platform in entries:
        parts = platform.split("/")
        plat: dict[str, str] = {"os": parts[0], "architecture": parts[1]}
        if len(parts) > 2:
            plat["variant"] = parts[2]
        manifests.append(
            {"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "platform": plat}
        )
    return canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
