"""What a pasted error line says about where it failed: registry, host, image, status.

:func:`extract` reads one line of client output (docker, containerd, kubelet, podman,
skopeo, buildkit, crane...) and returns the values it can find, as strings:

=============  ==========================================================================
``registry``   the registry as written in image references (``host:5000``, ``docker.io``)
``image``      the image reference (``registry.example.com/team/app:1.2``)
``repository`` ``tag`` ``digest``  its parts (``library/nginx`` for Docker Hub short names)
``host``       the host the failing request went to (the nearest URL or name before the
               error: the token realm's host for a token request), ``port`` its port
``address``    the IP address dialled (``dial tcp 10.0.0.5:443``)
``resolver``   the DNS server asked (``lookup x on 10.0.0.2:53``)
``url``        the URL of the failing request (query strings are kept: redact before
               showing)
``realm_host`` the host of a token request (``/token``, ``?scope=``, ``?service=``)
``status``     an HTTP status code; ``code`` a registry error code (``MANIFEST_UNKNOWN``)
``platform``   an OS/architecture (``linux/arm64``)
=============  ==========================================================================

Nothing here raises on odd input, and nothing touches the network. Rules add their own
named groups on top (``match.text.extract``); these are the defaults every result gets.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping

from regdoctor.reference import dockerhub
from regdoctor.reference.targets import DOCKER_HUB, InvalidReference, parse_target

__all__ = ["extract", "registry_name"]

_HUB_NAMES = dockerhub.ALIASES | {dockerhub.TOKEN_SERVICE}


class _Lazy:
    """A regex compiled on first use: most lines need only a few of these, and
    ``regdoctor explain`` compiles them at every start."""

    __slots__ = ("_compiled", "_flags", "_pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern = pattern
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def _rx(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._pattern, self._flags)
        return self._compiled

    def search(self, text: str) -> re.Match[str] | None:
        return self._rx().search(text)

    def match(self, text: str) -> re.Match[str] | None:
        return self._rx().match(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self._rx().finditer(text)


# A host name or address, loosely (validated afterwards where it matters): simple
# patterns compile fast, and explain compiles them at every start.
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
_URL = _Lazy(
    rf"(?P<scheme>https?)://(?:[^\s/@\"'<>]+@)?(?P<host>{_HOST})(?::(?P<port>\d{{1,5}}))?"
    r"(?P<path>/[^\s\"'<>`\\]*)?"
)
_V2_PATH = _Lazy(
    r"^/v2/(?:(?P<repo>[a-z0-9][a-z0-9._/-]*?)/(?P<kind>manifests|blobs|tags)/(?P<ref>[^/?#]+))?"
)
_DIAL = _Lazy(rf"\bdial (?:tcp|udp)[46]? (?P<host>{_HOST}):(?P<port>\d{{1,5}})")
_LOOKUP = _Lazy(
    rf"\blookup (?P<name>{_HOST})(?: on (?P<resolver>{_HOST}(?::\d{{1,5}})?))?(?=[:\s]|$)"
)
_PINGING = _Lazy(
    rf"\bpinging (?:container |docker )?registry (?P<registry>{_HOST}(?::\d{{1,5}})?)(?=:?\s|:?$)"
)
# An image reference after the words clients put in front of one. A bare word is only
# taken after words that always precede an image ("pull access denied for nginx,"); after
# the others it must be quoted or look qualified (a "/", ":", "." or "@" in it). The
# reference itself is validated by regdoctor.reference.targets afterwards.
_REF_CHARS = r"[A-Za-z0-9][A-Za-z0-9._:/@\[\]+-]*"
# The remote end of a connection that was made: "read tcp 192.0.2.2:41234->192.0.2.1:443"
_CONNECTION = _Lazy(
    r"\b(?:read|write) (?:tcp|udp)[46]? \S+->(?P<host>\[[0-9A-Fa-f:.]+\]|\d{1,3}(?:\.\d{1,3}){3})"
    r":(?P<port>\d{1,5})\b"
)
_IMAGE = _Lazy(
    r"(?:(?P<transport>docker://|docker-daemon:)"
    r"|(?P<strong>(?:\b(?:pull\s+access\s+denied\s+for|manifest\s+for|denied\s+for|"
    r"Error\s+pulling\s+image\s+\(\S+\)\s+from)|"
    r"\b(?:docker|podman|nerdctl|crictl|buildah|ctr(?:\s+-n\s+\S+)?\s+images?)\s+"
    r"(?:image\s+)?pull(?:\s+--?[\w-]+(?:=\S+)?)*)\s+)"
    r"|(?P<weak>(?:\b(?:pull|pulling|pulled|find|inspect|push|pushing)\s+(?:the\s+)?image|"
    r"\bimage(?:\s+ref(?:erence)?)?|\bresolve\s+(?:reference|image)|\breference|"
    r"\bto\s+pull|\bTrying\s+to\s+pull|\bsource\s+metadata\s+for|\bfailed\s+to\s+solve:|"
    r"\bcopying\s+(?:image|system\s+image)\s+from|\bimage\s+name|\bPulling\s+from|"
    r"\bfailed\s+to\s+pull(?:\s+and\s+unpack)?(?:\s+image)?|\bPulling\s+\w+\s+\()"
    r"\s*(?P<quote>\\?[\"'`])?))"
    rf"(?P<ref>{_REF_CHARS})",
    re.IGNORECASE,
)
# podman/skopeo: "reading manifest 1.2 in registry.example.com/team/app: manifest unknown"
_READING = _Lazy(
    r"\breading manifest (?P<ref>sha256:[a-f0-9]{64}|[\w][\w.-]{0,127}) in "
    r"(?P<repo>[A-Za-z0-9][A-Za-z0-9._:/\[\]-]*?):?(?=\s|$)"
)
_STATUS = _Lazy(
    r"(?:\bstatus(?:\s+code)?(?:\s+from\s+registry)?|\bStatusCode|\bHTTP(?:/\d(?:\.\d)?)?"
    r"(?:\s+(?:status|code))?|\bunexpected\s+status(?:\s+code)?|\bresponse\s+code|\bremote\s+response|"
    r"\breturned)[\s:=(]+\"?(?P<s1>[1-5]\d\d)\b"
    r"|\b(?P<s2>[1-5]\d\d)[\s:]+\(?(?:Unauthorized|Forbidden|Not\s+Found|Too\s+Many\s+Requests|"
    r"Internal\s+Server\s+Error|Bad\s+Gateway|Service\s+Unavailable|Gateway\s+Time-?out|"
    r"Proxy\s+Authentication\s+Required|Bad\s+Request|Method\s+Not\s+Allowed|Conflict|"
    r"Request\s+Timeout|Not\s+Implemented|Moved\s+Permanently|Found|Temporary\s+Redirect)\b",
    re.IGNORECASE,
)
_CODE = _Lazy(
    r"\b(?P<code>UNAUTHORIZED|DENIED|MANIFEST_UNKNOWN|NAME_UNKNOWN|BLOB_UNKNOWN|"
    r"TOOMANYREQUESTS|NAME_INVALID|TAG_INVALID|MANIFEST_INVALID|MANIFEST_BLOB_UNKNOWN|"
    r"MANIFEST_UNVERIFIED|DIGEST_INVALID|SIZE_INVALID|UNSUPPORTED|BLOB_UPLOAD_UNKNOWN|"
    r"BLOB_UPLOAD_INVALID|RANGE_INVALID|PAGINATION_NUMBER_INVALID)\b"
)
_DIGEST = _Lazy(r"\bsha256:[a-f0-9]{64}\b")
_PLATFORM = _Lazy(
    r"\b(?P<platform>(?:linux|windows|darwin|freebsd)/"
    r"(?:amd64|arm64|arm|386|ppc64le|s390x|riscv64|mips64le|loong64)(?:/v[5-8])?)\b"
)
# A cheap test before the full extraction of a line above a match: one of these words,
# in any case (see _folded).
_IMAGE_HINTS = (
    "image",
    "pull",
    "reference",
    "manifest",
    "denied for",
    "find",
    "inspect",
    "push",
    "metadata",
    "solve",
    "copying",
)
# Every registry error code _CODE knows holds one of these words.
_CODE_WORDS = (
    "UNAUTHORIZED",
    "DENIED",
    "UNKNOWN",
    "TOOMANYREQUESTS",
    "INVALID",
    "UNVERIFIED",
    "UNSUPPORTED",
)
_PLATFORM_OS = ("linux/", "windows/", "darwin/", "freebsd/")
# The only characters outside ASCII that Python's case-insensitive regexes take for an
# ASCII letter; no other character lower-cases to ASCII.
_FOLD = {0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"}
_TOKEN_HINTS = ("token", "scope=", "service=", "/oauth", "/auth")
_SCOPE = _Lazy(r"scope=repository(?::|%3[Aa])(?P<repo>[A-Za-z0-9._/%-]+?)(?::|%3[Aa])")
_SERVICE = _Lazy(r"service=(?P<service>[A-Za-z0-9.-]+\.[A-Za-z]{2,})(?=[&\s\"]|$)")
_TRAILING = ".,;:)'\"`]}>"


def registry_name(host: str, port: str | int | None = None) -> str:
    """The registry as users write it: ``docker.io`` for Docker Hub's many names."""
    host = host.lower()
    if host in _HUB_NAMES and port in (None, "", "443", 443):
        return DOCKER_HUB
    shown = host if host.startswith("[") or ":" not in host else f"[{host}]"
    return f"{shown}:{port}" if port not in (None, "") else shown


