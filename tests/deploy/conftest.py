"""The container image, built once per test session (``scripts/image --debian-base``: a
base made from Debian's packages, wheels from the host, ``podman build --network none``),
and the helpers that run it the way deploy/kubernetes/daemonset.yaml runs it.

Needs root and podman. Outside CI a machine without them skips these tests; in CI
(``CI`` set) they fail instead, so a missing install step cannot pass unnoticed.
``REGDOCTOR_TEST_IMAGE=NAME`` uses an image built beforehand instead of building one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "kubernetes"
CONTAINERS_CONF = Path(__file__).with_name("containers.conf")
MEASUREMENTS = REPO / "build" / "deploy-measurements.json"


def podman_env() -> dict[str, str]:
    """crun cannot run containers under a hybrid cgroup v1/v2 layout (as on CI's machines);
    there tests/deploy/containers.conf switches podman to runc (see that file)."""
    import pwd

    # podman is infrastructure here, not the program under test: it gets the machine's
    # HOME and XDG defaults, not the per-test isolation (tests/harness/isolation.py).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("XDG_")
        and k not in ("HOME", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "REGDOCTOR_CONFIG_ROOT")
    }
    env["HOME"] = pwd.getpwuid(os.geteuid()).pw_dir
    if Path("/sys/fs/cgroup/unified").is_dir() and shutil.which("runc"):
        env.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
    return env


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=podman_env(),
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {result.returncode}: {result.stderr}")
    return result


def record(name: str, value: object) -> None:
    """Keep a measurement (build/deploy-measurements.json; printed by scripts/test)."""
    MEASUREMENTS.parent.mkdir(exist_ok=True)
    data = json.loads(MEASUREMENTS.read_text()) if MEASUREMENTS.exists() else {}
    data[name] = value
    MEASUREMENTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@dataclass
class Image:
    name: str
    timings: dict[str, float] = field(default_factory=dict)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the image tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def image() -> Image:
    if shutil.which("podman") is None:
        _unavailable("podman is not installed")
    if os.geteuid() != 0:
        _unavailable("building and running the image needs root")
    given = os.environ.get("REGDOCTOR_TEST_IMAGE")
    if given:
        return Image(given)
    timings: dict[str, float] = {}
    started = time.monotonic()
    base = subprocess.run(
        [str(REPO / "scripts" / "image-base")],
        capture_output=True,
        text=True,
        timeout=900,
        env=podman_env(),
        check=False,
    )
    assert base.returncode == 0, base.stderr[-3000:]
    timings["base_s"] = round(time.monotonic() - started, 1)
    timings["base_reused"] = "reusing" in base.stderr
    started = time.monotonic()
    built = subprocess.run(
        [str(REPO / "scripts" / "image")],
        capture_output=True,
        text=True,
        timeout=900,
        env={**podman_env(), "BASE": base.stdout.strip().splitlines()[-1]},
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    timings["build_s"] = round(time.monotonic() - started, 1)
    name = built.stdout.strip().splitlines()[-1]
    size = int(podman("image", "inspect", "--format", "{{.Size}}", name).stdout.strip())
    timings["size_mb"] = round(size / 1e6, 1)
    record("image", {"name": name, **timings})
    return Image(name, timings)


# -- the DaemonSet, as podman flags -------------------------------------------------------


def daemonset() -> dict:
    (doc,) = [
        d
        for d in yaml.safe_load_all((DEPLOY / "daemonset.yaml").read_text())
        if d["kind"] == "DaemonSet"
    ]
    return doc


@dataclass
class PodmanPod:
    """``podman run`` flags and the container's args, from the DaemonSet's pod spec."""

    flags: list[str]
    args: list[str]


def as_podman(node_root: Path, node_name: str, pod_ip: str = "127.0.0.1") -> PodmanPod:
    """The DaemonSet's container as ``podman run`` would run it on a node whose ``/`` is
    ``node_root``: the same hostPath mounts (read-only as declared), emptyDirs as tmpfs,
    the same user, read-only root filesystem, no capability, host network, env and args
    (``$(VAR)`` expanded as the kubelet does, from the downward API)."""
    pod = daemonset()["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    flags: list[str] = []
    if pod.get("hostNetwork"):
        flags.append("--network=host")
    if security.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    if "runAsUser" in security:
        flags += ["--user", f"{security['runAsUser']}:{security.get('runAsGroup', 0)}"]
    if security.get("capabilities", {}).get("drop") == ["ALL"]:
        flags.append("--cap-drop=all")
    if security.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "hostPath" in volume:
            source = node_root / volume["hostPath"]["path"].lstrip("/")
            kind = volume["hostPath"].get("type", "")
            if kind == "File":
                assert source.is_file(), f"the node has no {volume['hostPath']['path']}"
            elif not source.exists():
                assert kind == "DirectoryOrCreate", volume
                source.mkdir(parents=True)
                source.chmod(0o755)
            options = "ro" if mount.get("readOnly") else "rw"
            flags += ["--volume", f"{source}:{mount['mountPath']}:{options}"]
        else:
            assert "emptyDir" in volume, volume
            flags += ["--tmpfs", f"{mount['mountPath']}:rw,mode=1777,size=16m"]
    downward = {"status.podIP": pod_ip, "spec.nodeName": node_name}
    env: dict[str, str] = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            env[item["name"]] = downward[item["valueFrom"]["fieldRef"]["fieldPath"]]
    for name, value in env.items():
        flags += ["--env", f"{name}={value}"]
    args = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in container["args"]]
    return PodmanPod(flags, args)


def make_node(root: Path) -> Path:
    """A node's ``/`` with what every kubeadm node has (the kubelet config; containerd as
    the runtime), world-readable as on a node."""
    kubelet = root / "var/lib/kubelet/config.yaml"
    kubelet.parent.mkdir(parents=True)
    kubelet.write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\n"
        "kind: KubeletConfiguration\n"
        "containerRuntimeEndpoint: unix:///run/containerd/containerd.sock\n"
        "serializeImagePulls: false\n"
        "maxParallelImagePulls: 3\n"
    )
    return root


def world_readable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
