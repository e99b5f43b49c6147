"""The auth dance stepped with canned responses: no network, every branch."""

import base64
import json

import jwt
import pytest

from regdoctor.model import Credentials, Secret
from regdoctor.net.auth_dance import Response, dance

BASE = "https://registry.test"
CREDS = Credentials("alice", Secret("s3cret"), source="test")
BEARER = {"www-authenticate": 'Bearer realm="https://auth.test/token",service="registry.test"'}
BASIC = {"www-authenticate": 'Basic realm="Registry Realm"'}


def drive(responses, **kwargs):
    """Run the generator, answering each request from ``responses``; return the
    requests made and the outcome."""
    generator = dance(BASE, **kwargs)
    requests = []
    answers = iter(responses)
    try:
        request = next(generator)
        while True:
            requests.append(request)
            request = generator.send(next(answers))
    except StopIteration as stop:
        return requests, stop.value


def token_body(access=None):
    claims = {"iss": "test", "access": access or []}
    token = jwt.encode(claims, "k" * 32, algorithm="HS256")
    return json.dumps({"token": token, "expires_in": 300}).encode()


def test_anonymous_registry():
    requests, outcome = drive([Response(200)], credentials=None, scope=None)
    assert [r.step for r in requests] == ["auth.challenge"]
    assert outcome.outcome == "anonymous" and outcome.ok


def test_challenge_passed_in_is_not_repeated():
    requests, outcome = drive([], credentials=None, scope=None, challenge=Response(200))
    assert requests == [] and outcome.outcome == "anonymous"


def test_basic_without_credentials():
    _, outcome = drive([Response(401, BASIC)], credentials=None, scope=None)
    assert outcome.outcome == "missing_credentials"
    assert outcome.auth_scheme == "basic"


def test_basic_with_right_credentials_sends_basic_header():
    requests, outcome = drive([Response(401, BASIC), Response(200)], credentials=CREDS, scope=None)
    assert [r.step for r in requests] == ["auth.challenge", "auth.ping"]
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert requests[1].authorization.reveal() == expected
    assert outcome.outcome == "authenticated"
    assert "s3cret" not in repr(outcome) and "s3cret" not in repr(requests)


def test_basic_with_wrong_credentials():
    _, outcome = drive([Response(401, BASIC), Response(401, BASIC)], credentials=CREDS, scope=None)
    assert outcome.outcome == "rejected_credentials"


def test_bearer_full_dance_records_scope_and_grant():
    access = [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
    requests, outcome = drive(
        [Response(401, BEARER), Response(200, body=token_body(access)), Response(200)],
        credentials=CREDS,
        scope="repository:team/app:pull",
    )
    assert [r.step for r in requests] == ["auth.challenge", "auth.token", "auth.ping"]
    assert requests[1].url == (
        "https://auth.test/token?service=registry.test&scope=repository%3Ateam%2Fapp%3Apull"
    )
    assert requests[1].sends_credentials
    assert requests[2].authorization.reveal().startswith("Bearer ")
    assert outcome.outcome == "authenticated"
    assert outcome.granted == access and outcome.token_kind == "jwt"


def test_bearer_anonymous_token():
    requests, outcome = drive(
        [
            Response(401, BEARER),
            Response(200, body=json.dumps({"access_token": "opaque"}).encode()),
            Response(200),
        ],
        credentials=None,
        scope=None,
    )
    assert requests[1].authorization is None
    assert outcome.outcome == "authenticated" and outcome.token_kind == "opaque"


@pytest.mark.parametrize(
    ("token_response", "credentials", "expected"),
    [
        (Response(401, body=b'{"details":"no"}'), None, "token_refused"),
        (Response(401), CREDS, "rejected_credentials"),
        (Response(403), CREDS, "rejected_credentials"),
        (Response(503), CREDS, "token_server_error"),
        (Response(200, body=b"{not json"), CREDS, "token_bad_response"),
        (Response(200, body=b'{"token": ""}'), CREDS, "token_bad_response"),
        (Response(None, outcome="unreachable", error="no such host"), CREDS, "token_unreachable"),
    ],
)
def test_bearer_token_server_failures(token_response, credentials, expected):
    _, outcome = drive([Response(401, BEARER), token_response], credentials=credentials, scope=None)
    assert outcome.outcome == expected
    assert not outcome.ok


def test_registry_rejects_issued_token():
    _, outcome = drive(
        [Response(401, BEARER), Response(200, body=token_body()), Response(401)],
        credentials=CREDS,
        scope=None,
    )
    assert outcome.outcome == "token_rejected"


def test_challenge_missing_and_unknown_scheme():
    _, outcome = drive([Response(401)], credentials=None, scope=None)
    assert outcome.outcome == "challenge_missing"
    _, outcome = drive(
        [Response(401, {"www-authenticate": "Negotiate"})], credentials=None, scope=None
    )
    assert outcome.outcome == "unsupported_scheme"


def test_bearer_without_realm():
    _, outcome = drive(
        [Response(401, {"www-authenticate": 'Bearer service="x"'})], credentials=None, scope=None
    )
    assert outcome.outcome == "challenge_missing"


def test_password_is_not_sent_to_plain_http_realm_of_https_registry():
    header = {"www-authenticate": 'Bearer realm="http://auth.test/token",service="s"'}
    requests, outcome = drive(
        [Response(401, header), Response(200, body=token_body()), Response(200)],
        credentials=CREDS,
        scope=None,
    )
    assert requests[1].authorization is None and not requests[1].sends_credentials
    assert outcome.credentials_withheld


def test_password_goes_to_plain_http_realm_when_insecure_allowed():
    header = {"www-authenticate": 'Bearer realm="http://auth.test/token",service="s"'}
    requests, _ = drive(
        [Response(401, header), Response(200, body=token_body()), Response(200)],
        credentials=CREDS,
        scope=None,
        allow_plain_http_credentials=True,
    )
    assert requests[1].sends_credentials
