"""Parse ``WWW-Authenticate`` challenges (RFC 7235) as registries send them.

``Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."``
and ``Basic realm="Registry Realm"``. Malformed input never raises: what can be read is
returned, the rest is dropped. Parameter count and length are capped.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

MAX_HEADER = 16 * 1024
MAX_PARAMS = 32

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"  # noqa: S105 - RFC 7230 token, not a secret


@functools.cache
def _param() -> re.Pattern[str]:
    return re.compile(rf"\s*({_TOKEN})\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|({_TOKEN}))\s*,?", re.DOTALL)


@functools.cache
def _scheme() -> re.Pattern[str]:
    return re.compile(rf"\s*({_TOKEN})(?:\s+|$)")


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: its scheme and parameters."""

    scheme: str  # lower case: "bearer", "basic"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scope(self) -> str | None:
        return self.params.get("scope")

    @property
    def error(self) -> str | None:
        return self.params.get("error")


def parse(header: str | None) -> list[Challenge]:
    """All challenges in a header value, in order."""
    if not header:
        return []
    text = header[:MAX_HEADER]
    challenges: list[Challenge] = []
    pos = 0
    while pos < len(text) and len(challenges) < 8:
        match = _scheme().match(text, pos)
        if not match:
            break
        scheme = match.group(1).lower()
        pos = match.end()
        params: dict[str, str] = {}
        while pos < len(text):
            param = _param().match(text, pos)
            if not param:
                break
            # A new scheme starts where a token is followed by a space, not '='.
            name = param.group(1).lower()
            value = param.group(2) if param.group(2) is not None else param.group(3)
            value = re.sub(r"\\(.)", r"\1", value or "")
            if len(params) < MAX_PARAMS and name not in params:  # first one wins
                params[name] = value[:2048]
            pos = param.end()
        challenges.append(Challenge(scheme, params))
        if pos < len(text) and text[pos] == ",":
            pos += 1
        if match.end() == pos and not params:
            # no progress possible on garbage: skip to the next comma
            comma = text.find(",", pos)
            if comma < 0:
                break
            pos = comma + 1
    return challenges


def first(header: str | None, prefer: tuple[str, ...] = ("bearer", "basic")) -> Challenge | None:
    """The challenge a registry client would answer: bearer over basic."""
    challenges = parse(header)
    for scheme in prefer:
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return challenges[0] if challenges else None
