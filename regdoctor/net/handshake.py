"""The TLS handshake as a strict client does it, over an asyncio connection through
pyOpenSSL memory BIOs (no thread per target): the chain the server presented, OpenSSL's
verification errors against the system store, ``--ca-file`` and certs.d, the protocol
and the server's alert. It observes nothing and judges nothing: the TLS probe does.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regdoctor.net.proxy import ProxyRefused, ProxyRoute, open_tunnel
from regdoctor.reference.targets import is_ip_literal

if TYPE_CHECKING:
    from regdoctor.net.trust import SharedContext, TrustCache

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


@dataclass(eq=False)
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
    #: the same certificates as pyOpenSSL's (what :func:`chain_trusted` verifies)
    peer_chain: list[Any] = field(default_factory=list)
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
    alpn: tuple[bytes, ...] = (b"h2", b"http/1.1"),
) -> Any:
    """A client context; every connection made from it records OpenSSL's verification
    errors in the list that is its app data (so one context serves many handshakes)."""
    from regdoctor.net.lean_openssl import SSL

    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(SSL.TLS1_VERSION)
    # the system store is added by handshake() while the ClientHello is in flight
    # (load_system_store, in a worker thread): only a TLS answer waits for it
    for ca in ca_files:
        context.load_verify_locations(str(ca))
    if client is not None:
        context.use_certificate_chain_file(str(client[0]))
        context.use_privatekey_file(str(client[1]))

    def record(conn: Any, _cert: Any, errnum: int, depth: int, ok: int) -> bool:
        errors = conn.get_app_data()
        if not ok and isinstance(errors, list):
            errors.append((errnum, depth, _VERIFY_TEXT.get(errnum, f"X509 verify error {errnum}")))
        return True  # keep going: the whole chain is judged in verify_reason()

    context.set_verify(SSL.VERIFY_PEER, record)
    context.set_alpn_protos(list(alpn))
    return context


def _client_context(
    trust: TrustCache | None,
    ca_files: list[Path],
    client: tuple[Path, Path] | None,
    alpn: tuple[bytes, ...],
) -> SharedContext:
    """The run's context for this trust set (made once), or a new one without a cache."""
    from regdoctor.net.trust import TrustCache

    key = (
        tuple(str(p) for p in ca_files),
        (str(client[0]), str(client[1])) if client is not None else None,
        alpn,
    )
    if trust is None:
        trust = TrustCache()  # this handshake's own (its worker ends with it)
    return trust.client_context(
        key, lambda: _openssl_context(ca_files, client, alpn), load_system_store
    )


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
    trust: TrustCache | None = None,
    in_flight: Callable[[], None] | None = None,
) -> HandshakeResult:
    """Run a TLS handshake to ``address:port`` with SNI ``host`` (over ``sock`` when the
    TCP phase connected it already). Then either keep the session open for the HTTP
    client (``keep_open``: ``result.stream``; the first request it sends is where a
    TLS 1.3 post-handshake alert surfaces, see :class:`TlsStream`), or send one request
    so that such an alert (client certificate required) surfaces here. The whole
    exchange takes at most ``budget`` seconds. ``trust``: the run's contexts, shared by
    the handshakes with the same trust set (see :mod:`regdoctor.net.trust`).
    ``in_flight``: work the caller needs once the handshake is done, run while the
    ClientHello is in flight (the loop would only wait)."""
    from regdoctor.net.lean_openssl import SSL

    result = HandshakeResult()
    start = time.monotonic()
    try:
        # the kept session carries the HTTP client's HTTP/1.1: offer only that
        offered = (b"http/1.1",) if keep_open else (b"h2", b"http/1.1")
        shared = _client_context(trust, ca_files, client, offered)
    except Exception as exc:
        result.outcome, result.error = "failed", f"cannot load TLS material: {exc}"
        return result
    conn = SSL.Connection(shared.context, None)
    conn.set_app_data(result.verify_errors)
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
                if first:  # the ClientHello is in flight: read the system store meanwhile
                    shared.start_loading()
                    if in_flight is not None:
                        in_flight()
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
                    await shared.loaded()
                first = False
                conn.bio_write(data)
            result.outcome = "ok"
            result.protocol = conn.get_protocol_version_name()
            result.cipher = conn.get_cipher_name()
            alpn = conn.get_alpn_proto_negotiated()
            result.alpn = alpn.decode() if alpn else None
            presented = conn.get_peer_cert_chain() or []
            result.chain_length = len(presented)
            result.peer_chain = list(presented[:_MAX_CHAIN])
            result.chain = [c.to_cryptography() for c in result.peer_chain]
            result.client_cert_requested = bool(conn.get_client_ca_list())
            if keep_open and result.alpn in (None, "http/1.1"):
                from regdoctor.net.streams import TlsStream

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


def chain_trusted(chain: list[Any], ca_files: list[Path], trust: TrustCache | None = None) -> bool:
    """Whether the chain a server presented (leaf first; pyOpenSSL's certificates, as
    :attr:`HandshakeResult.peer_chain` holds them, or cryptography's) is trusted by the
    system store plus ``ca_files``: how a runtime with that trust set would judge it,
    without another handshake. Names and dates are judged elsewhere. With ``trust`` the
    store of each trust set is built once per run."""
    from regdoctor.net.lean_openssl import crypto

    if not chain:
        return False
    from regdoctor.net.trust import trust_store

    store = trust.store(ca_files) if trust is not None else trust_store(ca_files)
    # pyOpenSSL's own certificates need no conversion (from_cryptography imports
    # cryptography's serialization, ~10 ms, between the handshake and GET /v2/)
    certs = [c if isinstance(c, crypto.X509) else crypto.X509.from_cryptography(c) for c in chain]
    leaf, intermediates = certs[0], certs[1:]
    try:
        crypto.X509StoreContext(store, leaf, intermediates).verify_certificate()
    except crypto.X509StoreContextError as exc:
        # an expired certificate is still *trusted*: the dates are their own verdict
        return bool(exc.errors and exc.errors[0] in (9, 10))
    return True
