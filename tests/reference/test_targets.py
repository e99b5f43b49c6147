"""Image reference and TARGET parsing, the way Docker normalises names."""

import pytest

from regdoctor.reference.targets import InvalidReference, image_name, parse_target


@pytest.mark.parametrize(
    ("raw", "registry", "host", "port", "repository", "tag", "digest"),
    [
        ("nginx", "docker.io", "registry-1.docker.io", 443, "library/nginx", "latest", None),
        ("nginx:1.25", "docker.io", "registry-1.docker.io", 443, "library/nginx", "1.25", None),
        (
            "bitnami/redis",
            "docker.io",
            "registry-1.docker.io",
            443,
            "bitnami/redis",
            "latest",
            None,
        ),
        (
            "docker.io/nginx",
            "docker.io",
            "registry-1.docker.io",
            443,
            "library/nginx",
            "latest",
            None,
        ),
        (
            "index.docker.io/library/nginx:1",
            "docker.io",
            "registry-1.docker.io",
            443,
            "library/nginx",
            "1",
            None,
        ),
        ("host:5000/team/app:1.2", "host:5000", "host", 5000, "team/app", "1.2", None),
        ("localhost/app", "localhost", "localhost", 443, "app", "latest", None),
        (
            "ghcr.io/org/app@sha256:" + "a" * 64,
            "ghcr.io",
            "ghcr.io",
            443,
            "org/app",
            None,
            "sha256:" + "a" * 64,
        ),
        (
            "ghcr.io/org/app:v1@sha256:" + "b" * 64,
            "ghcr.io",
            "ghcr.io",
            443,
            "org/app",
            "v1",
            "sha256:" + "b" * 64,
        ),
        ("[::1]:5000/app:x", "[::1]:5000", "::1", 5000, "app", "x", None),
    ],
)
def test_image_references(raw, registry, host, port, repository, tag, digest):
    target = parse_target(raw)
    assert (target.registry, target.host, target.port) == (registry, host, port)
    assert (target.repository, target.tag, target.digest) == (repository, tag, digest)
    assert target.is_image


@pytest.mark.parametrize(
    ("raw", "registry", "host", "port", "scheme"),
    [
        ("registry.example.com", "registry.example.com", "registry.example.com", 443, None),
        ("host:5000", "host:5000", "host", 5000, None),
        ("https://host:5443", "host:5443", "host", 5443, "https"),
        ("http://host", "host", "host", 80, "http"),
        ("https://host:5443/v2/", "host:5443", "host", 5443, "https"),
        ("127.0.0.1:5000", "127.0.0.1:5000", "127.0.0.1", 5000, None),
        ("[::1]:5000", "[::1]:5000", "::1", 5000, None),
        ("docker.io", "docker.io", "registry-1.docker.io", 443, None),
        ("localhost", "localhost", "localhost", 443, None),
    ],
)
def test_registry_targets(raw, registry, host, port, scheme):
    target = parse_target(raw)
    assert not target.is_image
    assert (target.registry, target.host, target.port, target.scheme) == (
        registry,
        host,
        port,
        scheme,
    )


def test_full_image_name():
    assert image_name(parse_target("nginx")) == "docker.io/library/nginx:latest"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "ftp://host",
        "host:99999",
        "Nginx",
        "host:5000/App",
        "app@sha256:abc",
        "a b",
        "app:" + "x" * 200,
        "host:5000/team/:tag",
        "x\x1b[2J",
        "[::1:5000/app",
    ],
)
def test_invalid_targets_say_why(raw):
    with pytest.raises(InvalidReference) as info:
        parse_target(raw)
    assert str(info.value)
