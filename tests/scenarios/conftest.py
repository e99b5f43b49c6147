from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture(scope="session")
def check_schema() -> Callable[[dict], None]:
    """Validate a `check --format json` document against the schema shipped in the wheel."""
    from jsonschema import Draft202012Validator

    from regdoctor.schemas import load_schema

    validator = Draft202012Validator(load_schema("check-v3"))

    def check(document: dict) -> None:
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]

    return check
