"""The registry auth dance as a sans-I/O generator.

    anonymous GET /v2/ -> 401 + WWW-Authenticate
      Basic  -> GET /v2/ with credentials                          (auth.ping)
      Bearer -> GET realm?service=..&scope=.. [with credentials]   (auth.token)
             -> GET /v2/ with the token                            (auth.ping)

The generator yields :class:`Request` objects and is sent :class:`Response` objects; it
returns an :class:`Outcome`. It does no I/O, so every branch is unit-tested with canned
responses, and the driver (``probes/auth.py``) records each step as an observation —
which an ``httpx.Auth`` would hide (only the last response survives there).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from regdoctor.model import Secret
from regdoctor.net import wwwauth
from regdoctor.redact import secrets as redact

if TYPE_CHECKING:
    from regdoctor.model import Credentials

MAX_TOKEN_BYTES = 64 * 1024


@dataclass(frozen=True)
class Request:
    """A request the auth dance asks the caller to send."""

    step: str  # auth.challenge, auth.token, auth.ping
    method: str
    url: str
    authorization: Secret | None = None
    sends_credentials: bool = False


@dataclass(frozen=True)
class Response:
    """What the caller received for a :class:`Request` (or why nothing came)."""

    status: int | None  # None: no HTTP answer (see ``outcome``)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    outcome: str = "response"  # or timeout, connect_error, unreachable, ...
    error: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Outcome:
    """Where the auth dance ended: the scheme, the token's scope and grant."""

    outcome: str
    auth_scheme: str = "none"
    status: int | None = None
    authorization: Secret | None = None
    realm: str | None = None
    service: str | None = None
    scope: str | None = None
    granted: list[dict[str, Any]] | None = None
    token_kind: str | None = None
    expires_in: int | None = None
    error: str | None = None
    credentials_withheld: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("anonymous", "authenticated")


Dance = Generator[Request, Response, Outcome]


def basic_header(credentials: Credentials) -> Secret:
    raw = f"{credentials.username}:{credentials.password.reveal()}".encode()
    return Secret("Basic " + base64.b64encode(raw).decode())


def token_url(realm: str, service: str | None, scope: str | None) -> str:
    parts = urlsplit(realm)
    query = [(k, v) for k, v in _parse_qsl(parts.query)]
    if service:
        query.append(("service", service))
    if scope:
        query.append(("scope", scope))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


def _parse_qsl(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)[:20]


def decode_token(body: bytes) -> tuple[str | None, int | None]:
    """The token (``token`` or ``access_token``) and ``expires_in`` from a realm answer."""
    if len(body) > MAX_TOKEN_BYTES:
        return None, None
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    for key in ("token", "access_token", "refresh_token", "id_token"):
        if isinstance(data.get(key), str):
            redact.remember(data[key])  # secrets of this run, wherever they are echoed
    token = data.get("token") or data.get("access_token")
    if not isinstance(token, str) or not token:
        return None, None
    expires = data.get("expires_in")
    return token, expires if isinstance(expires, int) else None


def prepare() -> None:
    """Import what :func:`token_claims` needs (PyJWT), ahead of the token."""
    import jwt  # noqa: F401


def token_claims(token: str) -> tuple[str, list[dict[str, Any]] | None]:
    """``("jwt", access)`` for a JWT (signature not verified: we only read the scope
    the token server granted), ``("opaque", None)`` otherwise."""
    if token.count(".") != 2:
        return "opaque", None
    try:
        import jwt

        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:
        return "opaque", None
    access = claims.get("access") if isinstance(claims, dict) else None
    if not isinstance(access, list):
        return "jwt", None
    granted = [
        {"type": a.get("type"), "name": a.get("name"), "actions": list(a.get("actions") or [])}
        for a in access[:20]
        if isinstance(a, dict)
    ]
    return "jwt", granted


