"""The failure categories (reason codes): the project's stable contract.

``rules/CATEGORIES.md`` explains each code; a test keeps that table and these tuples equal.
Adding a code means adding it in both; codes are never renamed or reused.
"""

from __future__ import annotations

#: Codes that a live check, a pasted error, or both can produce (what `explain` and the
#: pasted-error corpus may name).
PASTE_CATEGORIES: tuple[str, ...] = (
    "dns.nxdomain",
    "dns.failure",
    "tcp.refused",
    "tcp.timeout",
    "tcp.reset",
    "http.timeout",
    "proxy.error",
    "tls.unknown_authority",
    "tls.expired",
    "tls.hostname_mismatch",
    "tls.http_on_https",
    "tls.handshake",
    "auth.unauthorized",
    "auth.denied",
    "auth.credential_helper",
    "auth.token_expired",
    "ratelimit",
    "image.manifest_unknown",
    "image.name_unknown",
    "image.platform_mismatch",
    "image.blob_integrity",
    "server.error",
    "client.disk",
    "config.invalid",
    "k8s.pull_secret",
    "other",
)
#: Codes that only a live check produces.
LIVE_ONLY_CATEGORIES: tuple[str, ...] = (
    "tls.expiring_soon",
    "tls.verification_disabled",
    "auth.plaintext_credentials",
    "auth.overprivileged",
    "auth.realm_mismatch",
    "clock.skew",
    "image.manifest_invalid",
    "ratelimit.low",
    "mirror.unreachable",
    "mirror.not_used",
    "mirror.stale",
    "tag.mutable",
    "tag.divergent",
    "tag.drift",
    "tag.unsigned",
    "tag.list_invalid",
    "perf.slow",
    "host.daemon",
    "host.disk_low",
)
CATEGORIES: frozenset[str] = frozenset(PASTE_CATEGORIES + LIVE_ONLY_CATEGORIES)
