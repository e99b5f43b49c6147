"""The scenarios' kubelet keyring (tests/scenarios/runtimes/keyring.py) against the
cases of kubernetes pkg/credentialprovider/keyring_test.go it was written from."""

from __future__ import annotations

import pytest

from tests.scenarios.runtimes.keyring import keyring_key, lookup, repo_to_pull


@pytest.mark.parametrize(
    ("location", "key"),
    [
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("index.docker.io", "index.docker.io"),
        ("http://secure.test", "secure.test"),
        ("secure.test:443", "secure.test:443"),
        ("https://secure.test/v2/", "secure.test"),
        ("secure.test/team", "secure.test/team"),
        ("https://secure.test/v2/team", "secure.test/team"),
    ],
)
def test_keys(location: str, key: str) -> None:
    assert keyring_key(location) == key


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        ("nginx:latest", "docker.io/library/nginx"),
        ("team/app:1.2", "docker.io/team/app"),
        ("secure.test/team/app:1.2", "secure.test/team/app"),
        ("localhost:5000/app:1", "localhost:5000/app"),
        ("tls.test:5443/team/app@sha256:" + "0" * 64, "tls.test:5443/team/app"),
    ],
)
def test_repo_to_pull(image: str, repo: str) -> None:
    assert repo_to_pull(image) == repo


@pytest.mark.parametrize(
    ("location", "image", "used"),
    [
        ("secure.test", "secure.test/team/app:1.2", True),
        ("https://secure.test/v2/", "secure.test/team/app:1.2", True),
        ("secure.test:443", "secure.test/team/app:1.2", False),  # the port must be equal
        ("secure.test", "secure.test:5443/team/app:1.2", False),
        ("*.test", "secure.test/team/app:1.2", True),
        ("*.test", "a.secure.test/team/app:1.2", False),  # as many labels
        ("secure.test/team", "secure.test/team/app:1.2", True),
        ("secure.test/other", "secure.test/team/app:1.2", False),
        ("https://index.docker.io/v1/", "nginx:latest", True),  # the Hub default
        ("docker.io", "nginx:latest", True),
        ("registry-1.docker.io", "nginx:latest", False),
        ("https://index.docker.io/v1/", "secure.test/team/app:1.2", False),
    ],
)
def test_lookup(location: str, image: str, used: bool) -> None:
    assert bool(lookup([location], image)) is used


def test_most_specific_key_first() -> None:
    assert lookup(["secure.test", "secure.test/team"], "secure.test/team/app:1") == [1, 0]
