"""regdoctor.redact.secrets: the one place secrets are masked."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from regdoctor.model import Secret
from regdoctor.redact.secrets import MASK, Redactor, redact, redact_obj

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"

# (input, secrets that must be gone, text that must stay)
CASES: list[tuple[str, list[str], list[str]]] = [
    # Authorization headers
    ("Authorization: Bearer abc.def-123", ["abc.def-123"], ["Authorization: Bearer ****"]),
    ("authorization: Basic dXNlcjpwYXNz\nHost: x", ["dXNlcjpwYXNz"], ["Basic ****", "Host: x"]),
    ("Proxy-Authorization: Basic Ym9iOnNlY3JldA==", ["Ym9iOnNlY3JldA"], ["Proxy-Authorization"]),
    ("AUTHORIZATION=opaque-value-here", ["opaque-value-here"], ["AUTHORIZATION="]),
    ('{"Authorization": ["Bearer xyz123456"], "Accept": "a"}', ["xyz123456"], ['"Accept": "a"']),
    ("map[Authorization:[Bearer tok_1234567] User-Agent:[x]]", ["tok_1234567"], ["User-Agent"]),
    ("Authorization: Token 0123456789abcdef", ["0123456789abcdef"], ["Authorization: Token"]),
    ("Authorization: Bearer\nHost: example", [], ["Host: example"]),
    # Bearer and Basic in free text
    ("got token Bearer tok-0123456789 from server", ["tok-0123456789"], ["from server"]),
    (
        '"Bearer abcdefghijklmnopqrstuvwxyzABCD"',
        ["abcdefghijklmnopqrstuvwxyzABCD"],
        ['"Bearer ****"'],
    ),
    ("Basic dXNlcjpwYXNz", ["dXNlcjpwYXNz"], ["Basic ****"]),
    # JWTs anywhere
    (f"token {JWT} end", [JWT, "eyJzdWIiOiIxMjM0NTY3ODkwIn0"], ["token ", " end"]),
    (f"id={JWT}", [JWT], ["id="]),
    (f'{{"token":"{JWT}"}}', [JWT], ['"token"']),
    # URL user info
    ("https://user:s3cret@registry.example.com:5000/v2/", ["s3cret"], ["https://user:****@"]),
    ("http://proxy-user:p%40ss@proxy:3128", ["p%40ss"], ["proxy-user", "@proxy:3128"]),
    ("proxyconnect tcp: dial http://:tok@proxy:8080", ["tok@"], ["http://:****@proxy:8080"]),
    # signed URLs: keep path, mask every query value
    (
        "https://bucket.s3.amazonaws.com/docker/blob?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAEXAMPLE%2F20240501&X-Amz-Signature=abcdef0123 next",
        ["AKIAEXAMPLE", "abcdef0123", "AWS4-HMAC-SHA256"],
        ["https://bucket.s3.amazonaws.com/docker/blob?X-Amz-Algorithm=****", " next"],
    ),
    (
        "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4&X-Goog-Signature=0a1b2c",
        ["0a1b2c"],
        ["https://storage.googleapis.com/b/o?"],
    ),
    (
        "https://acct.blob.core.windows.net/c/blob?sv=2020&se=2024&sig=Zm9vYmFy%3D",
        ["Zm9vYmFy"],
        ["/c/blob?sv=****&se=****&sig=****"],
    ),
    ("GET /v2/x/blobs/sha256:1?token=abc123&x=1", ["abc123"], ["?token=****&x=1"]),
    ("redirect to /blob?access_token=zzz999", ["zzz999"], ["access_token=****"]),
    ("login?user=bob&password=hunter2", ["hunter2"], ["user=bob", "password=****"]),
    # JSON text
    (
        '{"auths": {"r.example.com": {"auth": "dXNlcjpwYXNz", "identitytoken": "tok"}}}',
        ["dXNlcjpwYXNz", '"tok"'],
        ['"auth": "****"', '"identitytoken": "****"', "r.example.com"],
    ),
    ('{"password": "pa\\"zz"}', ['pa\\"zz', "zz"], ['{"password": "****"}']),
    ('{"username":"bob","password":"hunter2"}', ["hunter2"], ['"username":"bob"']),
    ('{"token": "t0k", "access_token": "a1", "refresh_token": "r1"}', ["t0k", "a1", "r1"], []),
    ('{"RegistryToken": "r2"}', ["r2"], ['"RegistryToken"']),
    ("{'password': 'hunter2'}", ["hunter2"], ["'password': '****'"]),
    ('{"token_kind": "jwt", "auth_scheme": "bearer"}', [], ['"jwt"', '"bearer"']),
    # command lines
    ("docker login --password=hunter2 -u bob", ["hunter2"], ["--password=****", "-u bob"]),
    ("client_secret=abc&x=y", ["abc"], ["client_secret=****"]),
    ("docker login --password hunter2 r", ["hunter2"], ["--password ****"]),
    ("kubectl create secret docker-registry x --docker-password=hunter2", ["hunter2"], []),
    ("skopeo copy --src-creds bob:hunter2 a b", ["hunter2"], ["--src-creds bob:****"]),
    ('{\\"password\\":\\"hunter2\\",\\"x\\":1}', ["hunter2"], ['\\"x\\":1']),
]

# Text that must come through untouched: real error messages and prose.
UNTOUCHED = [
    "no basic auth credentials",
    "unauthorized: authentication required",
    "denied: Your authorization token has expired. Reauthenticate and try again.",
    'WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
    'Www-Authenticate: Basic realm="Registry Realm"',
    "The registry asks for Bearer authentication. Get a Bearer token first.",
    "https://auth.docker.io/token?scope=repository:library/ubuntu:pull&service=registry.docker.io",
    "https://registry.example.com:5000/v2/",
    "x509: certificate signed by unknown authority",
    'Get "https://r.example.com/v2/": dial tcp 192.0.2.5:443: connect: connection refused',
    "",
    MASK,
    # placeholders and variables in remediation commands are not secrets
    'curl -H "Authorization: Bearer $TOKEN" https://r.example.com/v2/',
    "Authorization: Basic <base64 of user:password>",
    "https://bob:${PASS}@r.example.com/v2/",
    '{"password": "<your password>"}',
    "docker login --password-stdin r.example.com",
    "docker login -u bob --password=$(cat pass.txt) r.example.com",
    "podman login --password $REGISTRY_PASSWORD r.example.com",
    "docker run -d -p 5000:5000 registry:2",
]


@pytest.mark.parametrize(("text", "gone", "kept"), CASES)
def test_redact_masks(text: str, gone: list[str], kept: list[str]) -> None:
    out = redact(text)
    for secret in gone:
        assert secret not in out, (text, out)
    for part in kept:
        assert part in out, (text, out)
    assert redact(out) == out  # idempotent


@pytest.mark.parametrize("text", UNTOUCHED)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_basic_only_masked_when_it_is_a_credential_pair() -> None:
    assert redact("Basic auth") == "Basic auth"
    pair = base64.b64encode(b"bob:secret").decode()
    assert redact(f"Basic {pair}") == "Basic ****"


def test_redact_obj_walks_and_masks_sensitive_keys() -> None:
    data: dict[str, Any] = {
        "facts": {
            "password": "plain",
            "Authorization": "opaque",
            "auth_scheme": "basic",
            "token_kind": "jwt",
            "nested": [{"token": "t"}, ("Bearer abcdefgh123",), 5, None, True],
            "secret_obj": Secret("hidden"),
        },
        "evidence": f"Authorization: Bearer {JWT}",
        "count": 3,
    }
    out = redact_obj(data)
    text = json.dumps(out, default=str)
    for s in ("plain", "opaque", '"t"', "abcdefgh123", "hidden", JWT):
        assert s not in text
    assert out["facts"]["auth_scheme"] == "basic"
    assert out["facts"]["token_kind"] == "jwt"
    assert out["facts"]["nested"][1] == ("Bearer ****",)
    assert out["facts"]["nested"][2:] == [5, None, True]
    assert out["count"] == 3
    assert data["facts"]["password"] == "plain"  # input untouched


def test_sensitive_key_with_empty_or_non_string_value() -> None:
    assert redact_obj({"password": "", "token": None}) == {"password": "", "token": None}


def test_redactor_literals_and_variants() -> None:
    r = Redactor([Secret("p@ss word/1")])
    text = 'login "p@ss word/1" url=p%40ss%20word%2F1 form=p%40ss+word%2F1'
    out = r.redact(text)
    assert "p@ss word/1" not in out
    assert "p%40ss%20word%2F1" not in out
    assert "p%40ss+word%2F1" not in out
    assert r("x") == "x"
    assert "p@ss" not in repr(r)


def test_redactor_credentials_pair() -> None:
    r = Redactor()
    r.add_credentials("bob", "hunter2")
    pair = base64.b64encode(b"bob:hunter2").decode()
    out = r.redact(f'{{"auth-ish": "{pair}"}} and hunter2')
    assert pair not in out and "hunter2" not in out


def test_redactor_ignores_unmaskable_values() -> None:
    r = Redactor(["", "   ", "**", "*"])
    assert len(r) == 0
    assert r.redact("a ** b") == "a ** b"


def test_redactor_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        Redactor([123])  # type: ignore[list-item]


def test_redactor_obj() -> None:
    r = Redactor(["hunter2"])
    assert r.redact_obj({"hunter2": ["x hunter2 y"]}) == {MASK: [f"x {MASK} y"]}


def test_redactor_secret_with_asterisk_next_to_mask() -> None:
    r = Redactor(["a*"])
    for text in ("aa*", "a" + "a*" * 5, "Authorization: Bearer a*a*"):
        assert "a*" not in r.redact(text)


def test_redact_is_fast_on_a_megabyte() -> None:
    big = ("Authorization: Bearer abc123456789 https://u:p@h/x?token=1 " * 20000)[:1_000_000]
    start = time.perf_counter()
    out = redact(big)
    assert time.perf_counter() - start < 5
    assert "abc123456789" not in out
    plain = "x" * 1_000_000
    start = time.perf_counter()
    assert redact(plain) is plain or redact(plain) == plain
    assert time.perf_counter() - start < 2


_CONTEXTS = [
    "{}",
    "Authorization: Bearer {}",
    "Authorization: Basic {}\r\nHost: h",
    "https://user:{}@registry.example.com/v2/",
    "https://h/p?X-Amz-Signature={}&a=b",
    '{{"password": "{}"}}',
    "{{'auth': '{}'}}",
    "--password={} -u bob",
    "Bearer {}",
]

_secrets = st.text(min_size=1, max_size=40).filter(lambda s: bool(s.strip() and s.strip("*")))


def _strings(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in _strings(k) + _strings(v)]
    if isinstance(obj, list | tuple):
        return [s for v in obj for s in _strings(v)]
    return []


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    secret=_secrets,
    prefix=st.text(max_size=60),
    suffix=st.text(max_size=60),
    context=st.sampled_from(_CONTEXTS),
)
@example(secret="a*", prefix="a", suffix="", context="{}")
@example(secret="*x", prefix="", suffix="*", context="Bearer {}")
@example(secret="Bearer", prefix="", suffix="", context="Authorization: Bearer {}")
@example(secret="4", prefix="", suffix="", context="https://h/p?X-Amz-Signature={}&a=b")
def test_registered_secret_never_survives(
    secret: str, prefix: str, suffix: str, context: str
) -> None:
    redactor = Redactor([secret])
    text = prefix + context.replace("{}", secret) + suffix
    assert secret not in redactor.redact(text)
    nested = redactor.redact_obj({"k": [text, {text: (text,)}]})
    assert all(secret not in s for s in _strings(nested))


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=200))
def test_redact_never_fails_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
