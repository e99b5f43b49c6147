"""The TLS handshake as a strict client does it, over an asyncio connection through
pyOpenSSL memory BIOs (no thread per target): the chain the server presented, OpenSSL's
verification errors against the system store, ``--ca-file`` and certs.d, the protocol
and the server's alert. It observes nothing and judges nothing: the TLS probe does.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regdoctor.net.proxy import ProxyRefused, ProxyRoute, open_tunnel
from regdoctor.reference.targets import is_ip_literal

if TYPE_CHECKING:
    pass

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
    """What one TLS handshake showed: protocol, chain, verification errors, alert."""

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
    #: With ``keep_open``: the session, ready for HTTP/1.1 requests (net/handover.py)
    stream: Any = None
    #: The session once handed to the HTTP client (its ``alert`` is read afterwards)
    session: Any = None


def _openssl_context(
    ca_files: list[Path],
    client: tuple[Path, Path] | None,
    errors: list[tuple[int, int, str]],
    alpn: tuple[bytes, ...] = (b"h2", b"http/1.1"),
) -> Any:
    from regdoctor.net.lean_openssl import SSL

    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(SSL.TLS1_VERSION)
    # the system store is added by handshake() once the server answers with TLS
    # (load_system_store): a plain-HTTP server's answer needs no trust store at all
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
    context.set_alpn_protos(list(alpn))
    return context


def load_system_store(context: Any) -> None:
    """Add the system's CA store to a pyOpenSSL context that may already have made its
    connection (its store is live; ``Context.set_default_verify_paths`` refuses a used
    context): the locations OpenSSL's defaults name, ``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` honoured, as :func:`chain_trusted` reads them. Parsing the bundle
    costs milliseconds, so it waits until a server has answered with TLS."""
    import ssl

    from regdoctor.net.lean_openssl import crypto

    defaults = ssl.get_default_verify_paths()  # each None when it does not exist
    if defaults.cafile is None and defaults.capath is None:
        return
    try:
        context.get_cert_store().load_locations(defaults.cafile, defaults.capath)
    except crypto.Error:
        pass  # an unreadable store trusts nothing: the verification errors say so


async def handshake(
    host: str,
    address: str,
    port: int,
    *,
    client: tuple[Path, Path] | None,
    ca_files: list[Path],
    proxy: ProxyRoute | None = None,
    budget: float,
    sock: socket.socket | None = None,
    keep_open: bool = False,
) -> HandshakeResult:
    """Run a TLS handshake to ``address:port`` with SNI ``host`` (over ``sock`` when the
    TCP phase connected it already). Then either keep the session open for the HTTP
    client (``keep_open``: ``result.stream``; the first request it sends is where a
    TLS 1.3 post-handshake alert surfaces, see :class:`TlsStream`), or send one request
    so that such an alert (client certificate required) surfaces here. The whole
    exchange takes at most ``budget`` seconds."""
    from regdoctor.net.lean_openssl import SSL

    result = HandshakeResult()
    start = time.monotonic()
    try:
        # the kept session carries httpx's HTTP/1.1: offer only that
        offered = (b"http/1.1",) if keep_open else (b"h2", b"http/1.1")
        context = _openssl_context(ca_files, client, result.verify_errors, offered)
    except Exception as exc:
        result.outcome, result.error = "failed", f"cannot load TLS material: {exc}"
        return result
    conn = SSL.Connection(context, None)
    conn.set_connect_state()
    if not is_ip_literal(host):
        conn.set_tlsext_host_name(host.encode("idna"))
    writer = None
    try:
        async with asyncio.timeout(budget):
            if proxy is not None:
                reader, writer = await open_tunnel(proxy, address, host, port)
            elif sock is not None:
                reader, writer = await asyncio.open_connection(sock=sock)
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
                if first:  # a TLS answer: its chain is verified against the store
                    load_system_store(context)
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
            if keep_open and result.alpn in (None, "http/1.1"):
                from regdoctor.net.handover import TlsStream

                result.stream = TlsStream(conn, reader, writer, result.alpn, alert_error)
                return result
            await _after_handshake(conn, reader, writer, host, result)
    except ProxyRefused as exc:
        result.outcome, result.error, result.proxy_status = "proxy_refused", exc.reason, exc.status
    except TimeoutError:
        result.outcome = "timeout"
        result.error = f"TLS handshake timeout after {budget:g}s"
    except SSL.Error as exc:
        result.outcome, result.error = _classify_ssl_error(exc)
        result.alert = _alert_text(result.error)
    except (ConnectionResetError, BrokenPipeError) as exc:
        result.outcome, result.error = "reset", f"connection reset during TLS handshake: {exc}"
    except OSError as exc:
        result.outcome, result.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        result.duration_ms = (time.monotonic() - start) * 1000
        if writer is not None and result.stream is None:
            writer.close()
        elif writer is None and sock is not None:
            sock.close()
    return result


async def confirm(result: HandshakeResult, host: str, budget: float) -> None:
    """For a session kept open that no HTTP request will use (its chain failed
    verification): send the one request that makes a TLS 1.3 post-handshake alert
    surface, as :func:`handshake` does without ``keep_open``, then close it."""
    stream = result.stream
    if stream is None:
        return
    result.stream = None
    try:
        async with asyncio.timeout(budget):
            await _after_handshake(stream._conn, stream._reader, stream._writer, host, result)
    except (TimeoutError, OSError):
        pass
    finally:
        stream._writer.close()


async def _flush(conn: Any, writer: asyncio.StreamWriter) -> None:
    from regdoctor.net.lean_openssl import SSL

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
    from regdoctor.net.lean_openssl import SSL

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


def alert_error(exc: Exception) -> str:
    """The text of a TLS error read after the handshake, as the handshake gives it."""
    return _classify_ssl_error(exc)[1]


def record_alert(result: HandshakeResult, text: str) -> None:
    """A TLS error read after the handshake (see :class:`TlsStream`): the outcome."""
    result.outcome, result.error = "alert", text
    result.alert = _alert_text(text)


def _classify_ssl_error(exc: Exception) -> tuple[str, str]:
    text = ssl_error_text(exc)
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


def ssl_error_text(exc: Exception) -> str:
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


def chain_trusted(chain: list[Any], ca_files: list[Path]) -> bool:
    """Whether the chain a server presented (leaf first, cryptography certificates) is
    trusted by the system store plus ``ca_files``: how a runtime with that trust set
    would judge it, without another handshake. Names and dates are judged elsewhere."""
    from regdoctor.net.lean_openssl import crypto

    if not chain:
        return False
    import os
    import ssl

    store = crypto.X509Store()
    defaults = ssl.get_default_verify_paths()
    cafile = defaults.openssl_cafile if os.path.isfile(defaults.openssl_cafile) else None
    capath = defaults.openssl_capath if os.path.isdir(defaults.openssl_capath) else None
    if cafile or capath:
        store.load_locations(cafile, capath)  # type: ignore[arg-type]  # either may be None
    for ca in ca_files:
        try:
            store.load_locations(str(ca))
        except crypto.Error:
            continue
    leaf = crypto.X509.from_cryptography(chain[0])
    intermediates = [crypto.X509.from_cryptography(c) for c in chain[1:]]
    try:
        crypto.X509StoreContext(store, leaf, intermediates).verify_certificate()
    except crypto.X509StoreContextError as exc:
        # an expired certificate is still *trusted*: the dates are their own verdict
        return bool(exc.errors and exc.errors[0] in (9, 10))
    return True
