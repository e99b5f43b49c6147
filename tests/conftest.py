"""Shared fixtures: the session testbed and per-test environment isolation."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from regdoctor.model import Report
from tests.harness.isolation import IsolatedEnv, isolate
from tests.harness.testbed import Testbed, start_testbed

# CI replays the same examples every run, so a red run is a real regression, not the
# luck of the draw. HYPOTHESIS_PROFILE=explore draws fresh examples (run it while
# hardening; add what it finds as @example cases).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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


@pytest.fixture
def healthy_and_failing(testbed: Testbed, isolate_env: object) -> tuple[Report, str, str]:
    """One check of a healthy image (plain registry) and a refused registry."""
    healthy = testbed.images.app.ref(testbed.endpoints["plain"].hostport)
    failing = testbed.endpoints["closed"].hostport
    from tests.helpers.reports import run_report

    return run_report([healthy, failing]), healthy, failing
