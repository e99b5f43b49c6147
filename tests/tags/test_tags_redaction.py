"""``regdoctor tags`` redacts its output field by field: a registry's tag names are its
identifiers and are printed as they are (a tag may look like a JWT or hold a word such as
``token``), but for the literal secrets of the run; every text is still redacted."""

from __future__ import annotations

import json

from regdoctor.cli.main import main
from regdoctor.redact import secrets
from regdoctor.redact.secrets import MASK, Redactor
from regdoctor.render.tags import _redacted
from tests.harness.populate import push_image

#: Valid tag names (distribution's grammar) that the secret patterns would read as secrets
#: in text: a JWT's shape, and words that open a JSON secret when quoted as a key.
JWT_TAG = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
TAGS = (JWT_TAG, "token", "password", "v1.0")


def test_tag_names_that_look_like_secrets_are_printed_as_they_are(testbed, capsys):
    plain = testbed.endpoints["plain"]
    digests = {}
    for tag in TAGS:
        digests[tag], _body = push_image(
            plain.url, "tags/lookalike", tag, layers=[tag.encode()], marker=tag
        )
    capsys.readouterr()
    code = main(["tags", f"{plain.hostport}/tags/lookalike", "--format", "json"])
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert code in (0, 1), doc["findings"]
    assert {t["tag"]: t["digest"] for t in doc["tags"]} == digests
    assert sorted(t for d in doc["digests"] for t in d["tags"]) == sorted(TAGS)
    assert MASK not in out

    code = main(["tags", f"{plain.hostport}/tags/lookalike"])
    out = capsys.readouterr().out
    assert JWT_TAG in out and MASK not in out


def _document(**extra: object) -> dict[str, object]:
    return {
        "schema": "regdoctor.tags/v1",
        "endpoint": "https://bob:hunter2@registry.example.com",
        "error": None,
        "tags": [
            {"tag": JWT_TAG, "digest": "sha256:" + "a" * 64},
            {"tag": "s3cret-Literal-Passw0rd", "digest": "sha256:" + "b" * 64},
            {"tag": "Bearer abcdefgh12345678", "digest": None, "error": "bad tag"},
            {
                "tag": "v1",
                "outcome": "unauthorized",
                "error": "401: Authorization: Bearer sekrit-token-123 was refused",
            },
        ],
        "digests": [{"digest": "sha256:" + "a" * 64, "tags": [JWT_TAG, "token"]}],
        "aliases": [],
        "moved": [{"tag": JWT_TAG, "from": "sha256:" + "c" * 64, "to": "sha256:" + "a" * 64}],
        "findings": [{"title": "token: opaque", "explanation": "password=hunter2 was sent"}],
        **extra,
    }


def test_fields_are_redacted_by_what_they_are():
    redactor = Redactor(["s3cret-Literal-Passw0rd"])
    doc = _redacted(_document(), redactor)
    tags = [t["tag"] for t in doc["tags"]]
    # a tag name is kept, but for the run's literal secrets
    assert tags[0] == JWT_TAG and doc["digests"][0]["tags"] == [JWT_TAG, "token"]
    assert doc["moved"][0]["tag"] == JWT_TAG
    assert tags[1] == MASK
    # what is no tag name is text: redacted as any other
    assert tags[2] == f"Bearer {MASK}"
    # every other text is redacted as before
    assert "sekrit-token-123" not in doc["tags"][3]["error"]
    assert doc["endpoint"] == f"https://bob:{MASK}@registry.example.com"
    assert doc["findings"][0]["explanation"] == f"password={MASK} was sent"
    assert list(doc) == list(_document())  # the document's order


def test_a_learned_token_listed_as_a_tag_is_masked(monkeypatch):
    """A hostile registry lists the token it issued as a tag: it is a learned secret."""
    monkeypatch.setattr(secrets, "_LEARNED", secrets.SecretSet(secrets.LEARNED_BUDGET_BYTES))
    token = "Learned-Token-0123456789abcdef"
    secrets.remember(token)
    doc = _redacted(_document(digests=[{"digest": "sha256:x", "tags": [token]}]), None)
    assert doc["digests"][0]["tags"] == [MASK]
