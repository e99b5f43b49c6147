"""TLS: the handshake, the chain, and whether a strict client would trust it.

The handshake runs over an asyncio connection through pyOpenSSL memory BIOs (no thread
per target). Verification uses OpenSSL's chain building against the system store,
``--ca-file`` and ``certs.d/<host:port>/*.crt``; the host name is checked the way Go's
crypto/x509 does it (SANs only; a certificate naming the host only in its Common Name
is rejected since Go 1.15), and problems are reported in Go's order: validity period,
then host name, then authority — what docker, containerd and kubelet will say first.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regdoctor.model import Observation, PhaseStatus, Target
from regdoctor.net.proxy import ProxyRefused, ProxyRoute, open_tunnel
from regdoctor.probes.base import ProbeContext, first
from regdoctor.reference.targets import is_loopback

if TYPE_CHECKING:
    from cryptography import x509

# OpenSSL X509_V_ERR_* codes that name a problem a user can fix.
_EXPIRED = 10
_NOT_YET_VALID = 9
_SELF_SIGNED_LEAF = 18
_UNKNOWN_AUTHORITY = {2, 19, 20, 21, 27}
_MAX_CHAIN = 20
_VERIFY_TEXT = {
    2: "unable to get issuer certificate",
    7: "certificate signature failure",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in certificate chain",
    20: "unable to get local issuer certificate",
    21: "unable to verify the first certificate",
    24: "invalid CA certificate",
    26: "unsupported certificate purpose",
    27: "certificate not trusted",
}
_MAX_SANS = 50


@dataclass
class HandshakeResult:
    outcome: str = "failed"
    protocol: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    alert: str | None = None
    error: str | None = None
    evidence: str | None = None
    chain: list[Any] = field(default_factory=list)  # cryptography certificates
    chain_length: int = 0  # how many the server sent (``chain`` keeps _MAX_CHAIN)
    verify_errors: list[tuple[int, int, str]] = field(default_factory=list)
    client_cert_requested: bool = False
    proxy_status: int | None = None
    duration_ms: float = 0.0


def _openssl_context(
    ca_files: list[Path], client: tuple[Path, Path] | None, errors: list[tuple[int, int, str]]
) -> Any:
    from OpenSSL import SSL

    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(SSL.TLS1_VERSION)
    context.set_default_verify_paths()
    for ca in ca_files:
        context.load_verify_locations(str(ca))
    if client is not None:
        context.use_certificate_chain_file(str(client[0]))
        context.use_privatekey_file(str(client[1]))

    def record(_conn: Any, _cert: Any, errnum: int, depth: int, ok: int) -> bool:
        if not ok:
            errors.append((errnum, depth, _VERIFY_TEXT.get(errnum, f"X509 verify error {errnum}")))
        return True  # keep going: the whole chain is judged in verify_reason()

    context.set_verify(SSL.VERIFY_PEER, record)
    context.set_alpn_protos([b"h2", b"http/1.1"])
    return context


async def handshake(
    ctx: ProbeContext,
    host: str,
    address: str,
    port: int,
    *,
    client: tuple[Path, Path] | None,
    ca_files: list[Path],
    proxy: ProxyRoute | None = None,
) -> HandshakeResult:
    """Run a TLS handshake to ``address:port`` with SNI ``host``, then send one request
    so that TLS 1.3 post-handshake alerts (client certificate required) surface."""
    from OpenSSL import SSL

    result = HandshakeResult()
    start = time.monotonic()
    try:
        context = _openssl_context(ca_files, client, result.verify_errors)
    except Exception as exc:
        result.outcome, result.error = "failed", f"cannot load TLS material: {exc}"
        return result
    conn = SSL.Connection(context, None)
    conn.set_connect_state()
    if not _is_ip(host):
        conn.set_tlsext_host_name(host.encode("idna"))
    writer = None
    try:
        async with asyncio.timeout(ctx.budget()):
            if proxy is not None:
                reader, writer = await open_tunnel(proxy, address, host, port)
            else:
                reader, writer = await asyncio.open_connection(address, port)
            first = True
            while True:
                try:
                    conn.do_handshake()
                    break
                except SSL.WantReadError:
                    pass
                await _flush(conn, writer)
                data = await reader.read(65536)
                if not data:
                    result.outcome, result.error = "reset", "connection closed during TLS handshake"
                    return result
                if first and data.startswith(b"HTTP/"):
                    result.outcome = "plain_http"
                    result.error = "server gave HTTP response to HTTPS client"
                    result.evidence = data[:200].decode("latin-1")
                    return result
                first = False
                conn.bio_write(data)
            result.outcome = "ok"
            result.protocol = conn.get_protocol_version_name()
            result.cipher = conn.get_cipher_name()
            alpn = conn.get_alpn_proto_negotiated()
            result.alpn = alpn.decode() if alpn else None
            presented = conn.get_peer_cert_chain() or []
            result.chain_length = len(presented)
            result.chain = [c.to_cryptography() for c in presented[:_MAX_CHAIN]]
            result.client_cert_requested = bool(conn.get_client_ca_list())
            await _after_handshake(conn, reader, writer, host, result)
    except ProxyRefused as exc:
        result.outcome, result.error, result.proxy_status = "proxy_refused", exc.reason, exc.status
    except TimeoutError:
        result.outcome = "timeout"
        result.error = f"TLS handshake timeout after {ctx.budget():g}s"
    except SSL.Error as exc:
        result.outcome, result.error = _classify_ssl_error(exc)
        result.alert = _alert_text(result.error)
    except (ConnectionResetError, BrokenPipeError) as exc:
        result.outcome, result.error = "reset", f"connection reset during TLS handshake: {exc}"
    except OSError as exc:
        result.outcome, result.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        result.duration_ms = (time.monotonic() - start) * 1000
        if writer is not None:
            writer.close()
    return result


async def _flush(conn: Any, writer: asyncio.StreamWriter) -> None:
    from OpenSSL import SSL

    while True:
        try:
            chunk = conn.bio_read(65536)
        except SSL.WantReadError:
            break
        if not chunk:
            break
        writer.write(chunk)
    await writer.drain()


async def _after_handshake(
    conn: Any,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    result: HandshakeResult,
) -> None:
    """Send ``GET /v2/`` and read the first bytes: a TLS 1.3 server that wants a client
    certificate says so only now, with an alert."""
    from OpenSSL import SSL

    request = f"GET /v2/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    try:
        conn.sendall(request)
    except SSL.WantReadError:
        pass
    await _flush(conn, writer)
    for _ in range(8):
        data = await reader.read(65536)
        if not data:
            return
        conn.bio_write(data)
        try:
            if conn.recv(1024):
                return
        except SSL.WantReadError:
            await _flush(conn, writer)
            continue
        except SSL.ZeroReturnError:
            return
        except SSL.Error as exc:
            _, error = _classify_ssl_error(exc)
            result.outcome, result.error = "alert", error
            result.alert = _alert_text(error)
            return


def _classify_ssl_error(exc: Exception) -> tuple[str, str]:
    text = _ssl_error_text(exc)
    lowered = text.lower()
    if "excessive message size" in lowered:
        # OpenSSL refuses a certificate message over 100 KiB (Go: over 64 KiB).
        return "failed", (
            "the server's handshake message (its certificate chain) is too large: "
            f"{text}; Go clients refuse more than 64 KiB"
        )
    if "alert" in lowered:
        return "alert", text
    if "wrong version number" in lowered or "packet length too long" in lowered:
        return "failed", text
    return "failed", text


def _ssl_error_text(exc: Exception) -> str:
    parts: list[str] = []
    for item in getattr(exc, "args", ())[:1]:
        if isinstance(item, list):
            for entry in item:
                if isinstance(entry, tuple) and entry:
                    parts.append(str(entry[-1]))
        else:
            parts.append(str(item))
    return "; ".join(p for p in parts if p) or type(exc).__name__


def _alert_text(error: str | None) -> str | None:
    if not error:
        return None
    lowered = error.lower()
    marker = "alert "
    index = lowered.find(marker)
    if index < 0:
        return None
    return lowered[index + len(marker) :].strip() or None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


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
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding

    dns_names, ips = _sans(cert)
    not_after = cert.not_valid_after_utc
    not_before = cert.not_valid_before_utc
    sans = dns_names + ips
    return {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "sans": sans[:_MAX_SANS]
        + ([f"... {len(sans) - _MAX_SANS} more"] if len(sans) > _MAX_SANS else []),
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": int((not_after - now).total_seconds() // 86400),
        "self_signed": cert.subject == cert.issuer,
        "sha256": hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
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
    if _is_ip(bare):
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


async def examine(
    ctx: ProbeContext,
    host: str,
    address: str,
    port: int,
    role: str,
    *,
    enforced: bool,
    proxy: ProxyRoute | None = None,
) -> tuple[HandshakeResult, list[Observation]]:
    """Handshake with ``host`` at ``address:port`` (or through ``proxy``, whose address
    ``address`` then is) and describe what was seen."""
    from regdoctor.redact.secrets import redact

    hostport = _hostport(host, port)
    client, client_source = ctx.network.client_pair(hostport)
    ca_files = ctx.network.ca_files(hostport)
    result = await handshake(
        ctx, host, address, port, client=client, ca_files=ca_files, proxy=proxy
    )
    facts: dict[str, Any] = {
        "host": host,
        "address": None if proxy else address,
        "port": port,
        "role": role,
        "sni": None if _is_ip(host) else host,
        "outcome": result.outcome,
        "protocol": result.protocol,
        "cipher": result.cipher,
        "alpn": result.alpn,
        "client_cert": client_source,
        "client_cert_requested": result.client_cert_requested,
        "alert": result.alert,
        "proxy": redact(proxy.url) if proxy else None,
        "proxy_status": result.proxy_status,
    }
    observations = []
    handshake_ok = result.outcome == "ok"
    observations.append(
        ctx.observe(
            "tls.handshake",
            ok=handshake_ok,
            phase="tls",
            facts=facts,
            error=result.error,
            evidence=result.evidence,
            source=client_source,
            duration_ms=result.duration_ms,
        )
    )
    if result.chain:
        now = ctx.clock.now()
        certs = [describe(c, now) for c in result.chain]
        soonest = min(certs, key=lambda c: c["days_left"])
        observations.append(
            ctx.observe(
                "tls.chain",
                ok=True,
                phase="tls",
                facts={
                    "host": host,
                    "role": role,
                    "certificates": certs,
                    "chain_length": result.chain_length or len(certs),
                    "leaf_subject": certs[0]["subject"],
                    "leaf_not_after": certs[0]["not_after"],
                    "leaf_days_left": certs[0]["days_left"],
                    "min_days_left": soonest["days_left"],
                    "min_days_left_subject": soonest["subject"],
                },
            )
        )
        reason, detail, names = verify_reason(result, host, now)
        sources = ["system"] + [
            f"--ca-file {p}"
            if p in ctx.options.ca_files
            else (f"certs.d {p}" if "certs.d" in p.parts else f"config {p}")
            for p in ca_files
        ]
        observations.append(
            ctx.observe(
                "tls.verify",
                ok=reason == "ok" or not enforced,
                phase="tls",
                facts={
                    "host": host,
                    "port": port,
                    "role": role,
                    "reason": reason,
                    "detail": detail,
                    "hostname_ok": reason not in ("hostname_mismatch", "cn_only"),
                    "names": names[:_MAX_SANS],
                    "enforced": enforced,
                    "ca_sources": sources,
                    "now": now.astimezone(UTC).isoformat(),
                },
                error=None if reason == "ok" else detail,
            )
        )
    return result, observations


def _hostport(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}"


class TlsProbe:
    id = "tls"
    needs: tuple[str, ...] = ("tcp",)

    def applies(self, target: Target) -> bool:
        return True

    def summary(self, observations: Sequence[Observation]) -> str:
        hs = first(observations, "tls.handshake", role="registry") or first(
            observations, "tls.handshake"
        )
        parts = []
        if hs:
            if hs.facts.get("scheme_decision") == "http":
                return "plain HTTP (no TLS)"
            if hs.facts.get("protocol"):
                parts.append(str(hs.facts["protocol"]))
        chain = first(observations, "tls.chain", role="registry") or first(
            observations, "tls.chain"
        )
        days = chain.facts.get("min_days_left") if chain else None
        if isinstance(days, int | float) and not isinstance(days, bool):
            parts.append(f"certificates valid {int(days)} more days")
        return ", ".join(parts)

    async def run(self, ctx: ProbeContext) -> AsyncIterator[Observation]:
        target, state = ctx.target, ctx.state
        state.verify_enforced = not target.insecure
        state.fallback_allowed = target.scheme is None and (
            target.insecure
            or is_loopback(target.host)
            or (state.proxy is None and any(is_loopback(a) for a in state.addresses))
        )
        if target.scheme == "http":
            state.scheme = "http"
            state.verdict("tls", PhaseStatus.NOT_APPLICABLE, "http:// given: TLS not used")
            return
        assert state.address is not None
        result, observations = await examine(
            ctx,
            target.host,
            state.address,
            target.port,
            "registry",
            enforced=state.verify_enforced,
            proxy=state.proxy,
        )
        decision = "https"
        if result.outcome != "ok" and state.fallback_allowed:
            decision = "http"
        handshake = observations[0]
        observations[0] = _with_facts(
            handshake, scheme_decision=decision, fallback_allowed=state.fallback_allowed
        )
        if decision == "http" and result.outcome == "plain_http":
            observations[0] = _with_ok(observations[0], True)
        for observation in observations:
            yield observation
        state.scheme = decision
        pair, source = ctx.network.client_pair(target.hostport)
        state.client_cert_source = source
        if decision == "http":
            if result.outcome == "plain_http":
                state.verdict(
                    "tls",
                    PhaseStatus.NOT_APPLICABLE,
                    "server speaks plain HTTP; using http:// (insecure registry)",
                )
            else:
                state.verdict(
                    "tls", PhaseStatus.WARN, f"TLS failed ({result.error}); falling back to http://"
                )
            return
        if result.outcome != "ok":
            state.verdict("tls", PhaseStatus.FAILED, result.error)
            return
        verify = next((o for o in observations if o.kind == "tls.verify"), None)
        if verify is not None and not verify.ok:
            state.verdict("tls", PhaseStatus.FAILED, verify.error)
            return
        state.ssl_context = ctx.network.ssl_context(
            target.hostport,
            enforced=state.verify_enforced and verify is not None,
            client_cert=pair,
        )
        if verify is not None and verify.facts.get("reason") != "ok":
            state.verdict("tls", PhaseStatus.WARN, verify.error)
        else:
            state.verdict("tls", PhaseStatus.OK)


def _with_facts(observation: Observation, **facts: Any) -> Observation:
    from dataclasses import replace

    return replace(observation, facts={**observation.facts, **facts})


def _with_ok(observation: Observation, ok: bool) -> Observation:
    from dataclasses import replace

    return replace(observation, ok=ok)
