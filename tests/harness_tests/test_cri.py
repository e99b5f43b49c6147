"""The CRI harness (``tests/harness/cri.py``) against the real containerd 1.6 CRI plugin:
the oracle for regdoctor's ``kubernetes`` verdicts. Root only (marker ``runtimes``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import cri
from tests.harness.registry import RegistryOptions, write_htpasswd
from tests.harness.runtimes import (
    Sandbox,
    SandboxRegistry,
    hosts_toml,
    missing_runtime_tools,
    open_sandbox,
    wait_ready,
)

_MISSING = missing_runtime_tools()
pytestmark = [
    pytest.mark.runtimes,
    pytest.mark.skipif(bool(_MISSING), reason=f"runtime oracles need: {', '.join(_MISSING)}"),
]

APP = "team/app:1.2"
CONFIG_PATH = (
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
    '  config_path = "/etc/containerd/certs.d"\n'
)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with open_sandbox({"registry.test": "127.0.0.1"}) as sb:
        yield sb


def _registry(
    sandbox: Sandbox, port: int, options: RegistryOptions | None = None
) -> SandboxRegistry:
    registry = SandboxRegistry(
        sandbox,
        f"r{port}",
        "127.0.0.1",
        port,
        sandbox.root / f"storage-{port}",
        options or RegistryOptions(),
    )
    registry.start()
    wait_ready(registry)
    return registry


def test_messages_keep_the_cri_api_field_numbers() -> None:
    m = cri.messages()
    fields = {
        name: {f.name: f.number for f in m[name].DESCRIPTOR.fields}
        for name in ("PullImageRequest", "AuthConfig", "ImageSpec", "ImageStatusResponse")
    }
    assert fields["PullImageRequest"] == {"image": 1, "auth": 2}
    assert fields["AuthConfig"] == {
        "username": 1,
        "password": 2,
        "auth": 3,
        "server_address": 4,
        "identity_token": 5,
        "registry_token": 6,
    }
    assert fields["ImageSpec"] == {"image": 1, "annotations": 2}
    assert fields["ImageStatusResponse"] == {"image": 1, "info": 2}


def test_cri_pull_reads_config_path_not_ctr(sandbox: Sandbox) -> None:
    """The CRI plugin reads hosts.toml only through config_path; a plain-HTTP registry
    by name needs one; status, remove work; the error is the kubelet's text."""
    registry = _registry(sandbox, 5000)
    registry.push_test_images()
    sandbox.write_etc("containerd/config.toml", CONFIG_PATH)
    daemon = cri.start_cri_containerd(sandbox)
    client = cri.CriClient(daemon.address)
    version = client.version()
    assert version.runtime_name == "containerd"
    assert version.runtime_version.startswith("1.6")
    ref = f"registry.test:5000/{APP}"
    failed = client.pull(ref)
    assert not failed.ok
    assert failed.code == "Unknown"
    assert failed.error.startswith(
        f'Failed to pull image "{ref}": rpc error: code = Unknown desc = '
    )
    assert "http: server gave HTTP response to HTTPS client" in failed.details
    sandbox.write_etc(
        "containerd/certs.d/registry.test:5000/hosts.toml",
        hosts_toml(
            "http://registry.test:5000",
            [("http://registry.test:5000", {"capabilities": ["pull", "resolve"]})],
        ),
    )
    pulled = client.pull(ref)
    assert pulled.ok, pulled.error
    assert pulled.image_ref.startswith("sha256:")
    assert client.image_status(ref) == pulled.image_ref
    client.remove(ref)
    assert client.image_status(ref) == ""
    # the CRI images live in the k8s.io namespace, apart from ctr's "default"
    assert daemon.images() == []
    assert daemon.images(cri.CRI_NAMESPACE) == []


def test_cri_pull_with_auth_config(sandbox: Sandbox) -> None:
    """AuthConfig (an imagePullSecret's username/password) reaches the registry."""
    htpasswd = write_htpasswd(sandbox.root / "htpasswd", "tester", "pw")
    registry = _registry(sandbox, 5001, RegistryOptions(htpasswd=htpasswd))
    registry.push_test_images(("tester", "pw"))
    sandbox.write_etc("containerd/config.toml", CONFIG_PATH)
    sandbox.write_etc(
        "containerd/certs.d/127.0.0.1:5001/hosts.toml",
        hosts_toml(
            "http://127.0.0.1:5001",
            [("http://127.0.0.1:5001", {"capabilities": ["pull", "resolve"]})],
        ),
    )
    client = cri.CriClient(cri.start_cri_containerd(sandbox).address)
    ref = f"127.0.0.1:5001/{APP}"
    anonymous = client.pull(ref)
    assert not anonymous.ok
    assert "401 Unauthorized" in anonymous.details
    wrong = client.pull(ref, cri.Auth("tester", "nope"))
    assert not wrong.ok
    assert client.pull(ref, cri.Auth("tester", "pw")).ok


def test_mirrors_with_config_path_stop_the_cri_plugin(sandbox: Sandbox) -> None:
    sandbox.write_etc(
        "containerd/config.toml",
        CONFIG_PATH
        + '  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n'
        + '    endpoint = ["https://mirror.test"]\n',
    )
    daemon = cri.start_cri_containerd(sandbox)
    outcome = cri.CriClient(daemon.address).pull(f"127.0.0.1:5000/{APP}")
    assert outcome.unavailable
    assert outcome.rpc_error == (
        "rpc error: code = Unimplemented desc = unknown service runtime.v1.ImageService"
    )
    line = cri.plugin_load_error(daemon)
    assert "`mirrors` cannot be set when `config_path` is provided" in line
    # containerd itself still serves (ctr works)
    assert daemon.ctr(["version"]).ok
