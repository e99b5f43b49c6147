"""The kubelet's path to an image, for real: containerd 1.6's CRI plugin over gRPC.

Debian has no ``crictl``; this is the part of it the tests need. The kubelet pulls an
image with the CRI ``runtime.v1.ImageService/PullImage`` call, passing the credentials
of a matching imagePullSecret as ``AuthConfig`` (username/password); containerd's CRI
plugin resolves the registry with ITS OWN registry configuration (``[plugins.
"io.containerd.grpc.v1.cri".registry]``: ``config_path`` hosts.toml directories, or the
legacy ``mirrors``/``configs``), which ``ctr`` never reads.

- :func:`start_cri_containerd`: a containerd with the CRI plugin in a sandbox, its
  registry table taken from the node's ``/etc/containerd/config.toml`` (the sandbox's),
  read again at every restart (the ``systemctl restart containerd`` of a fix);
- :class:`CriClient`: ``version``, ``pull`` (with optional :class:`Auth`),
  ``image_status``, ``remove``; a failed pull is a :class:`CriPull` carrying the error
  text as the kubelet reports it (``Failed to pull image "REF": rpc error: code =
  Unknown desc = ...``).

The messages come from ``proto/cri_runtime_v1.proto`` (a subset of the public
k8s.io/cri-api ``api.proto`` with the same names and field numbers), compiled at test
time with grpcio-tools into a descriptor set (cached per proto content in the temp
directory); no generated code is committed.

What the CRI plugin needs to start its image service here (found by trying, as root,
containerd 1.6.20): the ``native`` snapshotter (the harness disables overlayfs), a CNI
configuration directory of its own (empty: no pod networking is ever set up, and the
host's ``/etc/cni`` is not read), the streaming server on 127.0.0.1 inside the
sandbox's network namespace, and ``disable_apparmor``/``restrict_oom_score_adj``
(only used when containers run). No cgroup, iptables or host network change.
"""

from __future__ import annotations

import hashlib
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.harness import procs
from tests.harness.containerd import Containerd, start_containerd
from tests.harness.sandbox import Sandbox

PROTO = Path(__file__).with_name("proto") / "cri_runtime_v1.proto"
CRI_NAMESPACE = "k8s.io"
#: grpc's status codes as Go prints them (google.golang.org/grpc/codes Code.String):
#: what the kubelet's "rpc error: code = X desc = Y" shows.
_GO_CODES = {
    "OK": "OK",
    "CANCELLED": "Canceled",
    "UNKNOWN": "Unknown",
    "INVALID_ARGUMENT": "InvalidArgument",
    "DEADLINE_EXCEEDED": "DeadlineExceeded",
    "NOT_FOUND": "NotFound",
    "ALREADY_EXISTS": "AlreadyExists",
    "PERMISSION_DENIED": "PermissionDenied",
    "RESOURCE_EXHAUSTED": "ResourceExhausted",
    "FAILED_PRECONDITION": "FailedPrecondition",
    "ABORTED": "Aborted",
    "OUT_OF_RANGE": "OutOfRange",
    "UNIMPLEMENTED": "Unimplemented",
    "INTERNAL": "Internal",
    "UNAVAILABLE": "Unavailable",
    "DATA_LOSS": "DataLoss",
    "UNAUTHENTICATED": "Unauthenticated",
}


# -- the messages -------------------------------------------------------------------------


@cache
def messages() -> dict[str, Any]:
    """The message classes of ``runtime.v1`` (by short name), compiled from PROTO."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    text = PROTO.read_bytes()
    digest = hashlib.sha256(text).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / f"regdoctor-cri-{digest}.pb"
    if not out.exists():
        from grpc_tools import protoc

        tmp = out.with_suffix(f".{id(out)}.tmp")
        code = protoc.main(
            [
                "protoc",
                f"--proto_path={PROTO.parent}",
                f"--descriptor_set_out={tmp}",
                PROTO.name,
            ]
        )
        if code != 0:
            raise RuntimeError(f"protoc failed ({code}) on {PROTO}")
        tmp.replace(out)
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for proto in files.file:
        pool.Add(proto)
    package = pool.FindFileByName(PROTO.name)
    return {
        name: message_factory.GetMessageClass(desc)
        for name, desc in package.message_types_by_name.items()
    }


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Auth:
    """What the kubelet passes from an imagePullSecret entry. The scenarios leave
    ``server_address`` empty: containerd 1.6 (pkg/cri/server/image_pull.go ParseAuth)
    drops the credentials when it is set and its URL host is not the host contacted."""

    username: str = ""
    password: str = ""
    auth: str = ""
    server_address: str = ""


@dataclass(frozen=True)
class CriPull:
    """One ``PullImage`` call."""

    image: str
    ok: bool
    image_ref: str = ""
    code: str = ""  # the Go name of the gRPC status code
    details: str = ""

    @property
    def rpc_error(self) -> str:
        """The error as Go's grpc status prints it (``rpc error: code = X desc = Y``)."""
        return "" if self.ok else f"rpc error: code = {self.code} desc = {self.details}"

    @property
    def error(self) -> str:
        """The kubelet's event text for the failed pull (pkg/kubelet/images
        image_manager.go: ``Failed to pull image %q: %v``), "" on success."""
        return "" if self.ok else f'Failed to pull image "{self.image}": {self.rpc_error}'

    @property
    def unavailable(self) -> bool:
        """The CRI image service is not there at all (the plugin did not load)."""
        return self.code == "Unimplemented" and "unknown service" in self.details