def dance(
    base_url: str,
    *,
    credentials: Credentials | None,
    scope: str | None,
    challenge: Response | None = None,
    allow_plain_http_credentials: bool = False,
    basic_only: bool = False,
) -> Dance:
    """Run the dance against ``base_url`` (``https://host:port``). ``challenge`` is the
    answer to an anonymous ``GET /v2/`` already made (the HTTP phase makes it).
    ``basic_only``: the credentials go to a Basic challenge only; a token realm gets
    none (an ``auths`` entry with an ``identitytoken``: for a Bearer challenge the
    runtimes send that refresh token instead of the password, which regdoctor does not)."""
    ping_url = f"{base_url}/v2/"
    if challenge is None:
        challenge = yield Request("auth.challenge", "GET", ping_url)
    if challenge.status is None:
        return Outcome("error", error=challenge.error or challenge.outcome)
    if challenge.status == 200:
        return Outcome("anonymous", status=200)
    if challenge.status != 401:
        return Outcome(
            "error", status=challenge.status, error=f"unexpected HTTP {challenge.status}"
        )
    header = challenge.header("www-authenticate")
    chosen = wwwauth.first(header)
    if chosen is None:
        return Outcome(
            "challenge_missing", status=401, error="401 without a WWW-Authenticate challenge"
        )
    if chosen.scheme == "basic":
        return (yield from _basic(ping_url, credentials, chosen))
    if chosen.scheme == "bearer":
        return (
            yield from _bearer(
                ping_url,
                base_url,
                None if basic_only else credentials,
                scope,
                chosen,
                allow_plain_http_credentials,
            )
        )
    return Outcome(
        "unsupported_scheme",
        auth_scheme=chosen.scheme,
        status=401,
        error=f"unsupported auth scheme {chosen.scheme!r}",
    )


def _basic(ping_url: str, credentials: Credentials | None, chosen: wwwauth.Challenge) -> Dance:
    if credentials is None:
        return Outcome(
            "missing_credentials",
            auth_scheme="basic",
            status=401,
            realm=chosen.realm,
            error="no basic auth credentials",
        )
    authorization = basic_header(credentials)
    answer = yield Request("auth.ping", "GET", ping_url, authorization, sends_credentials=True)
    if answer.status == 200:
        return Outcome(
            "authenticated",
            auth_scheme="basic",
            status=200,
            authorization=authorization,
            realm=chosen.realm,
        )
    if answer.status == 401:
        return Outcome(
            "rejected_credentials",
            auth_scheme="basic",
            status=401,
            realm=chosen.realm,
            error="unauthorized: incorrect username or password",
        )
    return Outcome(
        "error",
        auth_scheme="basic",
        status=answer.status,
        realm=chosen.realm,
        error=answer.error or f"unexpected HTTP {answer.status}",
    )


def _bearer(
    ping_url: str,
    base_url: str,
    credentials: Credentials | None,
    scope: str | None,
    chosen: wwwauth.Challenge,
    allow_plain_http_credentials: bool,
) -> Dance:
    realm, service = chosen.realm, chosen.service
    base = Outcome("error", auth_scheme="bearer", realm=realm, service=service, scope=scope)
    parts = urlsplit(realm) if realm else None
    if not realm or parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return replace(
            base,
            outcome="challenge_missing",
            status=401,
            error=f"bearer challenge without a usable realm: {realm!r}",
        )
    send_credentials = credentials is not None
    if (
        send_credentials
        and parts.scheme == "http"
        and base_url.startswith("https://")
        and not allow_plain_http_credentials
    ):
        send_credentials = False
        base = replace(
            base,
            credentials_withheld=(
                "the token realm is plain HTTP; credentials are not sent over it"
            ),
        )
    authorization = basic_header(credentials) if send_credentials and credentials else None
    answer = yield Request(
        "auth.token",
        "GET",
        token_url(realm, service, scope),
        authorization,
        sends_credentials=send_credentials,
    )
    status = answer.status
    if status is None:
        return replace(base, outcome="token_unreachable", error=answer.error or answer.outcome)
    refused = "rejected_credentials" if send_credentials else "token_refused"
    if status in (401, 403):
        return replace(
            base, outcome=refused, status=status, error=_short(answer.body) or f"HTTP {status}"
        )
    if status >= 500:
        return replace(
            base,
            outcome="token_server_error",
            status=status,
            error=f"token server answered HTTP {status}",
        )
    if status != 200:
        return replace(
            base, outcome=refused, status=status, error=f"token server answered HTTP {status}"
        )
    token, expires_in = decode_token(answer.body)
    if token is None:
        return replace(
            base,
            outcome="token_bad_response",
            status=200,
            error="the token server's answer is not JSON with a token",
        )
    kind, granted = token_claims(token)
    bearer = Secret(f"Bearer {token}")
    base = replace(base, granted=granted, token_kind=kind, expires_in=expires_in)
    ping = yield Request("auth.ping", "GET", ping_url, bearer)
    if ping.status == 200:
        return replace(base, outcome="authenticated", status=200, authorization=bearer)
    if ping.status == 401:
        return replace(
            base,
            outcome="token_rejected",
            status=401,
            error="the registry rejected the issued token",
        )
    return replace(base, status=ping.status, error=ping.error or f"unexpected HTTP {ping.status}")


def _short(body: bytes) -> str | None:
    text = body[:300].decode("utf-8", errors="replace").strip()
    return text or None
