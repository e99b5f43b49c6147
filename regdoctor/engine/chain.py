"""Go error chains: split a line into its links, find the innermost cause and which host
each link concerns.

Go programs wrap errors as ``op "url": cause: cause: ...`` (``fmt.Errorf("...: %w")``), so
one line of a pull failure names several hosts: the registry in the outer ``Get
"https://registry/v2/..."``, the token server in a nested ``Get "https://auth/token?..."``,
a proxy in ``proxyconnect tcp: dial tcp proxy:3128``, the daemon's socket in ``dial unix
/var/run/docker.sock``, a credential helper in ``docker-credential-desktop``. The error
itself is the innermost link; the host it concerns is the nearest host named at or
outside it. ``explain`` uses that to say *which* host failed (a connection refused by the
token server is not the registry's fault), whatever client printed the chain and however
deeply it wrapped it.

```python
>>> links = split_chain(
...     'Get "https://r.example/v2/": Get "https://auth.example/token?scope=x": '
...     "dial tcp 192.0.2.1:443: connect: connection refused"
... )
>>> [link.role for link in links]
['registry', 'realm', None, None, None]
>>> cause_peer(links).host, cause_peer(links).role
('auth.example', 'realm')

```

Which host *answered* is read from the chain too. A proxy that refuses the CONNECT of an
HTTPS request shows as ``proxyconnect tcp: ...`` or, from Go's transport (net/http
transport.go, ``dialConn``: ``errors.New(text)`` of the text after the code in the proxy's
own status line, or ``unknown status code`` when it has none), as a bare reason phrase
right after the URL, whatever words the proxy chose (tinyproxy's ``Access violation``,
Privoxy's ``Request blocked by Privoxy``); the registry's own answer comes through the
tunnel with its status and body (``error parsing HTTP 403 response body: ...``) or as
its own lower-case error code (``: unauthorized``):

```python
>>> cause_peer(split_chain('Get "https://r.example/v2/": Bad Gateway')).role
'proxy'
>>> cause_peer(split_chain('Get "https://r.example/v2/": Access violation')).role
'proxy'
>>> cause_peer(split_chain('Get "https://r.example/v2/": unauthorized')).role
'registry'

```

Nothing here touches the network; everything is one pass over one line.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

__all__ = ["ROLE_WORDS", "Link", "cause_peer", "describe", "split_chain"]

#: How prose names each role.
ROLE_WORDS: dict[str, str] = {
    "registry": "the registry",
    "mirror": "a registry mirror",
    "realm": "the token server (the realm of the registry's WWW-Authenticate challenge)",
    "proxy": "the HTTP(S) proxy",
    "daemon": "the local container daemon's socket",
    "helper": "the credential helper",
    "resolver": "the DNS resolver",
}

_URL = r"(?P<scheme>https?)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>\d+))?(?P<path>[^\s\"'`]*)"
_PROXY = r"proxyconnect tcp: dial tcp (?P<host>\[[^\]]+\]|[A-Za-z0-9._-]+)?:?(?P<port>\d+)?"
_HELPER = r"(?i)docker-credential-(?P<name>[A-Za-z0-9._-]+)|credentials? (?:store|helper)"
_DAEMON = r"(?i)dial unix (?P<sock>\S+\.sock)|Docker daemon|containerd\.sock|docker\.sock"
_LOOKUP = r"lookup (?P<name>[A-Za-z0-9._-]+)(?: on (?P<resolver>\S+?))?:"
_DIAL = r"dial tcp (?P<host>\[[^\]]+\]|[A-Za-z0-9._-]+):(?P<port>\d+)"
_REALM_WORDS = r"(?i)fetch (?:oauth|anonymous) token|failed to authorize|token exchange|/token\b"
_TOKEN_HINTS = ("/token", "/oauth", "/auth", "scope=", "service=")
#: What Go's transport returns when an HTTPS proxy answers CONNECT with an error (net/http
#: transport.go, dialConn, Go 1.x to 1.23): the proxy's own reason phrase, the text after
#: the code in its status line (``resp.Status``, not http.StatusText: tinyproxy says
#: ``Access violation``, Privoxy ``Request blocked by Privoxy``), as the whole cause of the
#: request's URL error, or ``unknown status code`` for a status line without one. Go's
#: url.Error names the method so ("Get", "Head": urlErrorOp), unlike go-containerregistry's
#: "GET https://...: DENIED: ..." (a registry's code); the phrase starts with a capital
#: letter as HTTP reason phrases do, unlike Go's own errors and registries' lower-case
#: codes (``: unauthorized``, containerd's ``: not found``), and is a few words at most.
_GO_URL_OP = (
    r'(?:^|[\s("])(?:Get|Head|Post|Put|Patch|Delete|Options) \\?"?https://[^\s"\\]+\\?"?\s*$'
)
_REASON_PHRASE = r"[A-Z][A-Za-z0-9'/-]*(?: [A-Za-z0-9'/()-]+){0,7}"
#: Words of other errors, not of a reason phrase: Go's io.EOF, and a cause whose prefix
#: ("net/http: ", "x509: ") was cut off in the paste ("TLS handshake timeout")
_NOT_REASON = (
    r"(?i)\b(?:EOF|TLS|SSL|handshake|certificate|x509|refused|reset|closed|unreachable|"
    r"timed out|no such host)\b"
)


@functools.cache
def _rx(pattern: str) -> re.Pattern[str]:
    """Compiled on first use: a one-line paste compiles only what its links need."""
    return re.compile(pattern)


class Link(NamedTuple):
    """One link of a chain: its text, where it starts in the line, and the host it names
    (if any) with that host's role."""

    text: str
    start: int
    host: str | None = None
    port: str | None = None
    role: str | None = None