def _clean_ref(ref: str) -> str:
    while ref.endswith("..."):
        ref = ref[:-3]
    ref = ref.rstrip(_TRAILING)
    # "registry.example.com/app:1.0:" inside a chain, or "…/app:1.0..." from podman.
    while ref.endswith("."):
        ref = ref[:-1]
    return ref


def _parse_image(ref: str) -> dict[str, str] | None:
    ref = _clean_ref(ref)
    if not ref or len(ref) > 512 or "://" in ref or _PLATFORM.match(ref):
        return None
    try:
        target = parse_target(ref)
    except (InvalidReference, ValueError):
        return None
    if target.repository is None:
        return None
    out = {"image": ref, "registry": target.registry, "repository": target.repository}
    if target.tag and (":" in ref.rsplit("/", 1)[-1].split("@", 1)[0]):
        out["tag"] = target.tag
    if target.digest:
        out["digest"] = target.digest
    return out


def _folded(line: str) -> str:
    """``line`` lower-cased so that ``word in _folded(line)`` answers, for an ASCII
    ``word``, exactly what a case-insensitive regex search for it would (without the
    regex: a plain substring test is many times faster on a long line)."""
    return (line if line.isascii() else line.translate(_FOLD)).lower()


def _has_image_hint(line: str) -> bool:
    low = _folded(line)
    return any(word in low for word in _IMAGE_HINTS)


