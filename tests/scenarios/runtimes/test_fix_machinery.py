"""The fix-running machinery of the scenario suite, proven with hand-written fixes.

Step 4 of the suite runs regdoctor's commands literally; these tests show that the
shims (``sudo``, ``systemctl`` restarting the sandbox's dockerd/containerd, ``docker``,
``podman``, ``ctr``), the provided values (``./ca.crt``, ``$REGISTRY_USERNAME``,
``$REGISTRY_PASSWORD``, the password on stdin) and the re-pull work, independently of
what regdoctor prints: when a regdoctor fix fails there, the fix is at fault.
"""

from __future__ import annotations

import pytest

from tests.harness.runtimes import runtime_marks
from tests.scenarios.runtimes.scenario import PROXY_LOGIN_URL, PROXY_URL, Client
from tests.scenarios.runtimes.table_edges import BY_ID
from tests.scenarios.runtimes.world import Authorities, build, paths_outside_sandbox

pytestmark = runtime_marks()

HAND_FIXES: dict[tuple[str, Client], list[str]] = {
    ("http-loopback-ip", "podman"): [
        "sudo tee -a /etc/containers/registries.conf <<'EOF'\n[[registry]]\n"
        'location = "127.0.0.1:5000"\ninsecure = true\nEOF'
    ],
    ("daemon-invalid-json", "docker"): [
        """echo '{"insecure-registries": ["plain.test:5000"]}' """
        "| sudo tee /etc/docker/daemon.json",
        "sudo systemctl restart docker",
    ],
    ("daemon-insecure-trailing-slash", "docker"): [
        "sudo sed -i 's#plain.test:5000/#plain.test:5000#' /etc/docker/daemon.json",
        "sudo systemctl restart docker.service",
    ],
    ("basic-auth-no-login", "docker"): [
        'docker login --username "$REGISTRY_USERNAME" --password-stdin secure.test'
    ],
    ("basic-auth-wrong-password", "podman"): [
        'echo "$REGISTRY_PASSWORD" | podman login -u "$REGISTRY_USERNAME" --password-stdin '
        "secure.test"
    ],
    ("basic-auth-no-login", "containerd"): [
        # the password on script's stdin, its pty's echo off: ctr reads it from there
        'sudo env REGISTRY_USERNAME="$REGISTRY_USERNAME" script -qe -E never -c '
        "'ctr images pull --hosts-dir /etc/containerd/certs.d "
        '--user "$REGISTRY_USERNAME" secure.test/team/app:1.2\' /dev/null'
    ],
    ("tls-untrusted", "docker"): [
        "sudo mkdir -p /etc/docker/certs.d/untrusted.test\n"
        "sudo cp ca.crt /etc/docker/certs.d/untrusted.test/ca.crt"
    ],
    ("containerd-server-without-port", "containerd"): [
        "sudo tee /etc/containerd/certs.d/plain.test:5000/hosts.toml <<'EOF'\n"
        'server = "http://plain.test:5000"\n\n[host."http://plain.test:5000"]\n'
        '  capabilities = ["pull", "resolve"]\nEOF',
        "sudo systemctl restart containerd",
    ],
    # a systemd drop-in, read at daemon-reload and applied by the restart (units.py)
    ("proxy-daemon-without-proxy", "docker"): [
        "sudo mkdir -p /etc/systemd/system/docker.service.d",
        "sudo tee /etc/systemd/system/docker.service.d/http-proxy.conf <<'EOF'\n[Service]\n"
        f'Environment="HTTPS_PROXY={PROXY_URL}"\nEOF',
        "sudo systemctl daemon-reload",
        "sudo systemctl restart docker",
    ],
    ("proxy-daemon-without-proxy", "kubernetes"): [
        "sudo mkdir -p /etc/systemd/system/containerd.service.d",
        "printf '[Service]\\nEnvironment=HTTPS_PROXY=%s\\n' "
        f"{PROXY_URL} | sudo tee /etc/systemd/system/containerd.service.d/http-proxy.conf",
        "sudo systemctl daemon-reload",
        "sudo systemctl restart containerd",
    ],
    # ctr and podman pull in the user's shell: an export there is their fix, and the
    # steps of a fix run as one shell session (the second step sees the first's export)
    ("proxy-needs-login-shell", "podman"): [f"export HTTPS_PROXY='{PROXY_LOGIN_URL}'"],
    ("proxy-needs-login-shell", "containerd"): [
        f"export HTTPS_PROXY='{PROXY_LOGIN_URL}'",
        f"test \"$HTTPS_PROXY\" = '{PROXY_LOGIN_URL}'",
    ],
}


@pytest.mark.parametrize(
    ("scenario_id", "client"), sorted(HAND_FIXES), ids=[f"{s}-{c}" for s, c in sorted(HAND_FIXES)]
)
def test_hand_written_fix_makes_the_client_pull(
    scenario_id: str, client: Client, authorities: Authorities
) -> None:
    scenario = BY_ID[scenario_id]
    with build(scenario, authorities) as world:
        before = world.pull(client)
        assert not before.pulled, f"{client} pulled before the fix"
        run = world.run_fix(client, HAND_FIXES[scenario_id, client])
        assert run.ok, f"fix failed at {run.failed_command!r}:\n{run.log}"
        after = world.pull(client)
        assert after.pulled or world.fix_pulled_inline(client), after.error


