import pytest

from regdoctor.runtime import (
    TIMEOUTS,
    ErrorKind,
    auth_file_candidates,
    falls_back,
    load_registries_conf,
    podman_endpoints,
    timeout,
)

CONF = """
unqualified-search-registries = ["registry.fedoraproject.org", "docker.io"]

[[registry]]
prefix = "docker.io"
location = "docker.io"

[[registry.mirror]]
location = "mirror.example.com/hub"
insecure = true

[[registry.mirror]]
location = "digest.example.com"
pull-from-mirror = "digest-only"

[[registry]]
location = "blocked.example.com"
blocked = true
"""


def test_mirrors_in_order_then_primary():
    eps = podman_endpoints("docker.io/library/busybox:1", CONF)
    assert [(e.host, e.repository, e.mirror) for e in eps] == [
        ("mirror.example.com", "hub/library/busybox", True),
        ("registry-1.docker.io", "library/busybox", False),
    ]
    assert eps[0].skip_verify and eps[0].http_fallback
    assert not eps[1].skip_verify and not eps[1].http_fallback


def test_pull_from_mirror_digest_only():
    ref = "docker.io/library/busybox@sha256:" + "a" * 64
    assert [e.host for e in podman_endpoints(ref, CONF)] == [
        "mirror.example.com",
        "digest.example.com",
        "registry-1.docker.io",
    ]


def test_short_name_uses_search_registries_in_order():
    eps = podman_endpoints("busybox", CONF)
    assert eps[0].host == "registry.fedoraproject.org"
    assert "registry-1.docker.io" in [e.host for e in eps]


def test_blocked_and_scheme_errors():
    with pytest.raises(ValueError, match="is blocked"):
        podman_endpoints("blocked.example.com/x", CONF)
    _, probs = load_registries_conf('[[registry]]\nlocation = "https://r.example.com"\n')
    assert probs[0].message == (
        "invalid location 'https://r.example.com': URI schemes are not supported"
    )


def test_prefix_matching_quirk_host_matches_host_port():
    conf = '[[registry]]\nlocation = "example.com"\ninsecure = true\n'
    (e,) = podman_endpoints("example.com:5000/x", conf)
    assert e.skip_verify  # upstream: "example.com" also matches "example.com:5000"


def test_never_http_unless_insecure():
    (e,) = podman_endpoints("quay.io/a/b", "")
    assert e.scheme == "https" and not e.http_fallback


def test_auth_files_order():
    a = auth_file_candidates({"XDG_RUNTIME_DIR": "/run/user/1000"}, "/home/u", 1000)
    assert a.candidates == (
        "/run/user/1000/containers/auth.json",
        "/home/u/.config/containers/auth.json",
        "/home/u/.docker/config.json",
        "/home/u/.dockercfg",
    )
    a = auth_file_candidates({"REGISTRY_AUTH_FILE": "/tmp/a.json"}, "/root", 0)
    assert a.candidates[0] == "/tmp/a.json"
    assert auth_file_candidates({}, "/root", 0).candidates[0] == "/run/containers/0/auth.json"
    # podman 4.3's default --authfile is $DOCKER_CONFIG/config.json (scenario
    # creds-podman-docker-config-env): /run/containers/0/auth.json is then not read
    a = auth_file_candidates({"DOCKER_CONFIG": "/cfg"}, "/root", 0)
    assert a.candidates[:3] == (
        "/cfg/config.json",
        "/root/.config/containers/auth.json",
        "/cfg/config.json",
    )


def test_falls_back_dispatch():
    assert falls_back("podman", "not_found")
    assert falls_back("containerd", ErrorKind.SERVER_ERROR)
    assert not falls_back("docker", "too_many_requests")
    with pytest.raises(ValueError):
        falls_back("rkt", "dns")


def test_timeouts_table():
    for runtime in ("docker", "containerd", "podman"):
        assert TIMEOUTS[runtime]["dial"].seconds == 30.0
        assert TIMEOUTS[runtime]["tls_handshake"].seconds == 10.0
        assert TIMEOUTS[runtime]["response_header"].seconds is None
        assert all(t.source for t in TIMEOUTS[runtime].values())
    assert timeout("docker", "ping").seconds == 15.0
    assert timeout("cri", "dial").seconds == 30.0
