"""Secrets in JSON that is itself inside a JSON string, escaped once or more (a container's
JSON log line whose message is a JSON document that quotes another one): masked at every
level, and the escaping around the mask left intact."""

from __future__ import annotations

import json

import pytest

from regdoctor.redact.secrets import MASK, Redactor, redact, redact_lines


def _escaped(document: object, times: int) -> str:
    text = json.dumps(document)
    for _ in range(times):
        text = json.dumps(text)
    return text


def _unescaped(text: str, times: int) -> object:
    for _ in range(times):
        text = json.loads(text)
    return json.loads(text)


@pytest.mark.parametrize("times", [1, 2, 3])
@pytest.mark.parametrize(
    ("document", "secret", "masked"),
    [
        ({"username": "bob", "password": "s3cr3t-pw"}, "s3cr3t-pw", {"password": MASK}),
        ({"access_token": "tok-0123456789", "n": 1}, "tok-0123456789", {"access_token": MASK}),
        (
            {"auths": {"r.example": {"auth": "Ym9iOmh1bnRlcjI="}}},
            "Ym9iOmh1bnRlcjI=",
            {"auths": {"r.example": {"auth": MASK}}},
        ),
        (
            {"Authorization": "Bearer abc.def-12345678", "Accept": "x"},
            "abc.def-12345678",
            {"Authorization": f"Bearer {MASK}", "Accept": "x"},
        ),
        (
            {"password": 'with "quotes" and \\ s3cr3t', "user": "bob"},
            "s3cr3t",
            {"password": MASK, "user": "bob"},
        ),
    ],
)
def test_escaped_json_is_masked_and_stays_valid(document, secret, masked, times):
    text = _escaped(document, times)
    line = f'{{"log":{json.dumps(text)},"stream":"stderr"}}' if times == 1 else text
    for out in (redact(text), redact_lines(text), Redactor().redact(text)):
        assert secret not in out
        # the escaping around the mask is intact: the document still decodes
        decoded = _unescaped(out, times)
        assert isinstance(decoded, dict)
        for key, value in masked.items():
            assert decoded[key] == value
    assert secret not in redact(line)


def test_the_double_escaped_password_of_a_log_line():
    """The case of the issue: a daemon's JSON log line whose message quotes a request
    body that is itself a JSON string."""
    line = (
        '{"log":"level=error msg=\\"login failed\\" body=\\"{\\\\\\"username\\\\\\":'
        '\\\\\\"bob\\\\\\",\\\\\\"password\\\\\\":\\\\\\"s3cr3t\\\\\\"}\\"\\n","stream":"stderr"}'
    )
    assert "s3cr3t" in json.loads(line)["log"]  # the test's own premise
    out = redact(line)
    assert "s3cr3t" not in out
    assert '\\\\\\"username\\\\\\":\\\\\\"bob\\\\\\"' in out  # the rest is untouched
    assert json.loads(out)["log"].endswith('\\"password\\":\\"****\\"}"\n')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an empty value is not a secret, and the mask does not run into the next key
        (_escaped({"password": "", "n": "v"}, 2), _escaped({"password": "", "n": "v"}, 2)),
        # a placeholder is left alone, escaped or not
        (
            json.dumps(json.dumps('--docker-password="$REGISTRY_PASSWORD" -n x')),
            json.dumps(json.dumps('--docker-password="$REGISTRY_PASSWORD" -n x')),
        ),
        (
            json.dumps(json.dumps('--password "hunter2" -u bob')),
            json.dumps(json.dumps(f'--password "{MASK}" -u bob')),
        ),
        (
            json.dumps(json.dumps('password="hunter2" user=bob')),
            json.dumps(json.dumps(f'password="{MASK}" user=bob')),
        ),
    ],
)
def test_escaped_edges(text, expected):
    assert redact(text) == expected