def _separators(line: str) -> list[int]:
    """Offsets of the ": " that join links (the colon of a scheme or a port has no space
    after it). Quotes are not tracked: clients print whole chains inside a JSON string
    (``{"message":"Get https://...: ..."}``), and URLs never hold ": "."""
    out: list[int] = []
    at = line.find(": ")
    while at >= 0:
        out.append(at)
        at = line.find(": ", at + 2)
    return out


def _role_of(text: str, token_context: bool) -> tuple[str | None, str | None, str | None]:
    # Substring guards first: most links name nothing, and no regex needs compiling.
    lowered = text.lower()
    if "proxyconnect" in lowered:
        proxy = _rx(_PROXY).search(text)
        if proxy:
            return proxy.group("host"), proxy.group("port"), "proxy"
        return None, None, "proxy"
    if "credential" in lowered:
        helper = _rx(_HELPER).search(text)
        if helper:
            return helper.group("name"), None, "helper"
    if ".sock" in lowered or "docker daemon" in lowered:
        daemon = _rx(_DAEMON).search(text)
        if daemon:
            return daemon.group("sock"), None, "daemon"
    if "://" in text:
        url = _rx(_URL).search(text)
        if url:
            path = url.group("path") or ""
            low = path.lower()
            if "/v2/" in low or low.rstrip("/") == "/v2":
                role = "mirror" if "ns=" in low else "registry"
            elif any(hint in low for hint in _TOKEN_HINTS) or token_context:
                role = "realm"
            else:
                role = None
            return url.group("host").lower(), url.group("port"), role
    if "lookup " in text:
        lookup = _rx(_LOOKUP).search(text)
        if lookup:
            return lookup.group("name").lower(), None, "realm" if token_context else None
    if "dial tcp " in text:
        dial = _rx(_DIAL).search(text)
        if dial:
            return dial.group("host").strip("[]").lower(), dial.group("port"), None
    return None, None, None


def split_chain(line: str) -> list[Link]:
    """The links of ``line``, outermost first. A line without ``": "`` is one link."""
    cuts = _separators(line)
    starts = [0, *(c + 2 for c in cuts)]
    ends = [*cuts, len(line)]
    links: list[Link] = []
    token_context = False
    for start, end in zip(starts, ends, strict=True):
        text = line[start:end]
        if ("token" in text or "authorize" in text) and _rx(_REALM_WORDS).search(text):
            token_context = True
        host, port, role = _role_of(text, token_context)
        links.append(Link(text=text, start=start, host=host, port=port, role=role))
    for i, link in enumerate(links[:-1]):
        # "proxyconnect tcp: dial tcp PROXY:PORT": the proxy is named in the next link.
        if "proxyconnect" in link.text and link.host is None and links[i + 1].host:
            nxt = links[i + 1]
            links[i] = Link(link.text, link.start, nxt.host, nxt.port, "proxy")
    if len(links) > 1 and _connect_refusal(links[-2].text, links[-1].text):
        last = links[-1]
        links[-1] = Link(last.text, last.start, None, None, "proxy")
    return links


def _connect_refusal(outer: str, inner: str) -> bool:
    """Is ``inner`` a proxy's refusal of CONNECT, as Go's transport reports it: a bare
    reason phrase as the whole cause of an ``https://`` URL's error?"""
    if "https://" not in outer or not _rx(_GO_URL_OP).search(outer):
        return False
    words = inner.strip().strip("\\\"'`).,;").strip()
    if words == "unknown status code":
        return True
    return (
        len(words) <= 60
        and _rx(_NOT_REASON).search(words) is None
        and _rx(_REASON_PHRASE).fullmatch(words) is not None
    )


def cause_peer(links: list[Link], at: int | None = None) -> Link | None:
    """The host the innermost cause concerns: the nearest link that names a host, going
    outward from the link that holds offset ``at`` (default: the innermost link). A link
    that names only an address (``dial tcp 192.0.2.1:443``) is passed over when an outer
    link names the same connection by role."""
    if not links:
        return None
    inner = len(links) - 1
    if at is not None:
        for i, link in enumerate(links):
            if link.start <= at:
                inner = i
        if inner == len(links) - 2 and links[-1].role == "proxy" and links[-1].host is None:
            # the URL whose request a proxy refused (a bare status text after it): the
            # proxy answered, the URL's host was never reached
            inner = len(links) - 1
    bare: Link | None = None
    for link in reversed(links[: inner + 1]):
        if link.role:
            return link
        if link.host and bare is None:
            bare = link
    return bare


def _words(text: str) -> str:
    """A link's words as a reader wants them: without the HTML of a page quoted in it
    (``could not be retrieved</title>"``), its escaped line breaks or the quotes around it."""
    if "<" in text:
        text = _rx(r"</?[A-Za-z!][^<>]*(?:>|$)").sub(" ", text)
    text = text.replace("\\r", " ").replace("\\n", " ").replace("\\t", " ")
    return " ".join(text.split()).strip(" \"'`\\")


def describe(line: str, at: int | None = None) -> dict[str, str]:
    """Fields for ``explain``: ``cause`` (the innermost link's words, for a chain of three
    links or more), ``peer_role`` and ``peer_name`` (the host the cause concerns)."""
    links = split_chain(line)
    out: dict[str, str] = {}
    if len(links) > 2:
        cause = _words(links[-1].text)
        if cause:
            out["cause"] = cause[:200]
    peer = cause_peer(links, at)
    if peer is not None and peer.role:
        out["peer_role"] = peer.role
        if peer.host:
            out["peer_name"] = peer.host
    return out
