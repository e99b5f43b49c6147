"""Is a digest signed? Presence only (verification can come later):

* cosign: a tag ``sha256-<hex>.sig`` in the repository (read from the tag list);
  its manifest's layer media type is the artefact type.
* OCI referrers: ``GET /v2/<name>/referrers/<digest>`` (an OCI index of artefacts with
  ``artifactType``); where the registry has no referrers API (404, as distribution
  2.8), the fallback tag schema: the tag ``sha256-<hex>`` holding such an index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from regdoctor.probes.manifest_request import OCI_INDEX
from regdoctor.tags.session import RepoSession

SIGNATURE_TYPES = (
    "application/vnd.dev.cosign.simplesigning.v1+json",
    "application/vnd.dev.cosign.artifact.sig.v1+json",
    "application/vnd.cncf.notary.signature",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
)
LIMIT = 1024 * 1024


def looks_like_signature(artifact_type: str | None) -> bool:
    if not artifact_type:
        return False
    return (
        artifact_type in SIGNATURE_TYPES or "signature" in artifact_type or ".sig." in artifact_type
    )


@dataclass
class Signatures:
    digest: str
    cosign: bool = False
    cosign_type: str | None = None
    referrers_source: str = "none"  # api, tag_schema, none
    referrers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def artifact_types(self) -> list[str]:
        types = [r["artifact_type"] for r in self.referrers if r.get("artifact_type")]
        if self.cosign and self.cosign_type:
            types.insert(0, self.cosign_type)
        return sorted(set(types))

    @property
    def signed(self) -> bool:
        return self.cosign or any(
            looks_like_signature(r.get("artifact_type")) for r in self.referrers
        )

    def facts(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "signed": self.signed,
            "cosign": self.cosign,
            "referrers_source": self.referrers_source,
            "referrers": len(self.referrers),
            "artifact_types": self.artifact_types,
        }


def _entries(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict) or not isinstance(document.get("manifests"), list):
        return []
    out = []
    for entry in document["manifests"][:200]:
        if isinstance(entry, dict):
            artifact = entry.get("artifactType") or (entry.get("annotations") or {}).get(
                "org.opencontainers.image.artifactType"
            )
            out.append({"digest": entry.get("digest"), "artifact_type": artifact})
    return out


async def find_signatures(session: RepoSession, digest: str, tags: set[str]) -> Signatures:
    found = Signatures(digest)
    algorithm, _, hexdigest = digest.partition(":")
    cosign_tag = f"{algorithm}-{hexdigest}.sig"
    if cosign_tag in tags:
        found.cosign = True
        exchange = await session.fetch(
            "GET", session.manifest_url(cosign_tag), headers={"Accept": _accept()}, body_limit=LIMIT
        )
        document = exchange.json() if exchange.status == 200 else None
        if isinstance(document, dict):
            layers = document.get("layers")
            if isinstance(layers, list) and layers and isinstance(layers[0], dict):
                found.cosign_type = layers[0].get("mediaType")
            found.cosign_type = document.get("artifactType") or found.cosign_type
    api = await session.fetch(
        "GET",
        f"{session.base}/v2/{session.repository}/referrers/{digest}",
        headers={"Accept": OCI_INDEX},
        body_limit=LIMIT,
    )
    if api.status == 200 and (api.header("content-type") or "").startswith(OCI_INDEX):
        found.referrers_source = "api"
        found.referrers = _entries(api.json())
        return found
    fallback = f"{algorithm}-{hexdigest}"
    if fallback in tags:
        exchange = await session.fetch(
            "GET", session.manifest_url(fallback), headers={"Accept": OCI_INDEX}, body_limit=LIMIT
        )
        if exchange.status == 200:
            found.referrers_source = "tag_schema"
            found.referrers = _entries(exchange.json())
    return found


def _accept() -> str:
    from regdoctor.probes.manifest_request import ACCEPT

    return ACCEPT
