"""``regdoctor tags`` redacts its output field by field: a registry's tag names are its
identifiers and are printed as they are (a tag may look like a JWT or hold a word such as
``token``), but for the literal secrets of the run; every text is still redacted."""

from __future__ import annotations

import json

from regdoctor.cli.main import main
from regdoctor.redact import secrets
from regdoctor.redact.secrets import MASK, Redactor
from regdoctor.render.tags import _redacted
from tests.harness import hostile
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


def test_repeated_texts_are_redacted_wherever_they_occur():
    """Each distinct text is redacted once per document: every occurrence of it (a tag
    in ``tags``, ``digests``, ``aliases`` and ``moved``; an error shared by many tags)
    gets the same answer as when each was redacted on its own."""
    secret = "s3cret-Literal-Passw0rd"
    redactor = Redactor([secret])
    error = "401: Authorization: Bearer sekrit-token-123 was refused"
    items = [
        {"tag": tag, "digest": "sha256:" + "a" * 64, "outcome": "unauthorized", "error": error}
        for tag in (secret, JWT_TAG, secret, "v1")
    ]
    groups = [{"digest": "sha256:" + "a" * 64, "tags": [secret, JWT_TAG, "v1"]}]
    doc = _redacted(
        _document(tags=items, digests=groups, aliases=groups, moved=[{"tag": secret}]), redactor
    )
    assert [t["tag"] for t in doc["tags"]] == [MASK, JWT_TAG, MASK, "v1"]
    assert doc["digests"][0]["tags"] == doc["aliases"][0]["tags"] == [MASK, JWT_TAG, "v1"]
    assert doc["moved"][0]["tag"] == MASK
    assert {t["error"] for t in doc["tags"]} == {redactor.redact(error)}
    assert "sekrit-token-123" not in json.dumps(doc) and secret not in json.dumps(doc)
    # the same answers as redacting every other field on its own
    others = [{k: redactor.redact_obj(v) for k, v in t.items() if k != "tag"} for t in items]
    assert [{k: v for k, v in t.items() if k != "tag"} for t in doc["tags"]] == others


def test_a_secret_tag_and_a_hostile_tag_from_a_real_server(capsys, monkeypatch):
    """A registry lists the password it was sent, and a tag with terminal escapes: the
    password is masked in the JSON and the plain output, the escapes never reach the
    terminal (the plain output) and are JSON-escaped in the JSON."""
    import io

    password = "Hunter2-Secret-Pw"
    hostile_tag = "\x1b]0;pwned\x07\x1b[31mred"
    listing = json.dumps({"name": "team/app", "tags": ["v1", password, hostile_tag]}).encode()
    handler = hostile.on_path({"/v2/team/app/tags/list": hostile.body(200, listing)})
    with hostile.HostileServer(handler) as server:
        outputs = []
        for fmt in ("json", "plain"):
            monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
            args = ["tags", f"http://{server.hostport}/team/app", "--format", fmt, "-v"]
            main([*args, "-u", "bob", "--password-stdin", "--timeout", "3"])
            outputs.append(capsys.readouterr().out)
    text, plain = outputs
    doc = json.loads(text)
    assert sorted(t["tag"] for t in doc["tags"]) == sorted(["v1", MASK, hostile_tag])
    assert all(MASK in d["tags"] for d in (*doc["digests"], *doc["aliases"]))
    assert password not in text and "\x1b" not in text
    assert password not in plain and "\x1b" not in plain and "\x07" not in plain
    assert MASK in plain and "v1" in plain