def _port_of(port: str | None) -> str | None:
    if port and 0 < int(port) < 65536:
        return str(int(port))
    return None


def extract(line: str, before: int | None = None) -> dict[str, str]:
    """The values :mod:`regdoctor.engine.extract` knows how to find in ``line``.

    ``before``: where the error itself starts in the line (a rule's match); the host and
    URL nearest before it are the ones that failed. Default: the end of the line.
    """
    before = len(line) if before is None else before
    if line[:1].isdigit():
        stamp = _STAMP.match(line)
        if stamp is not None and before >= stamp.end():
            # Read without its time: the same for every retry of the same error.
            cut = stamp.end()
            return dict(_cached(line[cut:], before - cut))
    return dict(_cached(line, before))


# A leading RFC 3339 UTC time and the blanks after it, as CI systems and `kubectl logs
# --timestamps` start every line. No pattern above can match in it or across it: they all
# start with a letter other than T and Z (which are followed by a digit here) or with
# "http", and the only one made of digits (a status: three digits, then a blank or a
# colon) cannot end at the Z. So a line reads the same with and without it, as
# tests/engine/test_extract_stamp.py checks on every corpus line.
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z[ \t]+")


@functools.lru_cache(maxsize=2048)
def _cached(line: str, before: int) -> tuple[tuple[str, str], ...]:
    # Logs repeat themselves (retries, one event per pod): the same line is read once.
    try:
        return tuple(_extract(line, before).items())
    except Exception:  # extraction is a courtesy: a strange line never breaks explain
        return ()


