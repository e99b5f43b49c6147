"""A tag listing that fails is a finding and a failing exit code, in the category of its
cause, against a real server (the hardening harness's raw-socket registry) that answers
``/v2/`` like a registry and the tag list badly."""

from __future__ import annotations

import json

import pytest

from regdoctor.cli.main import main
from regdoctor.model import ExitCode
from tests.harness import hostile
from tests.tags.conftest import rules_of

LIST = "/v2/team/app/tags/list"


def _errors(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()


@pytest.mark.parametrize(
    ("status", "body", "outcome", "rule", "category"),
    [
        (200, b"<html><body>Sign in</body></html>", "invalid", "tag-list-invalid",
         "tag.list_invalid"),
        (200, b'{"name": "team/app", "tags": "v1"}', "invalid", "tag-list-invalid",
         "tag.list_invalid"),
        (404, _errors("NAME_UNKNOWN", "repository name not known to registry"), "name_unknown",
         "tag-list-name-unknown", "image.name_unknown"),
        (401, _errors("UNAUTHORIZED", "authentication required"), "unauthorized",
         "tag-list-unauthorized", "auth.unauthorized"),
        (403, _errors("DENIED", "requested access to the resource is denied"), "denied",
         "tag-list-denied", "auth.denied"),
        (429, _errors("TOOMANYREQUESTS", "too many requests"), "ratelimited",
         "tag-list-ratelimited", "ratelimit"),
        (500, b"oops", "server_error", "tag-list-server-error", "server.error"),
        (418, b"{}", "error", "tag-list-failed", "other"),
    ],
)  # fmt: skip
def test_a_failed_listing_fails_the_run(tags_json, status, body, outcome, rule, category):
    with hostile.HostileServer(hostile.on_path({LIST: hostile.body(status, body)})) as server:
        code, doc = tags_json(f"http://{server.hostport}/team/app")
    assert doc["listing"]["outcome"] == outcome
    assert doc["listing"]["status"] == status
    assert rules_of(doc) == [rule]
    finding = doc["findings"][0]
    assert finding["category"] == category and finding["severity"] == "error"
    assert "team/app" in finding["title"]
    assert code == doc["exit_code"] == int(ExitCode.ERRORS)
    assert doc["status"] == "error"


def test_no_answer_to_the_listing(capsys):
    with hostile.HostileServer(hostile.on_path({LIST: hostile.never_answers})) as server:
        code = main(["tags", f"http://{server.hostport}/team/app", "--format", "json",
                     "--timeout", "0.5"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert doc["listing"]["outcome"] == "error"
    assert rules_of(doc) == ["tag-list-failed"]
    assert code == int(ExitCode.ERRORS)
