"""Credential helpers, run for real: programs on a temporary PATH that speak the
docker-credential-helpers protocol. One answers, one fails, one is missing, one hangs,
one answers garbage: each is a distinct outcome, and no secret ever shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regdoctor.discovery.credentials import resolve, run_helper
from regdoctor.model import CredentialRef
from regdoctor.redact.secrets import Redactor
from tests.discovery.helpers import (
    ANSWERING,
    FAILING,
    MALFORMED,
    SLOW,
    helper_env,
    write_helper,
)

SERVER = "registry.test:5000"
SECRET = "s3cret-helper-value"


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    write_helper(directory, "answers", ANSWERING, known={SERVER: ["robot", SECRET]})
    write_helper(directory, "fails", FAILING)
    write_helper(directory, "slow", SLOW)
    write_helper(directory, "garbage", MALFORMED)
    return directory


def ref(helper: str, server: str = SERVER, origin: str = "helper") -> CredentialRef:
    return CredentialRef(
        origin, "/root/.docker/config.json", f'credHelpers["{server}"]', helper, server
    )


def test_answering_helper(bin_dir: Path) -> None:
    redactor = Redactor()
    resolution = resolve(ref("answers"), env=helper_env(bin_dir), redactor=redactor)
    assert resolution.outcome == "found" and resolution.ok
    assert resolution.credentials is not None
    assert resolution.credentials.username == "robot"
    assert resolution.credentials.password.reveal() == SECRET
    assert resolution.credentials.source.endswith("(docker-credential-answers)")
    assert SECRET not in repr(resolution) and SECRET not in json.dumps(resolution.facts())
    assert redactor.redact(f"token={SECRET} x").count(SECRET) == 0


def test_store_uses_the_same_protocol(bin_dir: Path) -> None:
    resolution = resolve(ref("answers", origin="store"), env=helper_env(bin_dir))
    assert resolution.outcome == "found"


@pytest.mark.parametrize(
    ("helper", "server", "outcome", "text"),
    [
        ("answers", "other.test", "not_found", "credentials not found"),
        ("fails", SERVER, "helper_failed", "pass not initialized"),
        ("missing", SERVER, "helper_missing", "executable file not found in $PATH"),
        ("garbage", SERVER, "bad_output", "not JSON"),
    ],
)
def test_distinct_failures(
    bin_dir: Path, helper: str, server: str, outcome: str, text: str
) -> None:
    resolution = resolve(ref(helper, server), env=helper_env(bin_dir))
    assert resolution.outcome == outcome
    assert resolution.credentials is None
    assert text in (resolution.error or "")


def test_timeout(bin_dir: Path) -> None:
    outcome, answer, error, program = run_helper(
        "slow", SERVER, timeout=0.5, env=helper_env(bin_dir)
    )
    assert (outcome, answer) == ("helper_timeout", None)
    assert program is not None and "0.5s" in (error or "")


def test_identity_token_and_file_auth(tmp_path: Path) -> None:
    import base64

    config = tmp_path / "config.json"
    pair = base64.b64encode(b"user:pw-from-file").decode()
    config.write_text(json.dumps({"auths": {SERVER: {"auth": pair}, "bad.test": {"auth": "***"}}}))
    found = resolve(CredentialRef("file", str(config), f'auths["{SERVER}"]'))
    assert found.outcome == "found" and found.credentials.password.reveal() == "pw-from-file"  # type: ignore[union-attr]
    bad = resolve(CredentialRef("file", str(config), 'auths["bad.test"]'))
    assert bad.outcome == "bad_auth"
    token = resolve(CredentialRef("identitytoken", str(config), f'auths["{SERVER}"]'))
    assert token.outcome == "identity_token"
