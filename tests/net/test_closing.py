"""close_now (net/closing.py): a connection closed for good is closed at once, over TLS
too, and closing it again is harmless (asyncio drops a TLS transport's protocol on a
second close: reading from it then raised AttributeError, which ended mTLS checks)."""

from __future__ import annotations

import asyncio
import ssl

from regdoctor.net.closing import close_now
from tests.harness.testbed import Testbed


def test_a_tls_connection_is_closed_at_once_and_twice_is_harmless(testbed: Testbed) -> None:
    endpoint = testbed.endpoints["tls"]

    async def run() -> tuple[bool, bool]:
        context = ssl.create_default_context(cafile=str(testbed.ca_file))
        _reader, writer = await asyncio.open_connection(
            "127.0.0.1", endpoint.port, ssl=context, server_hostname="127.0.0.1"
        )
        raw = writer.transport.get_extra_info("socket")
        close_now(writer)
        close_now(writer)  # again: no AttributeError
        writer.close()  # and asyncio's own close after it
        close_now(writer)
        for _ in range(3):  # the transport's connection_lost runs on the next turns
            await asyncio.sleep(0)
        return writer.transport.is_closing(), raw.fileno() == -1

    closing, socket_closed = asyncio.run(run())
    assert closing
    assert socket_closed  # not left waiting for the server's close_notify
