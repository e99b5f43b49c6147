from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from regdoctor.cli.main import main


@pytest.fixture
def tags_json(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, dict[str, Any]]]:
    """Run ``regdoctor tags ... --format json`` in-process; (exit code, document)."""

    def run(*argv: str) -> tuple[int, dict[str, Any]]:
        capsys.readouterr()
        code = main(["tags", *argv, "--format", "json", "--timeout", "5"])
        out = capsys.readouterr().out
        return code, json.loads(out)

    return run


def rules_of(document: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in document["findings"]]
