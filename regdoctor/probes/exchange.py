"""One HTTP exchange, observed: the request goes out through the run's pinned client,
bounded by the phase timeout and the deadline, the body is read up to a cap, and the
result becomes an ``http.response`` observation whose facts the rules read.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from regdoctor.escape import safe_text
from regdoctor.model import Observation, Secret
from regdoctor.net import roundtrips, wwwauth
from regdoctor.net.handover import Gate
from regdoctor.probes.base import ProbeContext
from regdoctor.redact.secrets import redact

#: What a server's error JSON may put into an observation (codes, one message).
MAX_ERROR_CODE = 64
MAX_ERROR_MESSAGE = 1000
MAX_ERROR_DETAIL = 600
#: Headers kept per response (a hostile server may send 10,000).
MAX_HEADERS = 200
#: Go clients send ``Accept-Encoding: gzip`` and decode it; so do we, with the body cap
#: applied to the *decoded* size (a gzip bomb stops at the cap).
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}

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
        """The body as JSON, or None (invalid, too deep, numbers too long...)."""
        return self._document

    @cached_property
    def _document(self) -> Any:
        return parse_json(self.body)

    @property
    def error_codes(self) -> list[str]:
        return error_codes(self.json())

    @property
    def error_message(self) -> str | None:
        return error_message(self.json())

    @property
    def error_detail(self) -> str | None:
        return error_detail(self.json())


def parse_json(body: bytes) -> Any:
    """JSON from an untrusted body: None instead of an exception, whatever the input."""
    try:
        return json.loads(body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None


def _short(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)[: limit + 1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_codes(data: Any) -> list[str]:
    """The ``code`` of each entry of a distribution error document (at most 10)."""
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        entries = [e for e in data["errors"][:10] if isinstance(e, dict)]
        return [_short(e.get("code"), MAX_ERROR_CODE) for e in entries]
    return []


def error_message(data: Any) -> str | None:
    """``CODE: message`` of the first entry of a distribution error document."""
    if isinstance(data, dict) and isinstance(data.get("errors"), list) and data["errors"]:
        first = data["errors"][0]
        if isinstance(first, dict):
            code = _short(first.get("code", ""), MAX_ERROR_CODE)
            message = _short(first.get("message", ""), MAX_ERROR_MESSAGE)
            return f"{code}: {message}".strip(": ") or None
    return None


#: How much of a server's own words a finding quotes.
MAX_SERVER_WORDS = 200


def server_words(exchange: Exchange) -> str | None:
    """What the server itself said in an error answer, for a finding to quote: the
    ``message`` (and ``detail``) of a distribution error document, a token server's
    ``details``, ``error_description``, ``error`` or ``message``, else an HTML page's
    title or the body's first non-blank line; redacted, escaped for a terminal, on one
    line, at most ``MAX_SERVER_WORDS`` characters. None without a body."""
    import re

    if exchange.outcome != "response" or not exchange.body:
        return None
    data = exchange.json()
    text: str | None = None
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message = errors[0].get("message")
            detail = errors[0].get("detail")
            text = str(message) if message not in (None, "") else None
            if isinstance(detail, str) and detail:
                text = f"{text} ({detail})" if text else detail
        if text is None:
            for key in ("details", "error_description", "error", "message"):
                value = data.get(key)
                if isinstance(value, str) and value.strip():
                    text = value
                    break
    if text is None:
        body = exchange.body[:4096].decode("utf-8", errors="replace")
        title = re.search(r"<title[^>]*>([^<]{1,300})</title>", body, re.I)
        if title:
            text = title.group(1)
        else:
            text = next((line for line in body.splitlines() if line.strip()), None)
    if text is None or not text.strip():
        return None
    one_line = " ".join(redact(text).split())
    return safe_text(one_line, keep_newlines=False, max_chars=MAX_SERVER_WORDS) or None


def error_detail(data: Any) -> str | None:
    """The ``detail`` of the first entry of a distribution error document, as compact
    JSON (a storage driver's error: its driver, operation and path), or None."""
    if isinstance(data, dict) and isinstance(data.get("errors"), list) and data["errors"]:
        first = data["errors"][0]
        if isinstance(first, dict) and first.get("detail") not in (None, "", [], {}):
            detail = first["detail"]
            text = (
                detail
                if isinstance(detail, str)
                else json.dumps(detail, separators=(",", ":"), default=str)[: MAX_ERROR_DETAIL + 1]
            )
            return _short(text, MAX_ERROR_DETAIL)
    return None


async def fetch(
    ctx: ProbeContext,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    authorization: Secret | None = None,
    body_limit: int | None = None,
    label: str | None = None,
) -> Exchange:
    """Send one request; never raises for network trouble (it is the result). It is
    recorded on the target's critical path as ``label`` (default: what the URL names);
    an optional probe's request waits until the critical path leaves the endpoint's
    connection idle (:class:`regdoctor.net.handover.Gate`), unless a spare connection
    is at hand."""
    from regdoctor.net.http_client import InvalidURL, parse_url
    from regdoctor.net.lean_httpcore import httpcore

    try:  # the proxy choice and the endpoint key split the URL before the client does
        parse_url(url)
    except InvalidURL as exc:  # a hostile realm's URL: this request fails, nothing else
        return Exchange(url=url, outcome="error", error=f"InvalidURL: {exc}")
    except httpcore.UnsupportedProtocol:
        pass  # no host, ftp://: the client says so as the exchange's error, as before
    gate = ctx.state.extra.get("gate")
    if not isinstance(gate, Gate):
        gate = ctx.state.extra["gate"] = Gate()
    key = origin(url)
    spare = ctx.optional and _has_spare(ctx, url)
    async with gate.optional(key, spare=spare) if ctx.optional else gate.critical(key):
        exchange = await _fetch(ctx, method, url, headers, authorization, body_limit)
    roundtrips.record(label or _label(method, url), exchange.duration_ms, host=key)
    return exchange


def _has_spare(ctx: ProbeContext, url: str) -> bool:
    """Whether a spare connection to the URL's endpoint is at hand (an optional request
    then goes at once: the pool takes the idle connection, or else the spare)."""
    from urllib.parse import urlsplit

    if ctx.network.proxy_for(url) is not None:
        return False
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    return ctx.network.handover(ctx.state).has_spare(parts.hostname or "", port)


def origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    return f"{parts.scheme}://{parts.hostname or ''}:{port}"


def _label(method: str, url: str) -> str:
    """``GET /v2/``, ``HEAD manifest``, ``GET tags/list``...: the request, in brief."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    if path.rstrip("/") == "/v2":
        return f"{method} /v2/"
    for marker, name in (("/manifests/", "manifest"), ("/blobs/", "blob")):
        if marker in path:
            return f"{method} {name}"
    if path.endswith("/tags/list"):
        return f"{method} tags/list"
    return f"{method} {safe_text(path[:80], keep_newlines=False)}"


async def _fetch(
    ctx: ProbeContext,
    method: str,
    url: str,
    headers: dict[str, str] | None,
    authorization: Secret | None,
    body_limit: int | None,
) -> Exchange:
    from regdoctor.net.http_client import InvalidURL
    from regdoctor.net.lean_httpcore import httpcore

    client = ctx.http_client()
    limit = body_limit if body_limit is not None else ctx.options.body_limit
    request_headers = dict(headers or {})
    request_headers.setdefault("Accept-Encoding", "gzip")
    if authorization is not None:
        request_headers["Authorization"] = authorization.reveal()
    exchange = Exchange(url=url, outcome="response", proxy=ctx.network.proxy_for(url))
    start = time.monotonic()
    tracing = ctx.options.trace is not None
    if tracing:  # the trace line costs a redaction pass: only for --debug
        ctx.trace(f"> {method} {_shown(url)} {_shown_headers(request_headers)}")
    budget = ctx.http_budget()
    # the run's idle work (net/idle.py) begins once the first request is written
    extensions = {} if ctx.network.idle.started else {"trace": _idle_when_sent(ctx)}
    try:
        await ctx.bounded(
            _send(client, method, url, request_headers, limit, exchange, start, extensions),
            budget,
        )
    except TimeoutError:
        exchange.outcome = "timeout"
        exchange.error = f"no answer within {budget:g}s (Client.Timeout exceeded)"
    except httpcore.ProxyError as exc:
        exchange.outcome, exchange.error = "proxy_error", f"proxyconnect: {exc}"
    except httpcore.TimeoutException as exc:
        exchange.outcome, exchange.error = "timeout", f"{type(exc).__name__}: {exc}"
    except httpcore.ConnectError as exc:
        exchange.outcome, exchange.error = "connect_error", str(exc) or type(exc).__name__
    except (httpcore.RemoteProtocolError, httpcore.LocalProtocolError, httpcore.ReadError) as exc:
        exchange.outcome, exchange.error = "protocol_error", _protocol_error(exc)
    except (
        httpcore.NetworkError,  # WriteError, CloseError
        httpcore.ProtocolError,
        httpcore.UnsupportedProtocol,  # an ftp:// realm
        InvalidURL,
    ) as exc:  # as httpx named them: its classes bore httpcore's names and texts
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
    if tracing:
        ctx.trace(
            f"< {exchange.status or exchange.outcome} {_shown(url)} "
            f"{exchange.duration_ms:.1f}ms {_shown(exchange.error or '')}"
        )
    if tracing and exchange.headers:
        ctx.trace("<   " + _shown_headers(exchange.headers))
        if exchange.body:
            ctx.trace("<   body: " + _shown(exchange.body[:300].decode("utf-8", "replace")))
    return exchange


def _shown(text: str) -> str:
    """Untrusted text for the --debug trace: redacted, then every control character
    escaped (a server's ``ESC ] 52`` must not reach the terminal through stderr)."""
    return safe_text(redact(text), keep_newlines=False, max_chars=2000)


def _protocol_error(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "Receive buffer too long" in text:
        # h11 gives up on a response head (status line + headers) over 100 KiB.
        return "the response headers are too large (over 100 KiB): Receive buffer too long"
    return text


async def _send(
    client: Any,
    method: str,
    url: str,
    headers: dict[str, str],
    limit: int,
    exchange: Exchange,
    start: float,
    extensions: dict[str, Any] | None = None,
) -> None:
    async with client.stream(method, url, headers=headers, extensions=extensions) as response:
        exchange.ttfb_ms = (time.monotonic() - start) * 1000
        exchange.status = response.status_code
        exchange.headers = {}
        for name, value in response.headers.items():  # repeated headers come joined
            if len(exchange.headers) >= MAX_HEADERS:
                break
            exchange.headers[name.lower()] = value
        if method == "HEAD":
            # no body; reading it lets the connection go back to the pool (unread, the
            # client closes it and the next request would dial again)
            await response.aread()
            return
        exchange.body, exchange.truncated = await read_capped(
            response.aiter_raw(), limit, exchange.header("content-encoding")
        )


def _idle_when_sent(ctx: ProbeContext) -> Any:
    """An httpcore ``trace`` extension that starts the run's idle work once the request
    is written (the task then only waits for the answer)."""

    async def trace(event: str, _info: dict[str, Any]) -> None:
        if event.endswith("send_request_body.complete"):
            ctx.network.idle.start()

    return trace


async def read_capped(chunks: Any, limit: int, encoding: str | None) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes of body (after gzip/deflate decoding, which is how
    Go clients see it) and say whether there was more. Never holds more than ``limit``
    plus one network chunk in memory, whatever the server sends or claims."""
    wbits = _DECODERS.get((encoding or "").strip().lower())
    decoder = zlib.decompressobj(wbits) if wbits is not None else None
    out = bytearray()
    raw_size = 0
    async for chunk in chunks:
        raw_size += len(chunk)
        if decoder is None:
            out += chunk
        else:
            try:
                out += decoder.decompress(chunk, limit + 1 - len(out))
            except zlib.error:
                return bytes(out[:limit]), False  # what decoded so far; the rest is garbage
            if decoder.unconsumed_tail:
                return bytes(out[:limit]), True  # more decoded output than the cap
        if len(out) > limit or (decoder is not None and raw_size > 4 * limit):
            return bytes(out[:limit]), True
        if decoder is None and len(out) >= limit:
            return bytes(out[:limit]), True
    return bytes(out), False


_MASKED_HEADERS = {"cookie", "set-cookie", "x-registry-auth", "x-amz-security-token"}


def _shown_headers(headers: dict[str, str]) -> str:
    """Headers for the --debug trace: secrets masked (the redactor keeps the scheme of
    ``Authorization: Basic ****``; cookies and similar are masked whole), control
    characters escaped, at most 50 headers of at most 300 characters each."""
    shown = []
    for name, value in list(headers.items())[:50]:
        if name.lower() in _MASKED_HEADERS:
            shown.append(f"{safe_text(name, max_chars=100)}: ****")
        else:
            masked = redact(f"{name}: {value[:2000]}").split(": ", 1)[-1]
            shown.append(
                f"{safe_text(name, keep_newlines=False, max_chars=100)}: "
                f"{safe_text(masked, keep_newlines=False, max_chars=300)}"
            )
    if len(headers) > 50:
        shown.append(f"... {len(headers) - 50} more headers")
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
        "error_detail": exchange.error_detail,
        "ttfb_ms": round(exchange.ttfb_ms, 2) if exchange.ttfb_ms is not None else None,
        "proxy": redact(exchange.proxy) if exchange.proxy else None,
        "truncated": exchange.truncated,
        "location": _location(exchange),
    }
    facts.update(_clock_facts(ctx, exchange.header("date")))
    facts.update(_ratelimit_facts(exchange))
    return facts


def _location(exchange: Exchange) -> str | None:
    """Where a redirect points (redacted: signed URLs carry secrets in their query)."""
    location = exchange.header("location")
    if not location or exchange.status is None or not 300 <= exchange.status < 400:
        return None
    return redact(location[:2048])


def _clock_facts(ctx: ProbeContext, date: str | None) -> dict[str, Any]:
    if not date:
        return {"server_date": None, "clock_skew_s": None, "clock_skew_abs_s": None}
    from email.utils import parsedate_to_datetime

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
        if exchange.error_detail:
            error += f" (detail: {exchange.error_detail})"
        if facts.get("location"):
            error += f": a redirect to {facts['location']} (not followed)"
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
