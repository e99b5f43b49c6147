"""Closing a connection for good (a module of its own: the handover and the streams
both close it, and regdoctor.net has no import cycles: the handover imports the streams)."""

from __future__ import annotations

import asyncio

__all__ = ["close_now"]


def close_now(writer: asyncio.StreamWriter) -> None:
    """Close a connection no request will use again, now. Over TLS, ``close`` alone
    sends close_notify and then waits (up to 30 s) for the server's before it closes the
    socket: a run that ends meanwhile leaves the socket open until the process ends
    (and unclosed, to ``-X dev``). Aborted after it, the socket is closed at once, its
    close_notify sent first, as Go's ``tls.Conn.Close`` does."""
    writer.close()
    if writer.get_extra_info("ssl_object") is not None:
        writer.transport.abort()
