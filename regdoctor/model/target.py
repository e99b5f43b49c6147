"""A registry endpoint as the runtime will use it (see ``regdoctor.model``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from regdoctor.model.credentials import CredentialRef


@dataclass(frozen=True, slots=True)
class Target:
    """One registry endpoint as the runtime will use it, with where it came from.

    ``scheme`` is ``None`` when regdoctor may choose (HTTPS first, HTTP as fallback for
    insecure registries, as Docker does); ``"https"``/``"http"`` when the user pinned it.
    """

    raw: str
    registry: str  # the name users write: docker.io, host:5000
    host: str  # the host dialled: registry-1.docker.io, host
    port: int
    scheme: str | None = None
    insecure: bool = False
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    source: str = "command line"
    # -- settings from the effective configuration (regdoctor.discovery) ----------------
    kind: str = "registry"  # "registry", or "config": a configuration file judged alone
    runtime: str | None = None  # docker, podman, containerd, kubernetes
    mirror_of: str | None = None  # the registry this endpoint mirrors
    # the ids of the image targets this mirror or search registry serves (one raw
    # reference may serve several images: ``app`` at quay.test is quay.test/app, the
    # image is docker.io/library/app); ``endpoint.mirror_for`` in the JSON document (not
    # in ``spec``, whose published schema 3 allows no other key)
    mirror_for: tuple[str, ...] = ()
    ca_files: tuple[str, ...] = ()
    client_cert: str | None = None
    client_key: str | None = None
    credential: CredentialRef | None = None
    #: with several runtimes in scope that would not all send ``credential``: the other
    #: credentials (None: anonymous) and the runtimes that send each, in scope order
    #: (:func:`regdoctor.discovery.targets.credential_groups`); the auth dance and the
    #: manifest request are observed once more per entry. Not in the JSON document: each
    #: observation says which credential it was made with.
    credential_groups: tuple[tuple[CredentialRef | None, tuple[str, ...]], ...] = ()
    provenance: tuple[tuple[str, str], ...] = ()  # (setting, "file#key")

    @property
    def id(self) -> str:
        return self.raw

    @property
    def is_image(self) -> bool:
        return self.repository is not None

    @property
    def reference(self) -> str | None:
        return self.digest or self.tag

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "raw": self.raw,
            "registry": self.registry,
            "host": self.host,
            "port": self.port,
            "scheme": self.scheme,
            "insecure": self.insecure,
            "repository": self.repository,
            "tag": self.tag,
            "digest": self.digest,
            "source": self.source,
            "kind": self.kind,
            "runtime": self.runtime,
            "mirror_of": self.mirror_of,
            "ca_files": list(self.ca_files),
            "client_cert": self.client_cert,
            "credential": self.credential.to_dict() if self.credential else None,
            "provenance": dict(self.provenance),
        }
