"""The kubelet's choice of pull-secret credentials for an image, as
``k8s.io/kubernetes/pkg/credentialprovider/keyring.go`` makes it (``BasicDockerKeyring``
``Add`` and ``Lookup``): the scenarios' stand-in for the kubelet, written from that
source and independent of regdoctor's own model (``regdoctor/discovery/kube.py``).

- ``Add``: a key without ``http://``/``https://`` gets ``https://``; it is parsed as a
  URL; a path starting ``/v1/`` or ``/v2/`` loses those three characters; the key is
  ``host[:port]`` plus the remaining path unless that is empty or ``/``.
- ``Lookup(image)`` (the image as ``parsers.ParseImageName`` gives it: ``docker.io/...``
  for Hub images, no tag): a key matches when its port equals the image's (both may be
  empty), the hosts have as many dot-separated labels and each label matches as a
  ``filepath.Match`` glob, and the key's path is a string prefix of the image's path.
  When nothing matched and the image is a Docker Hub image, the key ``index.docker.io``
  (what ``https://index.docker.io/v1/`` becomes) is used.
- The credentials carry only username and password: ``AuthConfig.ServerAddress`` is
  never set, so the CRI's own server-address check (containerd
  ``pkg/cri/server/image_pull.go`` ``ParseAuth``) never drops them.
"""

from __future__ import annotations

import fnmatch
from urllib.parse import urlsplit

DEFAULT_REGISTRY_HOST = "index.docker.io"


def keyring_key(location: str) -> str:
    """``BasicDockerKeyring.Add``: the index key of a docker config entry."""
    value = location
    if not value.startswith(("https://", "http://")):
        value = "https://" + value
    parsed = urlsplit(value)
    path = parsed.path
    if path.startswith(("/v2/", "/v1/")):
        path = path[3:]
    return parsed.netloc + path if path and path != "/" else parsed.netloc


def repo_to_pull(image: str) -> str:
    """``parsers.ParseImageName``: the normalised repository, without tag or digest."""
    name = image.split("@", 1)[0]
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = "docker.io/" + (name if rest else "library/" + name)
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    return name


def _split(schemeless: str) -> tuple[list[str], str, str]:
    parsed = urlsplit("https://" + schemeless)
    host, port = parsed.netloc, ""
    if parsed.netloc.rsplit(":", 1)[-1].isdigit() and ":" in parsed.netloc:
        host, port = parsed.netloc.rsplit(":", 1)
    return host.split("."), port, parsed.path


def urls_match(key: str, image: str) -> bool:
    """``URLsMatchStr(glob, target)``."""
    k_labels, k_port, k_path = _split(key)
    i_labels, i_port, i_path = _split(image)
    if k_port != i_port or len(k_labels) != len(i_labels):
        return False
    if not i_path.startswith(k_path):
        return False
    return all(fnmatch.fnmatchcase(i, k) for k, i in zip(k_labels, i_labels, strict=True))


def _default_registry_match(image: str) -> bool:
    parts = image.split("/", 1)
    if not parts[0]:
        return False
    if len(parts) == 1 or parts[0] in ("docker.io", "index.docker.io"):
        return True
    return not any(c in parts[0] for c in ".:")


def lookup(locations: list[str], image: str) -> list[int]:
    """The indexes of ``locations`` (docker config keys) whose credentials the kubelet
    passes for ``image``, in the order it tries them (reverse-sorted keys)."""
    keys = [keyring_key(loc) for loc in locations]
    repo = repo_to_pull(image)
    found = [
        i
        for key in sorted(set(keys), reverse=True)
        if urls_match(key, repo)
        for i, k in enumerate(keys)
        if k == key
    ]
    if found:
        return found
    if _default_registry_match(repo):
        return [i for i, k in enumerate(keys) if k == DEFAULT_REGISTRY_HOST]
    return []
