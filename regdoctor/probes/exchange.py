"""One HTTP exchange, observed: the request goes out through the run's pinned client,
bounded by the phase timeout and the deadline, the body is read up to a cap, and the
result becomes an ``http.response`` observation whose facts the rules read.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from regdoctor import wwwauth
from regdoctor.model import Observation, Secret
from regdoctor.probes.base import ProbeContext
from regdoctor.redact import redact

_PLAIN_TO_TLS_MARKERS = (
    "client sent an http request to an https server",  # Go's net/http
    "the plain http request was sent to https port",  # nginx
    "speaking plain http to an ssl-enabled server port",  # Apache
)


@dataclass
class Exchange:
    """What came back. ``outcome`` is ``response`` or why there was none."""

    url: str
    outcome: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    error: str | None = None
    ttfb_ms: float | None = None
    duration_ms: float = 0.0
    proxy: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            return None

    @property
    def error_codes(self) -> list[str]:
        data = self.json()
        if isinstance(data, dict) and isinstance(data.get("errors"), list):
            return [str(e.get("code")) for e in data["errors"][:10] if isinstance(e, dict)]
        return []

    @property
    def error_message(self) -> str | None:
        data = self.json()
        if isinstance(data, dict) and isinstance(data.get("errors"), list) and data["errors"]:
            first = data["errors"][0]
            if isinstance(first, dict):
                return f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")
        return None


async def fetch(
    ctx: ProbeContext,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    authorization: Secret | None = None,
    body_limit: int | None = None,
) -> Exchange:
    """Send one request; never raises for network trouble (it is the result)."""
    import httpx

    client = ctx.http_client()
    limit = body_limit if body_limit is not None else ctx.options.body_limit
    request_headers = dict(headers or {})
    if authorization is not None:
        request_headers["Authorization"] = authorization.reveal()
    exchange = Exchange(url=url, outcome="response", proxy=ctx.network.proxy_for(url))
    start = time.monotonic()
    ctx.trace(f"> {method} {redact(url)} {_shown_headers(request_headers)}")
    try:
        await ctx.bounded(_send(client, method, url, request_headers, limit, exchange, start))
    except TimeoutError:
        exchange.outcome = "timeout"
        exchange.error = f"no answer within {ctx.budget():g}s (Client.Timeout exceeded)"
    except httpx.ProxyError as exc:
        exchange.outcome, exchange.error = "proxy_error", f"proxyconnect: {exc}"
    except httpx.TimeoutException as exc:
        exchange.outcome, exchange.error = "timeout", f"{type(exc).__name__}: {exc}"
    except httpx.ConnectError as exc:
        exchange.outcome, exchange.error = "connect_error", str(exc) or type(exc).__name__
    except (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.ReadError) as exc:
        exchange.outcome, exchange.error = "protocol_error", str(exc) or type(exc).__name__
    except httpx.HTTPError as exc:
        exchange.outcome, exchange.error = "error", f"{type(exc).__name__}: {exc}"
    except OSError as exc:
        exchange.outcome, exchange.error = "connect_error", f"{type(exc).__name__}: {exc}"
    exchange.duration_ms = (time.monotonic() - start) * 1000
    if exchange.outcome == "response" and exchange.status == 407:
        exchange.outcome = "proxy_error"
        exchange.error = "407 Proxy Authentication Required"
    if exchange.outcome == "response" and _is_plain_to_tls(exchange):
        exchange.outcome = "tls_on_http"
        exchange.error = "the server speaks TLS on this port: use https://"
    ctx.trace(
        f"< {exchange.status or exchange.outcome} {redact(url)} "
        f"{exchange.duration_ms:.1f}ms {exchange.error or ''}"
    )
    if ctx.options.trace is not None and exchange.headers:
        ctx.trace("<   " + _shown_headers(exchange.headers))
        if exchange.body:
            ctx.trace("<   body: " + redact(exchange.body[:300].decode("utf-8", "replace")))
    return exchange


async def _send(
    client: Any,
    method: str,
    url: str,
    headers: dict[str, str],
    limit: int,
    exchange: Exchange,
    start: float,
) -> None:
    async with client.stream(method, url, headers=headers) as response:
        exchange.ttfb_ms = (time.monotonic() - start) * 1000
        exchange.status = response.status_code
        exchange.headers = {k.lower(): v for k, v in list(response.headers.items())[:200]}
        if method == "HEAD":
            return
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                exchange.truncated = True
                break
        exchange.body = b"".join(chunks)[:limit]


_MASKED_HEADERS = {"cookie", "set-cookie", "x-registry-auth", "x-amz-security-token"}


def _shown_headers(headers: dict[str, str]) -> str:
    """Headers for the --debug trace: secrets masked (the redactor keeps the scheme of
    ``Authorization: Basic ****``; cookies and similar are masked whole)."""
    shown = []
    for name, value in headers.items():
        if name.lower() in _MASKED_HEADERS:
            shown.append(f"{name}: ****")
        else:
            shown.append(f"{name}: {redact(f'{name}: {value}').split(': ', 1)[-1]}")
    return " ".join(shown)


def _is_plain_to_tls(exchange: Exchange) -> bool:
    if exchange.status != 400 or not exchange.url.startswith("http://"):
        return False
    text = exchange.body[:2048].decode("latin-1").lower()
    return any(marker in text for marker in _PLAIN_TO_TLS_MARKERS)


def response_facts(ctx: ProbeContext, exchange: Exchange) -> dict[str, Any]:
    """The facts of an ``http.response`` observation (see docs/observations.md)."""
    challenge = wwwauth.first(exchange.header("www-authenticate"))
    facts: dict[str, Any] = {
        "url": redact(exchange.url),
        "scheme": exchange.url.split(":", 1)[0],
        "outcome": exchange.outcome,
        "status": exchange.status,
        "api_version": exchange.header("docker-distribution-api-version"),
        "content_type": exchange.header("content-type"),
        "auth_scheme": challenge.scheme if challenge else None,
        "realm": challenge.realm if challenge else None,
        "service": challenge.service if challenge else None,
        "scope": challenge.scope if challenge else None,
        "challenge_error": challenge.error if challenge else None,
        "error_codes": exchange.error_codes,
        "ttfb_ms": round(exchange.ttfb_ms, 2) if exchange.ttfb_ms is not None else None,
        "proxy": redact(exchange.proxy) if exchange.proxy else None,
        "truncated": exchange.truncated,
    }
    facts.update(_clock_facts(ctx, exchange.header("date")))
    facts.update(_ratelimit_facts(exchange))
    return facts


def _clock_facts(ctx: ProbeContext, date: str | None) -> dict[str, Any]:
    if not date:
        return {"server_date": None, "clock_skew_s": None, "clock_skew_abs_s": None}
    try:
        server = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return {"server_date": date[:64], "clock_skew_s": None, "clock_skew_abs_s": None}
    if server.tzinfo is None:
        return {"server_date": date[:64], "clock_skew_s": None, "clock_skew_abs_s": None}
    skew = (ctx.clock.now() - server).total_seconds()
    return {
        "server_date": server.isoformat(),
        "clock_skew_s": round(skew, 1),
        "clock_skew_abs_s": round(abs(skew), 1),
    }


def _ratelimit_facts(exchange: Exchange) -> dict[str, Any]:
    def number(name: str) -> int | None:
        value = exchange.header(name)
        if not value:
            return None
        head = value.split(";", 1)[0].strip()
        return int(head) if head.isdigit() else None

    return {
        "ratelimit_limit": number("ratelimit-limit"),
        "ratelimit_remaining": number("ratelimit-remaining"),
    }


def observe_exchange(
    ctx: ProbeContext,
    exchange: Exchange,
    *,
    phase: str,
    step: str,
    ok: bool,
    extra: dict[str, Any] | None = None,
) -> Observation:
    facts = response_facts(ctx, exchange)
    if extra:
        facts.update(extra)
    evidence = None
    if exchange.body and exchange.status and exchange.status >= 300:
        evidence = exchange.body[:600].decode("utf-8", errors="replace")
    error = exchange.error
    if error is None and exchange.status is not None and not ok:
        error = f"HTTP {exchange.status}" + (
            f" {exchange.error_message}" if exchange.error_message else ""
        )
    return ctx.observe(
        "http.response",
        ok=ok,
        phase=phase,
        step=step,
        facts=facts,
        error=error,
        evidence=evidence,
        duration_ms=exchange.duration_ms,
    )
