"""The runtime oracles work: sandbox, dockerd 20.10, containerd 1.6, podman, skopeo, a
fake Docker Hub and a mirror, all inside a per-test network + mount namespace.

The asserted texts are what the real binaries print on this machine (Debian 12 packages);
tests/harness/README.md lists them for the ``explain`` corpus.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import dns as harness_dns
from tests.harness import procs
from tests.harness.pki import Pki, generate_pki
from tests.harness.registry import RegistryOptions
from tests.harness.runtimes import (
    Containerd,
    DelayProxy,
    Dockerd,
    Sandbox,
    SandboxDns,
    SandboxRegistry,
    hosts_toml,
    open_sandbox,
    podman_pull,
    run_regdoctor,
    runtime_marks,
    sandbox_leaf,
    skopeo_inspect,
    start_containerd,
    trust_ca,
    wait_ready,
    write_registries_conf,
)

pytestmark = runtime_marks()

HUB_IP = "198.18.0.10"
MIRROR_IP = "198.18.0.11"
NAMES = {
    "registry-1.docker.io": HUB_IP,
    "mirror.test": MIRROR_IP,
    "registry.test": "127.0.0.1",
}
APP = "team/app:1.2"


@pytest.fixture(scope="module")
def runtime_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return generate_pki(tmp_path_factory.mktemp("runtime-pki"))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with open_sandbox(NAMES) as sb:
        yield sb


@pytest.fixture
def plain(sandbox: Sandbox) -> SandboxRegistry:
    """HTTP registry at 127.0.0.1:5000 (``registry.test:5000``) with the test images."""
    registry = SandboxRegistry(sandbox, "plain", "127.0.0.1", 5000, sandbox.root / "storage")
    registry.start()
    wait_ready(registry)
    registry.push_test_images()
    return registry


@pytest.fixture
def containerd(sandbox: Sandbox) -> Containerd:
    return start_containerd(sandbox)


@pytest.fixture
def dockerd(sandbox: Sandbox, containerd: Containerd) -> Dockerd:
    return Dockerd(sandbox, containerd)


# -- the sandbox itself ----------------------------------------------------------------


def test_sandbox_has_its_own_network_and_etc() -> None:
    host_hosts = Path("/etc/hosts").read_bytes()
    with open_sandbox(NAMES) as sb:
        assert sb.startup_s < 2.0
        links = sb.run(["ip", "-o", "link"]).stdout
        assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
        assert f"{HUB_IP}/32" in sb.run(["ip", "-o", "addr", "show", "lo"]).stdout
        assert sb.run(["getent", "hosts", "registry-1.docker.io"]).stdout.split() == [
            HUB_IP,
            "registry-1.docker.io",
        ]
        assert sb.run(["cat", "/etc/resolv.conf"]).stdout.startswith("nameserver 127.0.0.1\n")
        sb.write_etc("docker/daemon.json", "{}\n")
        assert sb.run(["cat", "/etc/docker/daemon.json"]).stdout == "{}\n"
        sb.set_names({"late.test": "198.18.0.99"})
        assert sb.run(["getent", "hosts", "late.test"]).ok

        def dial_outside() -> int:
            with socket.socket() as s:
                s.settimeout(1)
                return s.connect_ex(("192.0.2.1", 443))

        assert sb.call(dial_outside) == errno.ENETUNREACH
        root, holder = sb.root, sb.holder
        sb.spawn(["sleep", "600"], sb.root / "straggler.log")
        procs.poll_until(lambda: len(sb.members()) == 1, 5, "straggler inside")
    assert holder is not None and holder.poll() is not None
    assert not root.exists()
    assert Path("/etc/hosts").read_bytes() == host_hosts


# -- dockerd --------------------------------------------------------------------------


def test_docker_pull_from_plain_registry_on_loopback(
    dockerd: Dockerd, plain: SandboxRegistry
) -> None:
    started = dockerd.start({})
    assert started.started, started.log
    # 20.10 treats 127.0.0.0/8 as insecure by default: it tries HTTPS, then plain HTTP.
    # A name resolving to 127.0.0.1 is insecure too (the CIDR check uses resolved IPs).
    for ref in (f"127.0.0.1:5000/{APP}", f"registry.test:5000/{APP}"):
        out = dockerd.pull(ref)
        assert out.ok, out.stderr
        assert f"Status: Downloaded newer image for {ref}" in out.stdout
    assert f"registry.test:5000/{APP}" in dockerd.images()


BAD_DAEMON_JSON: dict[str, tuple[dict[str, Any] | str, str]] = {
    "mirror_with_path": (
        {"registry-mirrors": ["https://mirror.test/path"]},
        "failed to start daemon: invalid mirror: path, query, or fragment at end of the URI "
        '"https://mirror.test/path"',
    ),
    "mirror_without_scheme": (
        {"registry-mirrors": ["mirror.test"]},
        'failed to start daemon: invalid mirror: unsupported scheme "" in "mirror.test"',
    ),
    "insecure_with_trailing_slash": (
        {"insecure-registries": ["registry.test:5000/"]},
        "failed to start daemon: insecure registry registry.test:5000/ is not valid: "
        'invalid host "registry.test"',
    ),
    "not_json": (
        "{not json",
        "unable to configure the Docker daemon with file /etc/docker/daemon.json: "
        "invalid character 'n' looking for beginning of object key string",
    ),
    "flag_and_file": (
        {"storage-driver": "overlay2"},
        "unable to configure the Docker daemon with file /etc/docker/daemon.json: the following "
        "directives are specified both as a flag and in the configuration file: storage-driver: "
        "(from flag: vfs, from file: overlay2)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DAEMON_JSON))
def test_dockerd_refuses_bad_daemon_json(dockerd: Dockerd, case: str) -> None:
    daemon_json, text = BAD_DAEMON_JSON[case]
    result = dockerd.start(daemon_json, check=False)
    assert not result.started
    assert result.returncode == 1
    assert result.log.strip().splitlines()[-1] == text
    assert result.duration_s < 5


def test_docker_login_and_pull_with_basic_auth(
    sandbox: Sandbox, dockerd: Dockerd, runtime_pki: Pki, tmp_path: Path
) -> None:
    from tests.harness.registry import write_htpasswd

    htpasswd = write_htpasswd(tmp_path / "htpasswd", "tester", "s3cret")
    # Not on 127.0.0.0/8: dockerd would treat it as insecure and fall back to HTTP.
    sandbox.set_names({"secure.test": "198.18.0.12"})
    leaf = sandbox_leaf(sandbox, runtime_pki)
    registry = SandboxRegistry(
        sandbox,
        "auth",
        "198.18.0.12",
        443,
        sandbox.root / "storage-auth",
        RegistryOptions(tls=leaf, htpasswd=htpasswd),
    ).start()
    loopback = SandboxRegistry(
        sandbox,
        "auth-lo",
        "127.0.0.1",
        443,
        sandbox.root / "storage-auth",
        RegistryOptions(tls=leaf, htpasswd=htpasswd),
    ).start()
    wait_ready(registry, loopback)
    registry.push_test_images(auth=("tester", "s3cret"))
    trust_ca(sandbox, "secure.test", runtime_pki.ca_file)
    trust_ca(sandbox, "registry.test", runtime_pki.ca_file)
    assert dockerd.start({}).started
    ref = f"secure.test/{APP}"
    denied = dockerd.pull(ref)
    assert denied.returncode == 1
    assert denied.stderr.strip() == (
        'Error response from daemon: Head "https://secure.test/v2/team/app/manifests/1.2": '
        "no basic auth credentials"
    )
    # The same registry on 127.0.0.1: 20.10 tries HTTPS, then HTTP on port 80, and
    # reports only the last error.
    insecure = dockerd.pull(f"registry.test/{APP}")
    assert insecure.stderr.strip() == (
        'Error response from daemon: Get "http://registry.test/v2/": '
        "dial tcp 127.0.0.1:80: connect: connection refused"
    )
    wrong = dockerd.login("secure.test", "tester", "wrong")
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == (
        "Error response from daemon: login attempt to https://secure.test/v2/ failed with "
        "status: 401 Unauthorized"
    )
    login = dockerd.login("secure.test", "tester", "s3cret")
    assert login.ok, login.stderr
    assert "Login Succeeded" in login.stdout
    assert (dockerd.docker_config / "config.json").exists()
    assert dockerd.pull(ref).ok


# -- a fake Docker Hub and a mirror -------------------------------------------------------


def test_fake_docker_hub_and_registry_mirror(
    sandbox: Sandbox, dockerd: Dockerd, runtime_pki: Pki
) -> None:
    leaf = sandbox_leaf(sandbox, runtime_pki)
    hub = SandboxRegistry(
        sandbox, "hub", HUB_IP, 443, sandbox.root / "hub-storage", RegistryOptions(tls=leaf)
    ).start()
    # a pull-through cache pings its upstream when it starts: the Hub must answer first
    wait_ready(hub)
    mirror = SandboxRegistry(
        sandbox,
        "mirror",
        MIRROR_IP,
        443,
        sandbox.root / "mirror-storage",
        RegistryOptions(tls=leaf),
        remote="https://registry-1.docker.io",
        remote_ca=runtime_pki.ca_file,
    ).start()
    wait_ready(mirror)
    hub.push_test_images()

    # Not trusted yet: the Hub's certificate is from the harness CA.
    assert dockerd.start({}).started
    untrusted = dockerd.pull("nginx")
    assert untrusted.returncode == 1
    assert untrusted.stderr.strip() == (
        'Error response from daemon: Get "https://registry-1.docker.io/v2/": '
        "x509: certificate signed by unknown authority"
    )

    trust_ca(sandbox, "registry-1.docker.io", runtime_pki.ca_file)
    trust_ca(sandbox, "mirror.test", runtime_pki.ca_file)
    assert dockerd.start({"registry-mirrors": ["https://mirror.test"]}).started
    assert dockerd.info()["RegistryConfig"]["Mirrors"] == ["https://mirror.test/"]
    via_mirror = dockerd.pull("nginx")
    assert via_mirror.ok, via_mirror.stderr
    assert "Status: Downloaded newer image for nginx:latest" in via_mirror.stdout
    # The pull-through mirror fetched (and cached) it from the fake Hub.
    assert (sandbox.root / "mirror-storage/docker/registry/v2/repositories/library/nginx").is_dir()

    # Mirror down: dockerd falls back to the Hub, silently for the client.
    mirror.stop()
    assert dockerd.docker(["rmi", "nginx"]).ok
    fallback = dockerd.pull("nginx")
    # 20.10 never reads certs.d for Docker Hub itself (only for mirrors): the Hub must
    # be trusted through the system store.
    assert fallback.stderr.strip() == untrusted.stderr.strip()
    assert "dial tcp 198.18.0.11:443: connect: connection refused" in dockerd.log_path.read_text()
    sandbox.set_system_ca(runtime_pki.ca_file)
    assert dockerd.start({"registry-mirrors": ["https://mirror.test"]}).started
    fallback = dockerd.pull("nginx")
    assert fallback.ok, fallback.stderr
    assert "Status: Downloaded newer image for nginx:latest" in fallback.stdout


def test_slow_registry_through_delay_proxy(dockerd: Dockerd, plain: SandboxRegistry) -> None:
    proxy = DelayProxy(dockerd.sandbox, ("127.0.0.3", 5000), ("127.0.0.1", 5000), delay_s=0.3)
    assert dockerd.start({}).started
    fast = dockerd.pull(f"127.0.0.1:5000/{APP}")
    assert fast.ok
    slow = dockerd.pull("127.0.0.3:5000/team/multi:latest")
    assert slow.ok, slow.stderr
    assert proxy.accepted >= 1
    # at least two delayed answers; the fast pull's own time grows under load, the delay
    # is added to it
    assert slow.duration_s > 0.6 and slow.duration_s > fast.duration_s + 0.3


# -- containerd ----------------------------------------------------------------------------


def test_ctr_pull_with_and_without_hosts_dir(
    sandbox: Sandbox, containerd: Containerd, plain: SandboxRegistry
) -> None:
    ref = f"registry.test:5000/{APP}"
    without = containerd.pull(ref, hosts_dir=None)
    assert without.returncode == 1
    assert without.stderr.strip().splitlines()[-1] == (
        f'ctr: failed to resolve reference "{ref}": failed to do request: Head '
        f'"https://registry.test:5000/v2/team/app/manifests/1.2": '
        "http: server gave HTTP response to HTTPS client"
    )
    sandbox.write_etc(
        "containerd/certs.d/registry.test:5000/hosts.toml",
        hosts_toml(
            "http://registry.test:5000",
            [("http://registry.test:5000", {"capabilities": ["pull", "resolve"]})],
        ),
    )
    with_hosts = containerd.pull(ref)
    assert with_hosts.ok, with_hosts.stderr
    assert ref in containerd.images()
    # ctr treats 127.0.0.1 (like localhost) as plain HTTP even without a hosts.toml.
    assert containerd.pull(f"127.0.0.1:5000/{APP}", hosts_dir=None).ok


# -- podman and skopeo ---------------------------------------------------------------------


def test_podman_and_skopeo_read_the_sandbox_registries_conf(
    sandbox: Sandbox, plain: SandboxRegistry
) -> None:
    ref = f"registry.test:5000/{APP}"
    refused = skopeo_inspect(sandbox, ref)
    assert refused.returncode == 1
    assert "http: server gave HTTP response to HTTPS client" in refused.stderr
    write_registries_conf(
        sandbox, '[[registry]]\nlocation = "registry.test:5000"\ninsecure = true\n'
    )
    assert skopeo_inspect(sandbox, ref).ok
    pulled = podman_pull(sandbox, ref)
    assert pulled.ok, pulled.stderr


# -- DNS and regdoctor inside ---------------------------------------------------------------


def test_dns_and_regdoctor_inside_the_sandbox(sandbox: Sandbox, plain: SandboxRegistry) -> None:
    server = SandboxDns(sandbox).start()
    wait_ready(server)

    def resolve(name: str) -> list[str]:
        answer = harness_dns.make_resolver("127.0.0.1", 53).resolve(name, "A")
        return [r.address for r in answer]

    assert sandbox.call(resolve, "registry-1.docker.io") == [HUB_IP]
    assert sandbox.call(resolve, "registry.test") == ["127.0.0.1"]
    assert run_regdoctor(sandbox, ["--version"]).ok
    started = time.monotonic()
    out = run_regdoctor(
        sandbox,
        [
            "check",
            "--root",
            str(sandbox.config_root),
            "--dns-server",
            server.server,
            f"registry.test:5000/{APP}",
        ],
    )
    assert time.monotonic() - started < 60
    assert "registry.test" in out.output, out.output
