"""Closing a connection for good (a module of its own: the handover and the streams
both close it, and regdoctor.net has no import cycles: the handover imports the streams)."""

from __future__ import annotations

import asyncio

__all__ = ["close_now"]


def close_now(writer: asyncio.StreamWriter) -> None:
    """Close a connection no request will use again, now. Over TLS, ``close`` alone
    sends close_notify and then waits (up to 30 s) for the server's before it closes the
    socket: a run that ends meanwhile leaves the socket open until the process ends
    (and unclosed, to ``-X dev``). Aborted after it, the socket is closed at once, as
    Go's ``tls.Conn.Close`` does; its close_notify goes out if the kernel takes it at
    once (an idle connection's socket buffer is empty), else it is dropped. Only for a
    connection no request is using: what is still unsent is discarded."""
    transport = writer.transport
    try:
        secured = transport.get_extra_info("ssl_object") is not None
    except AttributeError:  # TLS, closed twice already: asyncio dropped its protocol
        return
    if not transport.is_closing():
        writer.close()  # never twice: a second close drops a TLS transport's protocol
    if secured:
        transport.abort()
