"""The image reference grammar of the container ecosystem, and Docker's normalisation.

This follows the grammar documented by the distribution project's ``reference``
package (the one docker, containerd, podman and the kubelet share)::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain '/'] remote-name
    domain           := host [':' port-number]
    host             := domain-name | IPv4address | '[' IPv6address ']'
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    path-component   := alpha-numeric [separator alpha-numeric]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" hex   (sha256: 64, sha384: 96, sha512: 128 hex)

and Docker's normalisation (``ParseNormalizedNamed``): a first component without a
dot, a colon or ``localhost`` (and all lower case) is not a domain, so the name is on
Docker Hub (``docker.io``); a Hub name with one component gets ``library/``;
``index.docker.io`` means ``docker.io``. The test vectors of that package are data in
``fixtures/reference/distribution-vectors.yaml``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from regdoctor.reference import dockerhub

DEFAULT_DOMAIN = dockerhub.DOMAIN
LEGACY_DEFAULT_DOMAIN = dockerhub.LEGACY_DOMAIN
OFFICIAL_PREFIX = f"{dockerhub.OFFICIAL_NAMESPACE}/"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_NAME = rf"(?:({_DOMAIN})/)?({_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
_REFERENCE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?\Z")


@functools.cache
def _anchored_tag() -> re.Pattern[str]:
    return re.compile(rf"{_TAG}\Z")


_IDENTIFIER = re.compile(r"[a-f0-9]{64}\Z")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


class ReferenceSyntaxError(ValueError):
    """Why a reference is invalid. ``code`` is stable: ``empty``, ``invalid_format``,
    ``uppercase``, ``too_long``, ``digest_invalid_length``, ``digest_unsupported``,
    ``digest_invalid``, ``hex_identifier``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ImageReference:
    domain: str  # "" when the reference names none (before normalisation)
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def familiar_name(self) -> str:
        """``ubuntu`` for ``docker.io/library/ubuntu``, ``fooo/bar`` for
        ``docker.io/fooo/bar``, the full name elsewhere."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        rest = self.path
        if rest.startswith(OFFICIAL_PREFIX) and "/" not in rest[len(OFFICIAL_PREFIX) :]:
            return rest[len(OFFICIAL_PREFIX) :]
        return rest

    @property
    def familiar_string(self) -> str:
        text = self.familiar_name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def validate_digest(digest: str) -> None:
    algorithm, _, hex_part = digest.partition(":")
    expected = _DIGEST_LENGTHS.get(algorithm)
    if expected is None:
        raise ReferenceSyntaxError(
            "digest_unsupported", f"unsupported digest algorithm {algorithm!r}"
        )
    if len(hex_part) != expected:
        raise ReferenceSyntaxError(
            "digest_invalid_length",
            f"invalid {algorithm} digest length: {len(hex_part)} hex digits, expected {expected}",
        )
    if not re.fullmatch(r"[a-f0-9]+", hex_part):
        raise ReferenceSyntaxError(
            "digest_invalid", f"invalid {algorithm} digest: not lower-case hex"
        )


def parse(text: str) -> ImageReference:
    """The grammar alone, without normalisation (distribution's ``Parse``)."""
    match = _REFERENCE.match(text)
    if match is None:
        if not text:
            raise ReferenceSyntaxError("empty", "repository name must have at least one component")
        if _REFERENCE.match(text.lower()):
            raise ReferenceSyntaxError("uppercase", "repository name must be lowercase")
        raise ReferenceSyntaxError("invalid_format", f"invalid reference format: {text!r}")
    name, domain, path, tag, digest = match.groups()
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise ReferenceSyntaxError(
            "too_long", f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    if digest is not None:
        validate_digest(digest)
    return ImageReference(domain or "", path, tag, digest)


def split_docker_domain(name: str) -> tuple[str, str]:
    """Docker's rule: the first component is a domain when it has a ``.`` or ``:``, is
    ``localhost``, or has an upper-case letter; otherwise the name is on Docker Hub."""
    index = name.find("/")
    first = name[:index] if index >= 0 else ""
    if index < 0 or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, name[index + 1 :]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def parse_normalized(text: str) -> ImageReference:
    """Docker's ``ParseNormalizedNamed``: ``ubuntu`` -> ``docker.io/library/ubuntu``."""
    if _IDENTIFIER.match(text):
        raise ReferenceSyntaxError(
            "hex_identifier",
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings",
        )
    domain, remainder = split_docker_domain(text)
    name_part = remainder
    for mark in ("@", ":"):
        index = name_part.find(mark)
        if index >= 0:
            name_part = name_part[:index]
    if name_part.lower() != name_part:
        raise ReferenceSyntaxError(
            "uppercase",
            f"invalid reference format: repository name ({name_part}) must be lowercase",
        )
    reference = parse(f"{domain}/{remainder}")
    if not reference.path:
        raise ReferenceSyntaxError("invalid_format", f"invalid reference format: {text!r}")
    return reference


def parse_any(text: str) -> ImageReference | str:
    """Distribution's ``ParseAnyReference``: a bare 64-hex identifier or a digest gives
    the digest string; anything else is parsed as a normalised name."""
    if _IDENTIFIER.match(text):
        return f"sha256:{text}"
    if ":" in text and re.fullmatch(_DIGEST, text):
        try:
            validate_digest(text)
            return text
        except ReferenceSyntaxError:
            pass
    return parse_normalized(text)


def valid_tag(tag: str) -> bool:
    return bool(_anchored_tag().match(tag))
