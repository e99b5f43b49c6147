"""The registries and mirrors the configuration names, as check targets, and command-line
targets with the settings the configuration gives them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from regdoctor import model
from regdoctor.discovery import locations
from regdoctor.discovery.observations import make_observation
from regdoctor.discovery.plans import PlanEndpoint, hostport_pair
from regdoctor.discovery.plans import plan as plan_for
from regdoctor.model import Observation, Target

if TYPE_CHECKING:
    from regdoctor.discovery.effective import Effective
    from regdoctor.model import CredentialRef


def check_targets(effective: Effective) -> list[Target]:
    """Every registry and mirror found, as check targets (deduplicated by endpoint)."""
    targets: dict[str, Target] = {}
    for runtime, registry, source in effective.registries():
        try:
            plan = plan_for(
                effective, registry, "containerd" if runtime == "kubernetes" else runtime
            )
        except ValueError:
            continue
        for endpoint in plan.endpoints:
            if not endpoint.used and endpoint.role == "mirror":
                continue
            if source == "mirrors-only" and endpoint.role == "upstream":
                continue  # Docker Hub only when named explicitly
            target = _endpoint_target(effective, endpoint, runtime, registry)
            if target is None:
                continue
            if runtime == "kubernetes" and endpoint.role == "upstream":
                target = _with_pull_secret(effective, target, registry)
            key = f"{target.host}:{target.port}"
            if key not in targets or (target.credential and not targets[key].credential):
                targets[key] = target
    return list(targets.values())


#: provenance keys: the imagePullSecret the pod names whose entries the kubelet skips
#: for the image, and its namespace
SKIPPED_PULL_KEY = "pull_secret_unmatched"
SKIPPED_PULL_NAMESPACE_KEY = "pull_secret_unmatched_namespace"
#: provenance keys: the imagePullSecret a workload names that does not exist
MISSING_PULL_KEY = "pull_secret_missing"
MISSING_PULL_NAMESPACE_KEY = "pull_secret_missing_namespace"


#: provenance keys: the service account of a workload that names no imagePullSecret for
#: an image of the registry (the kubelet then uses that account's), and its namespace
SERVICE_ACCOUNT_KEY = "pull_service_account"
SERVICE_ACCOUNT_NAMESPACE_KEY = "pull_service_account_namespace"


def _skipped(skipped: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return ((SKIPPED_PULL_KEY, skipped[0]), (SKIPPED_PULL_NAMESPACE_KEY, skipped[1]))


def _service_account(effective: Effective, registry: str) -> tuple[tuple[str, str], ...]:
    """The service account (and namespace) of the first workload that pulls an image of
    ``registry`` and names no imagePullSecret of its own: its account's secrets are the
    ones the kubelet passes, so a new Secret goes there (its ``serviceAccountName``, not
    always ``default``)."""
    if effective.kube is None:
        return ()
    from regdoctor.discovery import kube

    for workload in effective.kube.workloads:
        if workload.pull_secrets:
            continue
        if any(kube.normalize_image(image)[0] == registry for image in workload.images):
            return (
                (SERVICE_ACCOUNT_KEY, workload.service_account),
                (SERVICE_ACCOUNT_NAMESPACE_KEY, workload.namespace),
            )
    return ()


def _with_pull_secret(effective: Effective, target: Target, registry: str) -> Target:
    """The kubelet authenticates with the workloads' pull secrets: the first entry
    that matches an image of ``registry`` (what a pull of that image would send)."""
    if effective.kube is None:
        return target
    from regdoctor.discovery import kube

    for check in effective.kube.checks:
        if check.registry != registry:
            continue
        ref = kube.credential_ref(check, effective.kube.secrets)
        if ref is not None:
            provenance = (*target.provenance, ("credential", ref.source))
            return replace(target, credential=ref, provenance=provenance)
    skipped = unmatched_secret(effective, registry)
    if skipped is not None:
        return replace(target, provenance=(*target.provenance, *_skipped(skipped)))
    account = _missing(effective, registry) or _service_account(effective, registry)
    if account:
        return replace(target, provenance=(*target.provenance, *account))
    return target


#: a workload's imagePullSecret the kubelet cannot use: not in its namespace
#: (k8s-pull-secret-missing), or not a Secret it reads (k8s-pull-secret-malformed)
_UNUSABLE = ("missing", "wrong_namespace", "wrong_type", "bad_base64", "bad_json", "no_data")


def missing_secret(effective: Effective, registry: str) -> tuple[str, str] | None:
    """The imagePullSecret (name, namespace) a workload names for an image of
    ``registry`` that is not in its namespace among the manifests, or that the kubelet
    cannot read (an ``Opaque`` Secret, bad base64 or JSON: k8s-pull-secret-missing and
    -malformed, whose fixes create it): the kubelet pulls without credentials, and
    passes none of the service account's either for a pod that names its own, so a new
    Secret under another
    name on the service account changes no pull (``config.endpoint`` facts
    ``pod_secret_missing``, ``pod_secret_missing_namespace``)."""
    if effective.kube is None:
        return None
    for check in effective.kube.checks:
        if check.registry == registry and check.problem in _UNUSABLE:
            return check.secret, check.namespace
    return None


def _missing(effective: Effective, registry: str) -> tuple[tuple[str, str], ...]:
    missing = missing_secret(effective, registry)
    if missing is None:
        return ()
    return ((MISSING_PULL_KEY, missing[0]), (MISSING_PULL_NAMESPACE_KEY, missing[1]))


def unmatched_secret(effective: Effective, registry: str) -> tuple[str, str] | None:
    """The imagePullSecret (name, namespace) a workload names for an image of
    ``registry`` that the kubelet does not use for it: its keys differ in host, port or
    path (``key_not_matched``), or it has no entry for the registry at all
    (``no_entry``). The kubelet then passes none of the service account's secrets
    either (it uses those only for a pod that names none), so a fix adds an entry to
    that secret, never a second secret of that name nor one on the service account
    (``config.endpoint`` facts ``pod_secret_unmatched``,
    ``pod_secret_unmatched_namespace``)."""
    if effective.kube is None:
        return None
    checks = [c for c in effective.kube.checks if c.registry == registry]
    for problem in ("key_not_matched", "no_entry"):
        for check in checks:
            if check.problem == problem:
                return check.secret, check.namespace
    return None


def kubelet_credential(effective: Effective, target: Target) -> CredentialRef | None:
    """What the kubelet's pull of ``target`` authenticates with: the pod's imagePullSecret
    entry for the image (passed to the CRI as ``AuthConfig``), else the CRI plugin's own
    ``registry.configs."<host>".auth``, which containerd 1.6 uses whenever the request
    carries no AuthConfig, with or without ``config_path`` (pkg/cri/server/image_pull.go
    registryHosts, v1.6.20). Never ``~/.docker/config.json``."""
    if effective.kube is not None:
        from regdoctor.discovery import kube

        for check in effective.kube.checks:
            if check.registry != target.registry:
                continue
            ref = kube.credential_ref(check, effective.kube.secrets)
            if ref is not None:
                return ref
    containerd = effective.containerd
    if containerd is None or containerd.file is None or not containerd.file.parsed:
        return None
    auths = dict(containerd.legacy_auth_keys)
    if target.registry not in auths:
        return None
    return model.CredentialRef(
        "cri-config",
        containerd.file.file,
        f'registry.configs."{target.registry}".auth',
        server=target.registry,
    )


def _endpoint_target(
    effective, endpoint: PlanEndpoint, runtime: str, registry: str
) -> Target | None:
    from regdoctor.reference.targets import InvalidReference, parse_target

    parts = urlsplit(endpoint.url)
    explicit_scheme = runtime in ("containerd", "kubernetes") or (
        endpoint.role == "mirror" and runtime == "docker"
    )
    raw = f"{parts.scheme}://{endpoint.hostport}" if explicit_scheme else endpoint.hostport
    try:
        target = parse_target(raw, insecure=endpoint.insecure or endpoint.skip_verify)
    except (InvalidReference, ValueError):
        return None
    provenance = [("endpoint", endpoint.source)]
    if endpoint.insecure_source:
        provenance.append(("insecure", endpoint.insecure_source))
    provenance.extend(("ca_file", s) for _p, s in endpoint.ca_files)
    if endpoint.client_cert:
        provenance.append(("client_cert", endpoint.client_cert[2]))
    if endpoint.credential:
        provenance.append(("credential", endpoint.credential.source))
    ca_files = tuple(
        p
        for p, s in endpoint.ca_files
        if not s.startswith(str(effective.paths.at(locations.DOCKER_CERTS_D)))
    )
    return replace(
        target,
        source=endpoint.source,
        runtime=runtime,
        mirror_of=registry if endpoint.role == "mirror" else None,
        ca_files=ca_files,
        client_cert=endpoint.client_cert[0] if endpoint.client_cert else None,
        client_key=endpoint.client_cert[1] if endpoint.client_cert else None,
        credential=endpoint.credential,
        provenance=tuple(provenance),
    )


def apply(effective: Effective, target: Target) -> Target:
    """A command-line target with the settings the configuration gives it (the
    first runtime that knows the endpoint; flags given on the command line win)."""
    if target.kind != "registry":
        return target
    wanted = (target.host.lower(), target.port)
    for runtime in effective.runtimes:
        name = "containerd" if runtime == "kubernetes" else runtime
        try:
            plan = plan_for(effective, target.registry, name)
        except ValueError:
            continue
        for endpoint in plan.endpoints:
            if hostport_pair(endpoint.url) != wanted:
                continue
            settings = _endpoint_target(effective, endpoint, runtime, target.registry)
            if settings is None:
                continue
            credential = (
                kubelet_credential(effective, target)
                if runtime == "kubernetes"
                else effective.credential_for(name, target.registry, target.repository)
            )
            provenance = settings.provenance
            skipped = unmatched_secret(effective, target.registry) if credential is None else None
            account: tuple[tuple[str, str], ...] = ()
            if runtime == "kubernetes" and skipped is not None:
                provenance = (*provenance, *_skipped(skipped))
            elif runtime == "kubernetes" and credential is None:
                account = _missing(effective, target.registry) or _service_account(
                    effective, target.registry
                )
                provenance = (*provenance, *account)
            if not (
                settings.insecure
                or settings.ca_files
                or settings.client_cert
                or credential is not None
                or skipped is not None
                or account
            ):
                continue  # nothing configured for it: the defaults, as before
            return replace(
                target,
                insecure=target.insecure or settings.insecure,
                runtime=runtime,
                ca_files=settings.ca_files,
                client_cert=settings.client_cert,
                client_key=settings.client_key,
                credential=credential,
                provenance=provenance,
            )
    return target


def endpoint_observation(effective: Effective, target: Target) -> Observation | None:
    """``config.endpoint``: the settings a target got from the configuration."""
    if target.runtime is None and target.credential is None and not target.provenance:
        return None
    pod_secret = None
    if target.credential is not None and target.credential.origin == "k8s-secret":
        from regdoctor.discovery import kube

        pod_secret = kube.secret_for(target.credential)
    return make_observation(
        target,
        "config.endpoint",
        True,
        {
            "runtime": target.runtime,
            "registry": target.registry,
            "role": "mirror" if target.mirror_of else "registry",
            "mirror_of": target.mirror_of,
            "insecure": target.insecure,
            "ca_files": list(target.ca_files),
            "client_cert": target.client_cert,
            "credential_source": target.credential.source if target.credential else None,
            "sources": [f"{k}: {v}" for k, v in target.provenance],
            "pod_secret_unmatched": dict(target.provenance).get(SKIPPED_PULL_KEY),
            "pod_secret_unmatched_namespace": dict(target.provenance).get(
                SKIPPED_PULL_NAMESPACE_KEY
            ),
            "pod_secret_missing": dict(target.provenance).get(MISSING_PULL_KEY),
            "pod_secret_missing_namespace": dict(target.provenance).get(MISSING_PULL_NAMESPACE_KEY),
            # a pod that names no pull secret: its service account's are the kubelet's
            "pod_service_account": dict(target.provenance).get(SERVICE_ACCOUNT_KEY),
            "pod_service_account_namespace": dict(target.provenance).get(
                SERVICE_ACCOUNT_NAMESPACE_KEY
            ),
            # the imagePullSecret (and its entry) the kubelet authenticates with: a fix
            # edits that Secret, whatever its name
            "pod_secret": pod_secret.name if pod_secret else None,
            "pod_secret_namespace": pod_secret.namespace if pod_secret else None,
            "pod_secret_key": target.credential.server
            if pod_secret and target.credential
            else None,
            # the CRI's own registry.configs."<host>".auth in config.toml (no pull
            # secret): a fix edits that table, the file as the machine names it
            "cri_auth_file": effective.paths.shown(target.credential.file)
            if target.credential is not None and target.credential.origin == "cri-config"
            else None,
        },
        source=target.source,
    )


def runtime_credential(effective: Effective, runtime: str, target: Target) -> CredentialRef | None:
    """The credential ``runtime``'s pull of ``target`` sends (None: anonymous): the
    kubelet's pull secret or CRI auth for kubernetes, else the runtime's own files
    (:meth:`~regdoctor.discovery.effective.Effective.credential_for`: none for ctr)."""
    if runtime == "kubernetes":
        return kubelet_credential(effective, target)
    return effective.credential_for(runtime, target.registry, target.repository)


def group_credentials(
    primary: CredentialRef | None, by_runtime: Sequence[tuple[str, CredentialRef | None]]
) -> tuple[tuple[CredentialRef | None, tuple[str, ...]], ...]:
    """The runtimes grouped by the credential they send: runtimes that send the same
    one (by :attr:`~regdoctor.model.CredentialRef.identity`, or none) share one dance.
    The group of ``primary`` (the target's own credential, which the probes' own dance
    uses) comes first, even when no runtime sends it; the others in the order of their
    first runtime. Empty when every runtime sends ``primary`` (one dance, as always)."""

    def key(ref: CredentialRef | None) -> tuple[str | None, ...] | None:
        return ref.identity if ref is not None else None

    groups: dict[tuple[str | None, ...] | None, tuple[CredentialRef | None, list[str]]] = {
        key(primary): (primary, [])
    }
    for runtime, ref in by_runtime:
        groups.setdefault(key(ref), (ref, []))[1].append(runtime)
    if len(groups) == 1:
        return ()
    return tuple((ref, tuple(runtimes)) for ref, runtimes in groups.values())


def credential_groups(effective: Effective, target: Target, runtimes: Sequence[str]) -> Target:
    """``target`` with the credentials of the runtimes in scope that would not send its
    own (``Target.credential_groups``): only for an image's own registry (not a mirror,
    nor a configuration target) with more than one runtime in scope."""
    if target.kind != "registry" or target.mirror_of or len(runtimes) < 2:
        return target
    by_runtime = [(r, runtime_credential(effective, r, target)) for r in runtimes]
    groups = group_credentials(target.credential, by_runtime)
    return replace(target, credential_groups=groups) if groups else target
