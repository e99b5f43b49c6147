"""When the text cannot tell: the causes a message leaves open, ordered, and the live
check that tells them apart.

Some messages are honest about not knowing. Docker's "pull access denied for X,
repository does not exist or may require 'docker login'" is what a registry answers both
for a repository that does not exist and for one the caller may not read (Docker Hub and
most registries answer the two the same way, on purpose). ``explain`` then names both
causes, the likelier first, and the ``regdoctor check`` command, with the options the
text implies (``-u`` to try with an account, ``--platform`` when the text names one),
that separates them: with credentials that may pull, a missing repository still fails
with NAME_UNKNOWN or MANIFEST_UNKNOWN, a private one succeeds.

A second case: Docker retries a registry on a loopback address (or one marked insecure)
over plain HTTP after HTTPS failed, and reports only the last error, ``Get
"http://host:port/v2/": ... connection reset by peer`` or ``EOF``, which is the TLS
port refusing plain HTTP. The real failure was the HTTPS attempt's. dockerd 20.10 does
not even name the URL: ``Error response from daemon: read tcp 127.0.0.1:47282->
127.0.0.1:5443: read: connection reset by peer`` (captured from the real daemon against a
TLS registry with basic auth and no login, tests/scenarios/runtimes); a reset from a
loopback peer with no HTTPS URL in the line is read the same way.

A third: a registry's *bare* refusal, a 401 or 403 with no message of its own
(``Head "https://ghcr.io/v2/o/app/manifests/1": unauthorized``, ``...: denied``,
``unexpected status from HEAD request to ...: 401 Unauthorized``, a 403 from the token
endpoint). GHCR, Quay, GitLab and others refuse a repository that does not exist exactly
as they refuse a private one, and GHCR refuses a stale login even for a public image. A
refusal that says *why* (``no basic auth credentials``, ``incorrect username or
password``, ``insufficient_scope``, ECR's expired token) names its cause and is left
alone.

A fourth: an HTML page with a 403 or 429 where the registry answers JSON (distribution's
client, registry/client/errors.go: ``error parsing HTTP 403 response body: invalid
character '<' ...``). Through an HTTPS proxy's tunnel only the registry's own front end
(its web server, WAF, CDN) can send it, so it is read as the registry's refusal or rate
limit; but a TLS-intercepting proxy answers for every host, and nothing in a page that
names no proxy rules that out: the proxy's page stays the alternative, and the reading is
``medium`` (``confidence_cap``).
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["Alternative", "alternatives_for", "check_command", "confidence_cap"]


class Alternative(NamedTuple):
    """One cause the text leaves open."""

    category: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"category": self.category, "reason": self.reason}


_PULL_ACCESS_DENIED = (
    r"(?i)pull access denied|repository does not exist or (?:may require|no pull access)|"
    r"may require 'docker login'|requested access to the resource is denied"
)
_HTTP_RETRY = (
    r"(?i)\"?http://(?P<host>localhost|127\.\d+\.\d+\.\d+|\[::1\]|[A-Za-z0-9._-]+)(?::(?P<port>\d+))?/v2/\S*"
    r"[^\n]*(?:connection reset by peer|: EOF\b|malformed HTTP response|server gave HTTP response)"
)
#: a reset whose peer is a loopback address, with no URL (dockerd 20.10's wording)
_LOOPBACK_RESET = (
    r"(?i)read tcp \S+->(?P<host>127\.\d+\.\d+\.\d+|\[::1\]):(?P<port>\d+): read: "
    r"connection reset by peer"
)
#: the innermost link of a bare refusal: a status, a status text or an error code alone
_BARE_401 = r"(?i)^(?:401(?: unauthorized)?|unauthorized(?:: unauthorized)?)\W*$"
_BARE_403 = r"(?i)^(?:403(?: forbidden)?|forbidden|denied(?:: denied)?)\W*$"
#: distribution's client on a 4xx whose body is an HTML page (registry/client/errors.go)
_HTML_4XX_PAGE = r"(?i)\berror parsing HTTP (?:403|429) response body: invalid character '<'"
#: a page that names a proxy or a web filter (as http-proxy-error-page's rule reads it)
_PROXY_NAMED = (
    r"(?i)squid|\bproxy\b|zscaler|forti(?:guard|gate|net)|blue ?coat|web ?page blocked|"
    r"web filter|url filter|websense|forcepoint|netskope|policy_denied"
)
_PLATFORM = r"\b(?P<platform>(?:linux|windows|darwin)/[a-z0-9_]+(?:/v\d)?)\b"


@functools.cache
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def check_command(target: str, *, user: bool = False, platform: str | None = None) -> str:
    """``regdoctor check TARGET`` with the options the text implies."""
    parts = ["regdoctor", "check"]
    if user:
        parts += ["-u", "USER", "--password-stdin"]
    if platform:
        parts += ["--platform", platform]
    parts.append(target)
    command = " ".join(shlex.quote(p) if p not in ("USER",) else p for p in parts)
    return f'echo "$PASSWORD" | {command}' if user else command


def alternatives_for(
    rule_id: str, category: str, line: str, fields: Mapping[str, str]
) -> tuple[tuple[Alternative, ...], str | None]:
    """The causes ``line`` leaves open (empty when it names one) and the command that
    tells them apart."""
    target = fields.get("image") or fields.get("registry")
    platform = fields.get("platform") or fields.get("requested")
    if platform is None and "/" in line:
        found = _rx(_PLATFORM).search(line)
        platform = found.group("platform") if found else None
    if category == "auth.denied" and _rx(_PULL_ACCESS_DENIED).search(line):
        repository = fields.get("repository") or ""
        # An unqualified name on Docker Hub ("docker pull base" is library/base) is usually
        # a name that does not exist there; an organisation's repository, a private one.
        missing_first = fields.get("registry") in (None, "docker.io") and (
            repository.startswith("library/") or "/" not in (fields.get("image") or "x/")
        )
        missing = Alternative(
            "image.name_unknown",
            "the repository does not exist under that name (misspelt, a missing organisation "
            "or registry prefix, or an image that was only ever built locally)",
        )
        private = Alternative(
            "auth.denied",
            "the repository exists but is private: no login was used, or the account may "
            "not pull it",
        )
        ordered = (missing, private) if missing_first else (private, missing)
        command = check_command(target, user=True, platform=platform) if target else None
        return ordered, command
    if category in ("auth.denied", "ratelimit") and _rx(_HTML_4XX_PAGE).search(line):
        command = check_command(target, platform=platform) if target else None
        return (
            Alternative(
                category,
                "the registry's own front end (its web server, WAF or CDN) sent the page "
                "through the proxy's tunnel, or with no proxy at all",
            ),
            _PROXY_PAGE,
        ), command
    if (
        rule_id == "http-proxy-error-page"
        and _rx(_HTML_4XX_PAGE).search(line)
        and not _rx(_PROXY_NAMED).search(line)
    ):
        # an http:// registry's own 403 or 429 page reads the same as its proxy's
        own = "ratelimit" if _rx(r"\bHTTP 429 response").search(line) else "auth.denied"
        command = check_command(target, platform=platform) if target else None
        return (
            _PROXY_PAGE,
            Alternative(own, "the registry's own web server sent the page: no proxy in between"),
        ), command
    bare = _bare_refusal(category, fields.get("cause") or "")
    if bare:
        command = check_command(target, user=True, platform=platform) if target else None
        return bare, command
    retry = (
        _rx(_HTTP_RETRY).search(line)
        if "http://" in line and category in ("tcp.reset", "tls.http_on_https", "other")
        else None
    )
    if retry is None and category == "tcp.reset" and "https://" not in line:
        retry = _rx(_LOOPBACK_RESET).search(line)
    if retry:
        host = retry.group("host")
        port = retry.group("port")
        https = f"https://{host}:{port}" if port else f"https://{host}"
        return (
            Alternative(
                "other",
                "Docker retried this registry over plain HTTP after HTTPS failed (it does so for "
                "loopback and insecure registries) and reports only the retry: the reset is the "
                "TLS port refusing plain HTTP; the real error is the HTTPS attempt's (often "
                "missing credentials or an untrusted certificate)",
            ),
            Alternative(category, "the registry really resets plain-HTTP connections"),
        ), check_command(https, platform=platform)
    return (), None


_PROXY_PAGE = Alternative(
    "proxy.error",
    "a proxy that intercepts TLS (or sees a plain-HTTP request) answered with its own block "
    "or error page: the registry was never asked",
)


def confidence_cap(category: str, line: str) -> str | None:
    """The highest confidence the text allows for ``category`` (None: no cap): an HTML
    403 or 429 page may be a proxy's as well as the registry's."""
    if category in ("auth.denied", "ratelimit") and _rx(_HTML_4XX_PAGE).search(line):
        return "medium"
    return None


_MISSING_TOO = Alternative(
    "image.name_unknown",
    "the repository does not exist under that name: GHCR, Quay, GitLab and others refuse a "
    "repository they do not have exactly as they refuse a private one",
)


def _bare_refusal(category: str, cause: str) -> tuple[Alternative, ...]:
    """The causes a 401 or 403 without a message of its own leaves open (empty for any
    other ``cause``, the innermost link of the chain)."""
    cause = cause.strip().strip('"')
    if category == "auth.unauthorized" and _rx(_BARE_401).match(cause):
        return (
            Alternative(
                "auth.unauthorized",
                "the repository is private and no credential was sent, or one the registry "
                "does not accept",
            ),
            _MISSING_TOO,
        )
    if category == "auth.denied" and _rx(_BARE_403).match(cause):
        return (
            Alternative(
                "auth.denied",
                "the repository is private, or the account used may not pull it",
            ),
            _MISSING_TOO,
            Alternative(
                "auth.token_expired",
                "a stored login the client still sends has expired or was revoked (GHCR "
                "refuses it even for a public image): log in again, or log out to pull a "
                "public image anonymously",
            ),
        )
    return ()
