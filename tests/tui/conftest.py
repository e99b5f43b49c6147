"""Fixtures of the TUI tests: options pointing at the testbed, a catalog with a text
rule, and a helper that waits for the App's checks to end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from regdoctor.options import CheckOptions

RULES = Path(__file__).parent / "rules"


def options_for(testbed, **kw) -> CheckOptions:  # type: ignore[no-untyped-def]
    host, port = testbed.dns_server.rsplit(":", 1)
    kw.setdefault("timeout", 5.0)
    kw.setdefault("deadline", 30.0)
    return CheckOptions(ca_files=(testbed.ca_file,), dns_server=(host, int(port)), **kw)


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests run on asyncio (anyio's pytest plugin, shipped with httpx's anyio)."""
    return "asyncio"


@pytest.fixture(scope="session")
def test_catalog():
    """The bundled rules plus tests/tui/rules (a text rule for pasted errors)."""
    from regdoctor.engine import load_catalog

    return load_catalog(extra_dirs=[RULES])


async def wait_until(pilot, predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Let the App run until ``predicate()`` holds (or fail after ``timeout`` s)."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        await pilot.pause(0.05)


def row_texts(app) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The overview's rows as plain text, by target id."""
    from regdoctor.tui.widgets.target_table import TargetTable

    table = app.screen.query_one(TargetTable)
    return {str(key.value): [cell.plain for cell in table.get_row(key)] for key in table.rows}