def _extract(line: str, before: int) -> dict[str, str]:
    out: dict[str, str] = {}
    # Hosts mentioned, in order: (position, host, port, kind).
    mentions: list[tuple[int, str, str | None, str]] = []
    urls: list[tuple[int, str]] = []
    v2_registry: str | None = None
    for m in _URL.finditer(line) if "://" in line else ():
        host, port = m.group("host"), _port_of(m.group("port"))
        path = (m.group("path") or "").rstrip(_TRAILING)
        url = m.group(0).rstrip(_TRAILING)
        urls.append((m.start(), url))
        lowered = url.lower()
        v2 = _V2_PATH.match(path)
        if v2:
            mentions.append((m.start(), host, port, "registry"))
            if v2_registry is None:
                v2_registry = registry_name(host, port)
                out.setdefault("registry", v2_registry)
                repo, kind, ref = v2.group("repo"), v2.group("kind"), v2.group("ref")
                if repo:
                    out.setdefault("repository", repo)
                    if kind == "manifests" and ref:
                        key = "digest" if ref.startswith("sha256:") else "tag"
                        out.setdefault(key, ref)
        elif any(hint in lowered for hint in _TOKEN_HINTS):
            mentions.append((m.start(), host, port, "realm"))
            out.setdefault("realm_host", host)
            scope = _SCOPE.search(url)
            if scope:
                out.setdefault("repository", scope.group("repo").replace("%2F", "/"))
            service = _SERVICE.search(url)
            if service and "registry" not in out:
                out["service"] = service.group("service")
        else:
            mentions.append((m.start(), host, port, "url"))
    for m in _PINGING.finditer(line) if "pinging" in line else ():
        hp = m.group("registry")
        host, _, port = hp.rpartition(":") if re.search(r":\d+$", hp) else (hp, "", "")
        out.setdefault("registry", registry_name(host, port or None))
        mentions.append((m.start(), host, port or None, "registry"))
    dial: tuple[str, str | None] | None = None
    for m in _DIAL.finditer(line) if "dial " in line else ():
        host, port = m.group("host"), _port_of(m.group("port"))
        if _is_ip(host):
            if m.start() <= before or dial is None:
                dial = (host.strip("[]"), port)
        else:
            mentions.append((m.start(), host, port, "dial"))
    for m in _LOOKUP.finditer(line) if "lookup " in line else ():
        mentions.append((m.start(), m.group("name"), None, "lookup"))
        if m.group("resolver"):
            out.setdefault("resolver", m.group("resolver"))
    best: tuple[int, dict[str, str]] | None = None
    has_image = "docker://" in line or "docker-daemon:" in line or _has_image_hint(line)
    for m in _IMAGE.finditer(line) if has_image else ():
        ref = m.group("ref")
        if m.group("transport"):
            score = 3
        elif m.group("strong") or m.group("quote"):
            score = 2
        elif any(c in ref.rstrip(":") for c in "/:.@"):
            # (a colon that ends the word is the chain's ": ", not a tag: "failed to pull
            # image: read tcp ..." names no image)
            score = 1
        else:
            continue
        if best is not None and score <= best[0]:
            continue
        parsed = _parse_image(ref)
        if parsed is not None:
            best = (score, parsed)
            if score == 3:
                break
    if best is None or best[0] < 2:
        for m in _READING.finditer(line) if "reading manifest" in line else ():
            ref, repo = m.group("ref"), m.group("repo")
            sep = "@" if ref.startswith("sha256:") else ":"
            parsed = _parse_image(f"{repo}{sep}{ref}")
            if parsed is not None:
                best = (2, parsed)
                break
    if best is not None:
        parsed = best[1]
        out.setdefault("image", parsed["image"])
        out.setdefault("registry", parsed["registry"])
        if out.get("registry") == parsed["registry"]:
            for key in ("repository", "tag", "digest"):
                if key in parsed:
                    out.setdefault(key, parsed[key])
    if "registry" not in out and out.get("service"):
        out["registry"] = registry_name(out["service"])
    out.pop("service", None)

    # The peer: the nearest name before the error (the first one if none is before it).
    mentions.sort(key=lambda item: item[0])
    prior = [item for item in mentions if item[0] <= before]
    named = prior[-1] if prior else (mentions[0] if mentions else None)
    if named is not None:
        host = named[1]
        out["host"] = host.strip("[]") if _is_ip(host) else host.lower()
        if named[2]:
            out["port"] = named[2]
    if dial is not None:
        out["address"] = dial[0]
        if dial[1]:
            out["port"] = dial[1]
    elif "->" in line and "lookup " not in line and "proxyconnect" not in line:
        # no dial: the address and port of the connection that broke (not a DNS server's
        # or a proxy's, which other fields name)
        conn = _CONNECTION.search(line)
        if conn:
            out["address"] = conn.group("host").strip("[]")
            out.setdefault("port", conn.group("port"))
    prior_urls = [u for u in urls if u[0] <= before]
    if prior_urls or urls:
        out["url"] = (prior_urls[-1] if prior_urls else urls[0])[1]

    if "image" not in out and out.get("registry") and out.get("repository"):
        repo = out["repository"]
        ref = f":{out['tag']}" if "tag" in out else ""
        if out.get("digest"):
            ref = f"@{out['digest']}"
        out["image"] = f"{out['registry']}/{repo}{ref}"

    status = _STATUS.search(line)
    if status:
        out["status"] = status.group("s1") or status.group("s2")
    code = _CODE.search(line) if any(word in line for word in _CODE_WORDS) else None
    if code:
        out["code"] = code.group("code")
    if "digest" not in out:
        digest = _DIGEST.search(line) if "sha256:" in line else None
        if digest:
            out["digest"] = digest.group(0)
    platform = _PLATFORM.search(line) if any(os_ in line for os_ in _PLATFORM_OS) else None
    if platform:
        out["platform"] = platform.group("platform")
    return out


def _is_ip(host: str) -> bool:
    bare = host.strip("[]")
    if ":" in bare:
        return True
    parts = bare.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


_IMAGE_KEYS = ("image", "registry", "repository", "tag", "digest")


def image_fields(line: str) -> dict[str, str]:
    """Only the image of ``line`` and its parts (for looking back a few lines)."""
    if "docker://" not in line and not _has_image_hint(line):
        return {}
    fields = extract(line)
    return {k: v for k, v in fields.items() if k in _IMAGE_KEYS} if "image" in fields else {}


def merge(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``base`` with the keys of ``extra`` it lacks."""
    out = dict(base)
    for key, value in extra.items():
        out.setdefault(key, value)
    return out