def test_systemctl_restart_fails_like_systemd_when_dockerd_refuses(
    authorities: Authorities,
) -> None:
    with build(BY_ID["daemon-mirror-with-path"], authorities) as world:
        assert not world.docker_started
        run = world.run_fix(
            "docker",
            [
                """echo '{"registry-mirrors": ["https://mirror.test/other"]}' """
                "| sudo tee /etc/docker/daemon.json",
                "sudo systemctl restart docker",
            ],
        )
        assert not run.ok
        assert run.failed_command == "sudo systemctl restart docker"
        assert "Job for docker.service failed" in run.log
        assert "invalid mirror: path, query, or fragment at end of the URI" in run.log
        assert not world.pull("docker").pulled


def test_a_fix_naming_host_paths_is_not_run(authorities: Authorities) -> None:
    assert paths_outside_sandbox(
        "sudo cp ca.crt /usr/local/share/ca-certificates/r.crt && sudo update-ca-certificates"
    ) == ["/usr/local/share/ca-certificates/r.crt"]
    assert (
        paths_outside_sandbox(
            'sudo tee /etc/docker/daemon.json <<EOF\n{"registry-mirrors": ["https://m.test/"]}\nEOF'
        )
        == []
    )
    # openssl's subject names no file; a real path beside it still counts
    assert paths_outside_sandbox('openssl req -subj "/CN=r.test/O=team" -out r.csr') == []
    assert paths_outside_sandbox("openssl req -subj '/CN=r.test' -out /root/r.csr") == [
        "/root/r.csr"
    ]
    with build(BY_ID["tls-untrusted"], authorities) as world:
        run = world.run_fix("docker", ["sudo cp ca.crt /root/.rds-should-not-exist"])
        assert not run.ran and not run.ok
        assert "outside the sandbox" in run.failed_command


def test_each_registry_side_fix_starts_from_the_faulty_certificate(
    authorities: Authorities,
) -> None:
    """``tls-wrong-host``'s fix is the operator's (regdoctor's reissue commands, run where
    the CA key is): the registry then serves what they wrote, and the next client's fix
    starts from the wrongly named certificate again, so no client pulls on another's fix."""
    reissue = [
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        '-keyout registry.key -subj "/CN=wronghost.test" -out registry.csr\n'
        "printf 'subjectAltName = DNS:wronghost.test\\n' > registry.ext\n"
        "openssl x509 -req -in registry.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-days 1 -sha256 -extfile registry.ext -out registry.crt"
    ]
    with build(BY_ID["tls-wrong-host"], authorities) as world:
        assert not world.pull("docker").pulled
        run = world.reissue_with("docker", reissue)
        assert run.ok, run.log
        assert not (world.sandbox.root / "fix-docker" / "ca.key").exists()  # not left behind
        assert world.pull("docker").pulled
        world.restore_registry_side()
        assert not world.pull("docker").pulled


def test_restart_without_daemon_reload_keeps_the_old_environment(
    authorities: Authorities,
) -> None:
    """systemd applies a changed drop-in only after ``daemon-reload``."""
    with build(BY_ID["proxy-daemon-without-proxy"], authorities) as world:
        write = HAND_FIXES["proxy-daemon-without-proxy", "docker"][:2]
        run = world.run_fix("docker", [*write, "sudo systemctl restart docker"])
        assert run.ok, run.log
        assert not world.pull("docker").pulled
        assert world.proxy.requests == []
        run = world.run_fix("docker", ["sudo systemctl daemon-reload", "systemctl restart docker"])
        assert run.ok, run.log
        assert world.pull("docker").pulled
        assert set(world.proxy.requests) == {"CONNECT behind.test:443 HTTP/1.1"}


def test_a_shell_export_never_reaches_a_daemon(authorities: Authorities) -> None:
    """dockerd pulls with its unit's environment: the user's ``export`` changes nothing."""
    with build(BY_ID["proxy-needs-login"], authorities) as world:
        run = world.run_fix("docker", [f"export HTTPS_PROXY='{PROXY_LOGIN_URL}'"])
        assert run.ok, run.log
        assert world.shell_exports["docker"] == {"HTTPS_PROXY": PROXY_LOGIN_URL}
        assert not world.pull("docker").pulled


def test_a_shell_unset_reaches_the_retry(authorities: Authorities) -> None:
    """The user's shell has the proxy without its login (407): a fix that unsets it in
    one step and exports it with the login in the next leaves the login; one that only
    unsets it leaves no proxy at all for podman's retry."""
    with build(BY_ID["proxy-needs-login-shell"], authorities) as world:
        run = world.run_fix("podman", ["unset HTTPS_PROXY", "exit 0"])
        assert run.ok, run.log
        assert "HTTPS_PROXY" not in world._podman_env()
        run = world.run_fix("podman", [f"export HTTPS_PROXY='{PROXY_LOGIN_URL}'"])
        assert run.ok and world.shell_exports["podman"] == {"HTTPS_PROXY": PROXY_LOGIN_URL}
