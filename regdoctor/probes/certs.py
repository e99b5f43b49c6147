"""What a certificate says and whether a strict client accepts it for a host: its
names, validity and issuer, the host-name check the way Go's crypto/x509 does it (SANs
only; a certificate naming the host only in its Common Name is rejected since Go 1.15),
and the reason reported in Go's order: validity period, then host name, then authority.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import TYPE_CHECKING, Any

from regdoctor.net.handshake import (
    _EXPIRED,
    _NOT_YET_VALID,
    _SELF_SIGNED_LEAF,
    _UNKNOWN_AUTHORITY,
    HandshakeResult,
)
from regdoctor.reference.targets import is_ip_literal

if TYPE_CHECKING:
    from cryptography import x509

MAX_SANS = 50


# ---------------------------------------------------------------- certificates


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except Exception:  # pragma: no cover - malformed names
        return "?"


def _sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    from cryptography import x509 as cx509

    try:
        ext = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    except cx509.ExtensionNotFound:
        return [], []
    except Exception:
        return [], []
    dns_names = [str(n) for n in ext.get_values_for_type(cx509.DNSName)]
    ips = [str(ip) for ip in ext.get_values_for_type(cx509.IPAddress)]
    return dns_names, ips


def _common_names(cert: x509.Certificate) -> list[str]:
    from cryptography.x509.oid import NameOID

    try:
        return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    except Exception:
        return []


def describe(cert: x509.Certificate, now: datetime) -> dict[str, Any]:
    # the SHA-256 of the DER encoding; not via serialization.Encoding, whose first
    # import (~10 ms: SSH keys, PKCS#12) fell between the handshake and GET /v2/
    from cryptography.hazmat.primitives import hashes

    dns_names, ips = _sans(cert)
    not_after = cert.not_valid_after_utc
    not_before = cert.not_valid_before_utc
    sans = dns_names + ips
    return {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "sans": sans[:MAX_SANS]
        + ([f"... {len(sans) - MAX_SANS} more"] if len(sans) > MAX_SANS else []),
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": int((not_after - now).total_seconds() // 86400),
        "self_signed": cert.subject == cert.issuer,
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }


def _match_dns(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def check_hostname(cert: x509.Certificate, host: str) -> tuple[str, list[str]]:
    """``ok``, ``hostname_mismatch`` or ``cn_only`` (Go ignores the Common Name)."""
    dns_names, ips = _sans(cert)
    names = dns_names + ips
    bare = host.strip("[]")
    if is_ip_literal(bare):
        wanted = ipaddress.ip_address(bare)
        if any(ipaddress.ip_address(ip) == wanted for ip in ips):
            return "ok", names
    elif any(_match_dns(name, bare) for name in dns_names):
        return "ok", names
    if not names:
        cns = _common_names(cert)
        if any(_match_dns(cn, bare) or cn == bare for cn in cns):
            return "cn_only", cns
        return "hostname_mismatch", cns
    return "hostname_mismatch", names


def verify_reason(result: HandshakeResult, host: str, now: datetime) -> tuple[str, str, list[str]]:
    """The first problem in Go's order (validity, host name, authority): reason, detail
    and the names the leaf certificate is valid for."""
    if not result.chain:
        return "error", "no certificate presented", []
    leaf = result.chain[0]
    codes = {code for code, _depth, _ in result.verify_errors}
    details = {code: text for code, _depth, text in result.verify_errors}
    hostname, names = check_hostname(leaf, host)
    shown_now = now.isoformat(timespec="seconds")
    if now > leaf.not_valid_after_utc or _EXPIRED in codes:
        when = leaf.not_valid_after_utc.isoformat()
        return (
            "expired",
            f"certificate has expired (not after {when}, now {shown_now})",
            names,
        )
    if now < leaf.not_valid_before_utc or _NOT_YET_VALID in codes:
        when = leaf.not_valid_before_utc.isoformat()
        return (
            "not_yet_valid",
            f"certificate is not yet valid (not before {when}, now {shown_now})",
            names,
        )
    if hostname == "cn_only":
        return (
            "cn_only",
            (
                f"certificate relies on the legacy Common Name field for {host}; "
                "use a certificate with a Subject Alternative Name"
            ),
            names,
        )
    if hostname == "hostname_mismatch":
        valid_for = ", ".join(names[:8]) or "no names"
        return "hostname_mismatch", f"certificate is valid for {valid_for}, not {host}", names
    if _SELF_SIGNED_LEAF in codes:
        return "self_signed", details[_SELF_SIGNED_LEAF], names
    for code in _UNKNOWN_AUTHORITY:
        if code in codes:
            return (
                "unknown_authority",
                f"certificate signed by unknown authority ({details[code]})",
                names,
            )
    if codes:
        code = sorted(codes)[0]
        return "error", details[code], names
    return "ok", "certificate chain verified", names
