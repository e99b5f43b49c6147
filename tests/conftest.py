"""Shared fixtures: the session testbed and per-test environment isolation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.isolation import IsolatedEnv, isolate
from tests.harness.testbed import Testbed, start_testbed


@pytest.fixture(scope="session")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Testbed]:
    """Every registry variant, the token server, dnsmasq and the socket peers, once.

    Started lazily by the first test that asks for it; stopped at session end, also
    when tests fail or the start itself fails half-way.
    """
    with start_testbed(tmp_path_factory.mktemp("testbed")) as bed:
        yield bed


@pytest.fixture(autouse=True)
def isolate_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> IsolatedEnv:
    """HOME, DOCKER_CONFIG, XDG_*, REGISTRY_AUTH_FILE, REGDOCTOR_CONFIG_ROOT -> a temp dir;
    proxies removed. See tests/harness/isolation.py."""
    return isolate(monkeypatch, tmp_path_factory.mktemp("env"))
