"""Image references in deployment files given with ``--manifests PATH``: Kubernetes
workloads (any ``containers``/``initContainers``/``ephemeralContainers`` entry, in any
kind, including CronJob templates and Lists) and Compose files (``services.*.image``).

A file or a directory (``*.yaml``, ``*.yml``, ``*.json`` below it) is read with the safe
YAML loader, bounded in size, alias expansion and depth (``regdoctor.bounded``); the
files are capped in count.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FILES = 2000
_CONTAINER_KEYS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(frozen=True)
class ImageUse:
    file: str
    where: str  # Deployment/web containers[app], compose service web
    image: str


class WorkloadError(ValueError):
    pass


def files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise WorkloadError(f"--manifests {path}: no such file or directory")
    found = sorted(
        p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file()
    )
    return found[:MAX_FILES]


def image_uses(path: Path) -> list[ImageUse]:
    """Every image reference in the files under ``path``. Each file is read the bounded
    way (``regdoctor.bounded``: no FIFO, device or file over 4 MiB; aliases that would
    expand to more than 200,000 nodes refused before they are built)."""
    import yaml

    from regdoctor.bounded import UnreadableFile, read_bounded, yaml_documents_bounded

    uses: list[ImageUse] = []
    for file in files_under(path):
        try:
            text = read_bounded(file, MAX_FILE_BYTES).decode("utf-8")
            documents = yaml_documents_bounded(text)
        except UnreadableFile as exc:
            raise WorkloadError(f"{file}: {exc.strerror}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise WorkloadError(f"{file}: {exc}") from None
        except yaml.YAMLError as exc:
            raise WorkloadError(f"{file}: not YAML ({str(exc).splitlines()[0]})") from None
        except RecursionError:
            raise WorkloadError(f"{file}: not YAML (nested too deeply)") from None
        for document in documents:
            for where, image in _walk(document, 0):
                uses.append(ImageUse(str(file), where, image))
    return uses


def _label(doc: dict[str, Any]) -> str:
    kind = doc.get("kind")
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return f"{kind}/{name}" if kind and name else str(kind or "")


def _walk(node: Any, depth: int, label: str = "") -> Iterator[tuple[str, str]]:
    if depth > 40:
        return
    if isinstance(node, dict):
        if isinstance(node.get("kind"), str):
            label = _label(node) or label
        services = node.get("services")
        if depth == 0 and isinstance(services, dict):  # docker compose
            for name, service in services.items():
                if isinstance(service, dict) and isinstance(service.get("image"), str):
                    yield f"compose service {name}", service["image"]
            return
        for key in _CONTAINER_KEYS:
            containers = node.get(key)
            if isinstance(containers, list):
                for container in containers:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        name = container.get("name", "?")
                        yield f"{label} {key}[{name}]".strip(), container["image"]
        for key, value in node.items():
            if key not in _CONTAINER_KEYS:
                yield from _walk(value, depth + 1, label)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, depth + 1, label)


def written_tag(image: str) -> str | None:
    """The tag as written (None when the reference has no tag)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None