# -- the client ---------------------------------------------------------------------------


class CriClient:
    """A CRI client on containerd's socket (the kubelet's ``--container-runtime-endpoint``)."""

    def __init__(self, address: Path | str) -> None:
        self.target = f"unix:{address}"

    def _call(self, service: str, method: str, request: Any, reply: str, timeout_s: float) -> Any:
        import grpc

        with grpc.insecure_channel(self.target) as channel:
            stub = channel.unary_unary(
                f"/runtime.v1.{service}/{method}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=messages()[reply].FromString,
            )
            return stub(request, timeout=timeout_s)

    def version(self, timeout_s: float = 5.0) -> Any:
        m = messages()
        return self._call(
            "RuntimeService",
            "Version",
            m["VersionRequest"](version="v1"),
            "VersionResponse",
            timeout_s,
        )

    def pull(self, image: str, auth: Auth | None = None, *, timeout_s: float = 120.0) -> CriPull:
        """``PullImage`` as the kubelet sends it; a gRPC error is a failed :class:`CriPull`."""
        import grpc

        m = messages()
        request = m["PullImageRequest"](image=m["ImageSpec"](image=image))
        if auth is not None:
            request.auth.CopyFrom(
                m["AuthConfig"](
                    username=auth.username,
                    password=auth.password,
                    auth=auth.auth,
                    server_address=auth.server_address,
                )
            )
        try:
            reply = self._call("ImageService", "PullImage", request, "PullImageResponse", timeout_s)
        except grpc.RpcError as exc:
            code = exc.code()  # type: ignore[attr-defined]
            name = _GO_CODES.get(code.name, code.name) if code is not None else "Unknown"
            return CriPull(image, False, code=name, details=exc.details() or "")  # type: ignore[attr-defined]
        return CriPull(image, True, image_ref=reply.image_ref)

    def image_status(self, image: str, *, timeout_s: float = 10.0) -> str:
        """The image id when the CRI has the image, else ""."""
        m = messages()
        request = m["ImageStatusRequest"](image=m["ImageSpec"](image=image))
        reply = self._call("ImageService", "ImageStatus", request, "ImageStatusResponse", timeout_s)
        return str(reply.image.id) if reply.HasField("image") else ""

    def remove(self, image: str, *, timeout_s: float = 30.0) -> None:
        m = messages()
        request = m["RemoveImageRequest"](image=m["ImageSpec"](image=image))
        self._call("ImageService", "RemoveImage", request, "RemoveImageResponse", timeout_s)


# -- the daemon ---------------------------------------------------------------------------


def cri_plugin_table(workdir: Path, node_config: Path | None) -> dict[str, Any]:
    """The CRI plugin's table: what it needs to start here, plus the node's own
    ``[plugins."io.containerd.grpc.v1.cri"]`` (its ``registry`` above all) merged in,
    as containerd reads it from ``node_config`` (a version-2 config.toml)."""
    cni = workdir / "cni"
    (cni / "net.d").mkdir(parents=True, exist_ok=True)
    (cni / "bin").mkdir(parents=True, exist_ok=True)
    table: dict[str, Any] = {
        "disable_apparmor": True,
        "restrict_oom_score_adj": True,
        "stream_server_address": "127.0.0.1",
        "stream_server_port": "0",
        "containerd": {"snapshotter": "native"},
        "cni": {"conf_dir": str(cni / "net.d"), "bin_dir": str(cni / "bin")},
    }
    node: Mapping[str, Any] = {}
    if node_config is not None and node_config.exists():
        data = tomllib.loads(node_config.read_text())
        node = data.get("plugins", {}).get("io.containerd.grpc.v1.cri", {})
    return _merge(table, node)


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def cri_ready(daemon: Containerd) -> bool:
    """True once the CRI answers ``Version``, or once it is clear that it never will
    (the plugin failed to load: "unknown service", which is then the outcome)."""
    import grpc

    if not daemon.check_ready():
        return False
    try:
        CriClient(daemon.address).version(timeout_s=2.0)
    except grpc.RpcError as exc:
        code = exc.code()  # type: ignore[attr-defined]
        return bool(code == grpc.StatusCode.UNIMPLEMENTED)
    return True


def plugin_load_error(daemon: Containerd) -> str:
    """containerd's log line saying why the CRI plugin did not load ("" if it did)."""
    for line in procs.tail(daemon.log_path, 200_000).splitlines():
        if "failed to load plugin io.containerd.grpc.v1.cri" in line:
            return line.strip()
    return ""


def start_cri_containerd(
    sandbox: Sandbox,
    name: str = "containerd",
    *,
    node_config: Path | None = None,
    timeout_s: float = 20.0,
) -> Containerd:
    """containerd with the CRI plugin in ``sandbox``; ``node_config`` (default: the
    sandbox's ``/etc/containerd/config.toml``) gives the plugin's registry table, read at
    every start. ``ctr`` works on it as on :func:`start_containerd`'s."""
    config = node_config if node_config is not None else sandbox.etc / "containerd" / "config.toml"
    workdir_box: list[Path] = []

    def table() -> Mapping[str, Any]:
        return cri_plugin_table(workdir_box[0], config)

    workdir_box.append(sandbox.root / f"{name}-cri")
    daemon = start_containerd(sandbox, name, timeout_s, cri=table)
    procs.poll_until(lambda: cri_ready(daemon), timeout_s, f"CRI of containerd ({daemon.log_path})")
    return daemon
