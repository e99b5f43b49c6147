"""Tag policy: which tag names count as immutable releases.

``semver``: ``1.2.3``, ``v1.2.3``, ``1.2.3-rc.1``, ``1.2.3+build.5`` (full
major.minor.patch; ``1.2`` or ``latest`` do not fit). ``commit``: a git commit id,
7 to 40 hex digits, optionally prefixed (``sha-``, ``git-``, ``g``). Anything else is a
custom regular expression the whole tag must match.
"""

from __future__ import annotations

import re

SEMVER = (
    r"v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
COMMIT = r"(?:sha-|git-|g)?[0-9a-f]{7,40}"
NAMED = {"semver": SEMVER, "commit": COMMIT}


class PolicyError(ValueError):
    pass


class TagPolicy:
    def __init__(self, spec: str) -> None:
        self.name = spec if spec in NAMED else "custom"
        pattern = NAMED.get(spec, spec)
        try:
            self._regex = re.compile(pattern)
        except re.error as exc:
            raise PolicyError(f"--policy {spec!r}: not a regular expression ({exc})") from None
        self.pattern = pattern

    def fits(self, tag: str) -> bool:
        return self._regex.fullmatch(tag) is not None

    def __str__(self) -> str:
        return self.name if self.name != "custom" else f"/{self.pattern}/"


def is_signature_tag(tag: str) -> bool:
    """cosign's ``sha256-<hex>.sig|.att|.sbom`` and the referrers fallback tag
    ``sha256-<hex>``: artefacts, not images; no policy applies to them."""
    return re.fullmatch(r"sha256-[0-9a-f]{64}(?:\.[a-z]+)?", tag) is not None
