"""Kubernetes manifests: image pull Secrets and the workloads that use them.

Input: YAML or JSON files, directories of them, or ``-`` (``kubectl get secret -o yaml``
on standard input); ``kind: List`` is unpacked. Secrets of type
``kubernetes.io/dockerconfigjson`` (``data[".dockerconfigjson"]``: base64 of
``{"auths": {...}}``) and ``kubernetes.io/dockercfg`` (``data[".dockercfg"]``: base64 of
``{registry: {...}}``); Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and
CronJob (and ServiceAccount ``imagePullSecrets``).

For every image a workload pulls with ``imagePullSecrets``, the kubelet's matching is
applied (``credentialprovider`` keyring): a key is a URL without scheme whose host
(``*`` globs one label) and port must equal the image's, and whose path (``/v1/`` and
``/v2/`` removed) must prefix the image's path; Docker Hub images also match a key for
``index.docker.io``. Secret values are decoded only to read their keys; no password
leaves this module.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regdoctor.discovery.base import FileResult, parse_yaml_documents, read_text
from regdoctor.model import CredentialRef, Secret
from regdoctor.reference import dockerhub

SOURCE = "kube"
EFFECT = "kubectl apply rejects the manifest"
DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
DOCKERCFG = "kubernetes.io/dockercfg"
WORKLOAD_KINDS = ("Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob")
MAX_FILES = 2000


@dataclass
class KubeSecret:
    """A Secret a workload names as its pull secret: its type, registries, problem."""

    name: str
    namespace: str
    type: str
    source: str
    keys: list[str] = field(default_factory=list)
    problem: str | None = None  # wrong_type, bad_base64, bad_json, no_data
    detail: str | None = None
    #: key -> the entry's JSON, masked: used only when a registry asks for credentials
    entries: dict[str, Secret] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "type": self.type,
            "source": self.source,
            "registries": self.keys,
            "problem": self.problem,
            "detail": self.detail,
        }


@dataclass
class Workload:
    """A Kubernetes workload: its images, pull secrets and service account."""

    kind: str
    name: str
    namespace: str
    source: str
    images: list[str] = field(default_factory=list)
    pull_secrets: list[str] = field(default_factory=list)
    service_account: str = "default"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass
class PullCheck:
    """One (workload, image, secret) and what the kubelet would make of it."""

    workload: str
    image: str
    registry: str
    secret: str
    namespace: str
    source: str
    problem: str | None  # missing, wrong_namespace, wrong_type, bad_base64, bad_json,
    # no_data, no_entry, key_not_matched
    secret_namespaces: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    near_keys: list[str] = field(default_factory=list)
    detail: str | None = None

    def facts(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "pull_image": self.image,
            "pull_registry": self.registry,
            "secret": self.secret,
            "namespace": self.namespace,
            "problem": self.problem,
            "secret_namespaces": self.secret_namespaces,
            "keys": self.keys,
            "near_keys": self.near_keys,
            "detail": self.detail,
            "file": self.source,
        }


@dataclass
class KubeManifests:
    """The Kubernetes manifests read: secrets, workloads, service accounts, checks."""

    files: list[FileResult] = field(default_factory=list)
    secrets: list[KubeSecret] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    service_accounts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    checks: list[PullCheck] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [f.to_dict() for f in self.files],
            "secrets": [s.to_dict() for s in self.secrets],
            "workloads": [
                {
                    "workload": w.label,
                    "source": w.source,
                    "images": w.images,
                    "imagePullSecrets": w.pull_secrets,
                    "serviceAccount": w.service_account,
                }
                for w in self.workloads
            ],
            "pull_secret_checks": [c.facts() for c in self.checks],
        }


def discover(inputs: list[str], *, stdin: Any = None) -> KubeManifests | None:
    if not inputs:
        return None
    manifests = KubeManifests()
    for item in inputs:
        if item == "-":
            stream = stdin if stdin is not None else sys.stdin
            result = FileResult(Path("<stdin>"), SOURCE, "kubernetes", "yaml", effect=EFFECT)
            result.exists = True
            try:
                text = stream.read(4 * 1024 * 1024)
            except (OSError, ValueError) as exc:
                result.issue(f"cannot read standard input: {exc}")
                text = None
            manifests.files.append(result)
            if text is not None:
                _load_text(manifests, result, text)
            continue
        path = Path(item)
        files = (
            sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))[:MAX_FILES]
            if path.is_dir()
            else [path]
        )
        for file in files:
            load_file(manifests, file)
    analyse(manifests)
    return manifests


def load_file(manifests: KubeManifests, path: Path) -> None:
    result = FileResult(path, SOURCE, "kubernetes", "yaml", effect=EFFECT)
    manifests.files.append(result)
    text = read_text(result)
    if text is None:
        if not result.exists:
            result.exists = True
            result.issue("no such file")
        return
    _load_text(manifests, result, text)


def _load_text(manifests: KubeManifests, result: FileResult, text: str) -> None:
    documents = parse_yaml_documents(result, text)
    if documents is None:
        return
    result.data = documents
    objects: list[tuple[Any, str]] = []
    for i, doc in enumerate(documents):
        if (
            isinstance(doc, dict)
            and doc.get("kind") == "List"
            and isinstance(doc.get("items"), list)
        ):
            objects.extend(
                (item, f"{result.file}#[{i}].items[{j}]") for j, item in enumerate(doc["items"])
            )
        else:
            objects.append((doc, f"{result.file}#[{i}]"))
    for obj, source in objects:
        if not isinstance(obj, dict):
            result.issue("a manifest must be a mapping", key=source.rsplit("#", 1)[-1])
            continue
        kind = obj.get("kind")
        raw_meta = obj.get("metadata")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        name = str(meta.get("name") or "?")
        namespace = str(meta.get("namespace") or "default")
        if kind == "Secret":
            manifests.secrets.append(_secret(obj, name, namespace, source))
        elif kind in WORKLOAD_KINDS:
            workload = _workload(result, obj, str(kind), name, namespace, source)
            if workload is not None:
                manifests.workloads.append(workload)
        elif kind == "ServiceAccount":
            secrets = _names(obj.get("imagePullSecrets"))
            manifests.service_accounts[(namespace, name)] = secrets


def _names(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(v["name"]) for v in value if isinstance(v, dict) and v.get("name")]


def _pod_spec(obj: dict[str, Any], kind: str) -> Any:
    spec = obj.get("spec")
    if kind == "Pod":
        return spec
    if not isinstance(spec, dict):
        return None
    if kind == "CronJob":
        spec = (
            spec.get("jobTemplate", {}).get("spec")
            if isinstance(spec.get("jobTemplate"), dict)
            else None
        )
        if not isinstance(spec, dict):
            return None
    template = spec.get("template")
    return template.get("spec") if isinstance(template, dict) else None


def _workload(
    result: FileResult, obj: dict[str, Any], kind: str, name: str, namespace: str, source: str
) -> Workload | None:
    spec = _pod_spec(obj, kind)
    if not isinstance(spec, dict):
        result.issue(f"{kind} {name} has no pod spec", key=source.rsplit("#", 1)[-1], fatal=False)
        return None
    workload = Workload(kind, name, namespace, source)
    for group in ("initContainers", "containers", "ephemeralContainers"):
        containers = spec.get(group)
        if isinstance(containers, list):
            for container in containers:
                if isinstance(container, dict) and isinstance(container.get("image"), str):
                    workload.images.append(container["image"])
    workload.pull_secrets = _names(spec.get("imagePullSecrets"))
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    workload.service_account = str(account)
    return workload


def _secret(obj: dict[str, Any], name: str, namespace: str, source: str) -> KubeSecret:
    kind = str(obj.get("type") or "Opaque")
    secret = KubeSecret(name, namespace, kind, source)
    field_name = {DOCKERCONFIGJSON: ".dockerconfigjson", DOCKERCFG: ".dockercfg"}.get(kind)
    raw_data, raw_string = obj.get("data"), obj.get("stringData")
    data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    string_data: dict[str, Any] = raw_string if isinstance(raw_string, dict) else {}
    if field_name is None:
        secret.problem = "wrong_type"
        for candidate in (".dockerconfigjson", ".dockercfg"):
            if candidate in data or candidate in string_data:
                secret.detail = f"has {candidate} but type {kind}"
        return secret
    raw: Any = None
    if field_name in string_data:
        text = string_data[field_name]
        raw = text if isinstance(text, str) else None
    elif field_name in data:
        encoded = data[field_name]
        if not isinstance(encoded, str):
            secret.problem, secret.detail = "bad_base64", f"{field_name} is not a string"
            return secret
        try:
            raw = base64.b64decode("".join(encoded.split()), validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            secret.problem, secret.detail = "bad_base64", f"{field_name} is not valid base64"
            return secret
    else:
        secret.problem, secret.detail = "no_data", f"no {field_name} in data"
        return secret
    try:
        parsed = json.loads(raw) if raw is not None else None
    except ValueError as exc:
        secret.problem = "bad_json"
        secret.detail = f"{field_name} decodes to text that is not JSON ({str(exc)[:80]})"
        return secret
    if not isinstance(parsed, dict):
        secret.problem, secret.detail = "bad_json", f"{field_name} is not a JSON object"
        return secret
    entries = parsed.get("auths") if kind == DOCKERCONFIGJSON else parsed
    if kind == DOCKERCONFIGJSON and not isinstance(entries, dict):
        secret.problem = "bad_json"
        secret.detail = '.dockerconfigjson has no "auths" object (is it a .dockercfg?)'
        return secret
    assert isinstance(entries, dict)
    secret.keys = [str(k) for k in entries]
    secret.entries = {
        str(k): Secret(json.dumps(v)) for k, v in entries.items() if isinstance(v, dict)
    }
    _LOADED[secret_id(secret)] = secret
    return secret


#: The pull secrets read in this process, by :func:`secret_id`: a credential reference
#: (``origin="k8s-secret"``) points here, so the value is read only when a registry asks.
_LOADED: dict[str, KubeSecret] = {}


def secret_id(secret: KubeSecret) -> str:
    return f"{secret.source}#{secret.namespace}/{secret.name}"


def credential_ref(check: PullCheck, secrets: list[KubeSecret]) -> CredentialRef | None:
    """The reference to the entry of the pull secret the kubelet would use for
    ``check.image`` (the first key that matches, as the kubelet's keyring does)."""
    if check.problem is not None:
        return None
    for secret in secrets:
        if secret.name != check.secret or secret.namespace != check.namespace:
            continue
        for key in secret.keys:
            if key_matches(key, check.image):
                return CredentialRef(
                    origin="k8s-secret",
                    file=secret_id(secret),
                    key=f'auths["{key}"]',
                    server=key,
                )
    return None


def secret_for(ref: CredentialRef) -> KubeSecret | None:
    """The pull secret read in this process that ``ref`` points into (its name and
    namespace: a fix edits that Secret), None for another kind of reference."""
    return _LOADED.get(ref.file) if ref.origin == "k8s-secret" else None


def entry_for(ref: CredentialRef) -> dict[str, Any] | None:
    secret = _LOADED.get(ref.file)
    if secret is None or ref.server is None or ref.server not in secret.entries:
        return None
    value = json.loads(secret.entries[ref.server].reveal())
    return value if isinstance(value, dict) else None


# ------------------------------------------------------------------ kubelet matching

_HUB = {dockerhub.DOMAIN, dockerhub.LEGACY_DOMAIN}


def normalize_image(image: str) -> tuple[str, str]:
    """(registry host[:port], ``host/path`` as the kubelet looks it up): the reference
    normalised as Docker does (kubelet ``parsers.ParseImageName``), without tag or digest.
    A name the grammar refuses (the kubelet says ``InvalidImageName``) is kept as given."""
    from regdoctor.reference.grammar import ReferenceSyntaxError, parse_normalized

    try:
        reference = parse_normalized(image)
    except ReferenceSyntaxError:
        name = image.split("@", 1)[0]
        return name.partition("/")[0].lower(), name
    return reference.domain, reference.name


def _key_parts(key: str) -> tuple[str, str | None, str]:
    text = key
    for prefix in ("https://", "http://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    hostport, _, path = text.partition("/")
    path = "/" + path if path else ""
    if path.startswith(("/v1/", "/v2/")) or path in ("/v1", "/v2"):
        path = path[3:]
    host, port = hostport, None
    match = re.fullmatch(r"(.*):(\d+)", hostport)
    if match:
        host, port = match.group(1), match.group(2)
    return host.lower(), port, path.strip("/")


def _host_glob(pattern: str, host: str) -> bool:
    p_labels, h_labels = pattern.split("."), host.split(".")
    if len(p_labels) != len(h_labels):
        return False
    return all(p == "*" or p == h for p, h in zip(p_labels, h_labels, strict=True))


def key_matches(key: str, image: str) -> bool:
    registry, full = normalize_image(image)
    k_host, k_port, k_path = _key_parts(key)
    i_host, i_port, i_path = _key_parts(full)
    if (
        _host_glob(k_host, i_host)
        and k_port == i_port
        and (not k_path or i_path == k_path or i_path.startswith(k_path + "/"))
    ):
        return True
    # Docker Hub images also use a key for index.docker.io (isDefaultRegistryMatch)
    return registry in _HUB and k_host == dockerhub.LEGACY_DOMAIN and k_port is None and not k_path


def near_miss(key: str, image: str) -> bool:
    registry, _full = normalize_image(image)
    k_host, _k_port, _ = _key_parts(key)
    i_host = registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry
    return k_host == i_host or (registry in _HUB and dockerhub.is_hub(k_host))


def analyse(manifests: KubeManifests) -> None:
    by_name: dict[str, list[KubeSecret]] = {}
    for secret in manifests.secrets:
        by_name.setdefault(secret.name, []).append(secret)
    secrets_given = bool(manifests.secrets)
    for workload in manifests.workloads:
        names = list(workload.pull_secrets)
        names += manifests.service_accounts.get((workload.namespace, workload.service_account), [])
        for image in workload.images:
            registry, _ = normalize_image(image)
            image_checks: list[PullCheck] = []
            for name in dict.fromkeys(names):
                check = PullCheck(
                    workload.label, image, registry, name, workload.namespace, workload.source, None
                )
                candidates = by_name.get(name, [])
                here = [s for s in candidates if s.namespace == workload.namespace]
                if not here:
                    check.secret_namespaces = sorted({s.namespace for s in candidates})
                    if candidates:
                        check.problem = "wrong_namespace"
                    elif secrets_given:
                        check.problem = "missing"
                    else:
                        continue  # no Secret given at all: nothing to judge
                    image_checks.append(check)
                    continue
                secret = here[0]
                check.keys = secret.keys
                if secret.problem is not None:
                    check.problem, check.detail = secret.problem, secret.detail
                elif not any(key_matches(k, image) for k in secret.keys):
                    check.near_keys = [k for k in secret.keys if near_miss(k, image)]
                    check.problem = "key_not_matched" if check.near_keys else "no_entry"
                image_checks.append(check)
            # The kubelet tries every secret: one that matches makes the others' lack of
            # an entry harmless.
            matched = any(c.problem is None for c in image_checks)
            for check in image_checks:
                if matched and check.problem in ("no_entry", "key_not_matched"):
                    check.problem = None
                manifests.checks.append(check)
