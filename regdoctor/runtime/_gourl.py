"""The small part of Go's net/url.Parse that registry validators depend on.

Only what moby's ValidateMirror and containerd's parseHostConfig observe is modelled:
scheme detection (including "host:port" being read as a scheme), opaque URLs,
userinfo, host, path, query and fragment, and the two errors users actually hit.
Behaviour read from Go 1.19 src/net/url/url.go (getScheme, parse, String).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GoURL:
    """What Go's ``url.Parse`` returns (the fields modelled), or its error."""

    scheme: str = ""
    opaque: str = ""
    user: str | None = None  # raw userinfo (before '@')
    host: str = ""
    path: str = ""
    raw_query: str = ""
    fragment: str = ""
    error: str | None = None  # Go's *url.Error text when parsing failed

    def string(self, mask_password: bool = False) -> str:
        """Go's URL.String(); with mask_password the password becomes "xxxxx"."""
        out = ""
        if self.opaque:
            out = f"{self.scheme}:{self.opaque}"
        else:
            if self.scheme:
                out += self.scheme + ":"
            if self.scheme or self.host or self.user is not None:
                if self.host or self.path or self.user is not None:
                    out += "//"
                if self.user is not None:
                    name = self.user.split(":", 1)[0]
                    out += f"{name}:xxxxx@" if mask_password else self.user + "@"
                out += self.host
            if self.path and not self.path.startswith("/") and self.host:
                out += "/"
            out += self.path
        if self.raw_query:
            out += "?" + self.raw_query
        if self.fragment:
            out += "#" + self.fragment
        return out


def _err(raw: str, msg: str) -> GoURL:
    from .common import go_quote

    return GoURL(error=f"parse {go_quote(raw)}: {msg}")


def parse(raw: str) -> GoURL:
    rest, _, fragment = raw.partition("#")
    scheme = ""
    for i, ch in enumerate(rest):
        if ("a" <= ch <= "z") or ("A" <= ch <= "Z"):
            continue
        if ch.isdigit() or ch in "+-.":
            if i == 0:
                break
            continue
        if ch == ":":
            if i == 0:
                return _err(raw, "missing protocol scheme")
            scheme, rest = rest[:i].lower(), rest[i + 1 :]
        break
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
    if not rest.startswith("/"):
        if scheme:
            return GoURL(scheme=scheme, opaque=rest, raw_query=query, fragment=fragment)
        segment = rest.split("/", 1)[0]
        if ":" in segment:
            return _err(raw, "first path segment in URL cannot contain colon")
    user: str | None = None
    host = ""
    if (scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority = rest[2:]
        slash = authority.find("/")
        if slash >= 0:
            authority, rest = authority[:slash], authority[slash:]
        else:
            rest = ""
        if "@" in authority:
            user, _, host = authority.rpartition("@")
        else:
            host = authority
        if not host.startswith("["):
            colon = host.rfind(":")
            if colon >= 0:
                port = host[colon:]
                if port != ":" and not port[1:].isdigit():
                    return _err(raw, f'invalid port "{port}" after host')
    return GoURL(scheme=scheme, user=user, host=host, path=rest, raw_query=query, fragment=fragment)


def clean_path(p: str) -> str:
    """Go path.Clean."""
    if p == "":
        return "."
    rooted = p.startswith("/")
    parts: list[str] = []
    for seg in p.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(seg)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."
