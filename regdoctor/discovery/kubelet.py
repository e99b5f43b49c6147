"""kubelet: ``/var/lib/kubelet/config.yaml`` (or ``--kubelet-config``).

What it says about pulls: ``serializeImagePulls`` (default true: one pull at a time per
node), ``maxParallelImagePulls`` (only with serialized pulls off), the runtime
(``containerRuntimeEndpoint``/``imageServiceEndpoint``: containerd or CRI-O, which decides
whether ``hosts.toml`` or ``registries.conf`` applies), and the image credential provider
config (``--image-credential-provider-config``, shown when the file names it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regdoctor.discovery import locations
from regdoctor.discovery.base import FileResult, Paths, parse_yaml_documents, read_text, where

SOURCE = "kubelet"
EFFECT = "the kubelet does not start with this file"


@dataclass(eq=False)
class KubeletConfig:
    """The kubelet's settings that matter for pulls, with their sources."""

    file: FileResult
    serialize_image_pulls: bool = True
    max_parallel_image_pulls: int | None = None
    runtime_endpoint: str | None = None
    image_service_endpoint: str | None = None
    credential_provider_config: str | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def runtime(self) -> str | None:
        endpoint = (self.image_service_endpoint or self.runtime_endpoint or "").lower()
        if "containerd" in endpoint:
            return "containerd"
        if "crio" in endpoint or "cri-o" in endpoint:
            return "crio"
        if "dockershim" in endpoint or "cri-dockerd" in endpoint:
            return "docker"
        return None

    @property
    def pull_concurrency(self) -> int | None:
        if self.serialize_image_pulls:
            return 1
        return self.max_parallel_image_pulls  # None: unlimited

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.file.to_dict(),
            "serializeImagePulls": self.serialize_image_pulls,
            "maxParallelImagePulls": self.max_parallel_image_pulls,
            "pull_concurrency": self.pull_concurrency,
            "containerRuntimeEndpoint": self.runtime_endpoint,
            "imageServiceEndpoint": self.image_service_endpoint,
            "runtime": self.runtime,
            "credential_provider_config": self.credential_provider_config,
            "sources": self.sources,
        }


def discover(paths: Paths) -> KubeletConfig | None:
    path = paths.override("kubelet_config") or paths.at(locations.KUBELET_CONFIG)
    config = load(path)
    return config if config.file.exists else None


def load(path: Path) -> KubeletConfig:
    result = FileResult(path, SOURCE, "kubernetes", "yaml", effect=EFFECT)
    config = KubeletConfig(result)
    text = read_text(result)
    if text is None:
        return config
    documents = parse_yaml_documents(result, text)
    if documents is None:
        return config
    if len(documents) != 1 or not isinstance(documents[0], dict):
        result.issue("must hold one KubeletConfiguration mapping")
        return config
    data = documents[0]
    result.data = data
    kind = data.get("kind")
    if kind is not None and kind != "KubeletConfiguration":
        result.issue(f"kind is {kind!r}, expected KubeletConfiguration", key="kind")
    serialize = data.get("serializeImagePulls")
    if serialize is not None:
        if isinstance(serialize, bool):
            config.serialize_image_pulls = serialize
            config.sources["serializeImagePulls"] = where(result, "serializeImagePulls")
        else:
            result.issue("must be true or false", key="serializeImagePulls")
    parallel = data.get("maxParallelImagePulls")
    if parallel is not None:
        if isinstance(parallel, int) and not isinstance(parallel, bool) and parallel >= 1:
            config.max_parallel_image_pulls = parallel
            config.sources["maxParallelImagePulls"] = where(result, "maxParallelImagePulls")
            if config.serialize_image_pulls and parallel > 1:
                result.issue(
                    "maxParallelImagePulls > 1 needs serializeImagePulls: false; the kubelet "
                    "refuses this combination",
                    key="maxParallelImagePulls",
                )
        else:
            result.issue("must be a number of at least 1", key="maxParallelImagePulls")
    for key, attr in (
        ("containerRuntimeEndpoint", "runtime_endpoint"),
        ("imageServiceEndpoint", "image_service_endpoint"),
        ("imageCredentialProviderConfig", "credential_provider_config"),
    ):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            setattr(config, attr, value)
            config.sources[key] = where(result, key)
        else:
            result.issue("must be a string", key=key)
    return config
