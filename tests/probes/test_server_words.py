"""What a server itself said in an error answer, as a finding quotes it."""

import pytest

from regdoctor.probes.exchange import MAX_SERVER_WORDS, Exchange, server_words


def _answer(body: bytes, status: int = 401) -> Exchange:
    return Exchange(
        url="https://auth.test/token", outcome="response", status=status, headers={}, body=body
    )


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required",'
            b'"detail":"the token server refuses every request"}]}',
            "authentication required (the token server refuses every request)",
        ),
        (b'{"details":"incorrect username or password"}', "incorrect username or password"),
        (b'{"error":"invalid_grant","error_description":"token expired"}', "token expired"),
        (b'{"error":"unauthorized_client"}', "unauthorized_client"),
        (b"\n\n503 Service Unavailable\nmore\n", "503 Service Unavailable"),
        (b"<html><head><title>Sign in - SSO</title></head><body>", "Sign in - SSO"),
        (b"{not json", "{not json"),
        (b"", None),
        (b"   \n  ", None),
    ],
)
def test_the_servers_own_words(body: bytes, said: str | None) -> None:
    assert server_words(_answer(body)) == said


def test_the_words_are_escaped_capped_and_redacted() -> None:
    said = server_words(_answer(b'{"message":"bad \\u001b[31mred\\u001b[0m ' + b"x" * 500 + b'"}'))
    assert said is not None and "\x1b" not in said and len(said) <= MAX_SERVER_WORDS
    said = server_words(_answer(b"denied for Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln"))
    assert said is not None and "eyJhbGciOiJFUzI1NiJ9" not in said
    assert server_words(Exchange(url="u", outcome="timeout")) is None
