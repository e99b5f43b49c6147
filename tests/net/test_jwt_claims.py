"""The token's claims are read without PyJWT (``auth_dance._unverified_claims``), accepted
and refused exactly as ``jwt.decode(token, options={"verify_signature": False})``
does: PyJWT's import (with cryptography's serialization, ~15 ms of CPU) ran in the idle
worker while the token request was in flight and held the GIL when the event loop's
next steps were due. Compared with PyJWT itself, which the tests still have."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from typing import Any

import jwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regdoctor.net import auth_dance

SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _pyjwt(token: str) -> tuple[str, Any]:
    try:
        return "ok", jwt.decode(token, options={"verify_signature": False})
    except Exception:
        return "refused", None


def _ours(token: str) -> tuple[str, Any]:
    try:
        return "ok", auth_dance._unverified_claims(token)
    except Exception:
        return "refused", None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["RS256", "ES256", "none", "HS256"]),
        "typ": st.just("JWT"),
        "kid": st.one_of(st.text(max_size=6), st.integers(), st.none()),
        "b64": st.one_of(st.booleans(), st.integers(0, 1)),
        "crit": st.one_of(
            st.lists(st.sampled_from(["b64", "exp", "x"]), max_size=2), st.text(max_size=3)
        ),
    },
)
claims = st.one_of(
    st.dictionaries(st.sampled_from(["access", "iss", "sub", "exp", "jti", "aud"]), json_values),
    st.fixed_dictionaries({"access": st.lists(json_values, max_size=3)}),
    json_values,
)


def _segment(data: bytes, how: str) -> str:
    text = _b64(data)
    if how == "padded":
        return base64.urlsafe_b64encode(data).decode()
    if how == "overpadded":
        return text + "==="
    if how == "std":  # the standard alphabet's + and /
        return base64.b64encode(data).decode().rstrip("=")
    if how == "junk":
        return text + "!"
    if how == "odd":  # a length of 4n + 1
        return text + "A" * ((1 - len(text)) % 4)
    if how == "onepad":  # one '=' on a segment whose length is then not 4n
        return text + "=" if len(text) % 4 != 3 else text + "A="
    if how == "noncanonical" and len(text) % 4 in (2, 3):  # unused bits set
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return text[:-1] + alphabet[alphabet.index(text[-1]) ^ 1]
    return text


HOWS = ["plain", "padded", "overpadded", "std", "junk", "odd", "onepad", "noncanonical"]
hows = st.sampled_from(["plain"] * len(HOWS) + HOWS)


@SETTINGS
@given(headers, claims, st.binary(max_size=12), hows, hows, hows, st.booleans())
def test_claims_are_read_as_pyjwt_reads_them(
    header: dict[str, Any],
    payload: Any,
    signature: bytes,
    how_h: str,
    how_p: str,
    how_s: str,
    header_as_json: bool,
) -> None:
    head = json.dumps(header).encode() if header_as_json else json.dumps([header]).encode()
    token = ".".join(
        (
            _segment(head, how_h),
            _segment(json.dumps(payload).encode(), how_p),
            _segment(signature, how_s),
        )
    )
    assert _ours(token) == _pyjwt(token), token


@SETTINGS
@given(headers, claims, st.binary(max_size=12))
def test_headers_and_claims_are_judged_as_pyjwt_judges_them(
    header: dict[str, Any], payload: Any, signature: bytes
) -> None:
    token = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    token += f".{_b64(signature)}"
    assert _ours(token) == _pyjwt(token), token


@SETTINGS
@given(st.binary(max_size=30), st.sampled_from(HOWS), st.integers(0, 2))
def test_segments_are_decoded_as_pyjwt_decodes_them(data: bytes, how: str, where: int) -> None:
    segments = [_b64(b'{"alg":"none"}'), _b64(b'{"access":[]}'), _b64(b"sig")]
    if where < 2:  # a JSON object in the header or claims segment
        data = json.dumps({"x": data.hex()}).encode()
    segments[where] = _segment(data, how)
    token = ".".join(segments)
    assert _ours(token) == _pyjwt(token), token


@SETTINGS
@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=10))
def test_any_three_segments_are_read_as_pyjwt_reads_them(a: str, b: str, c: str) -> None:
    empty, encoded = _b64(b"{}"), f"{_b64(a.encode())}.{_b64(b.encode())}"
    for token in (f"{a}.{b}.{c}", f"{empty}.{b}.{c}", f"{encoded}.{c}"):
        if token.count(".") == 2:
            assert _ours(token) == _pyjwt(token), token


def test_a_registry_token_and_its_scope() -> None:
    access = [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
    token = jwt.encode({"access": access, "iss": "x"}, "k" * 32, algorithm="HS256")
    assert auth_dance.token_claims(token) == ("jwt", access)
    assert auth_dance.token_claims("opaque-token") == ("opaque", None)


def test_pyjwt_is_not_imported() -> None:
    token = jwt.encode({"access": []}, "k" * 32, algorithm="HS256")
    program = (
        "import sys\n"
        "from regdoctor.net import auth_dance\n"
        f"assert auth_dance.token_claims({token!r}) == ('jwt', [])\n"
        "print('jwt' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
