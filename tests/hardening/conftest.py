"""Fixtures of the hardening suite: hostile servers on loopback and a small PKI."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import hostile


@dataclass(frozen=True)
class HostilePki:
    ca_file: Path  # trusts ``context``'s chain
    context: ssl.SSLContext  # leaf valid for 127.0.0.1 and 127.0.0.2
    untrusted_context: ssl.SSLContext  # same names, a root nobody trusts


@pytest.fixture(scope="session")
def hostile_pki(tmp_path_factory: pytest.TempPathFactory) -> HostilePki:
    directory = tmp_path_factory.mktemp("hostile-pki")
    chain, key, root = hostile.long_chain(2)
    ca_file = directory / "root.pem"
    ca_file.write_bytes(root)
    trusted = directory / "trusted"
    trusted.mkdir()
    other_chain, other_key, _ = hostile.long_chain(2, prefix="untrusted")
    untrusted = directory / "untrusted"
    untrusted.mkdir()
    return HostilePki(
        ca_file=ca_file,
        context=hostile.tls_context(chain, key, trusted),
        untrusted_context=hostile.tls_context(other_chain, other_key, untrusted),
    )


Serve = Callable[..., hostile.HostileServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(handler, host="127.0.0.1", tls=None)``: a started server, stopped after."""
    servers: list[hostile.HostileServer] = []

    def start(
        handler: hostile.Handler,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
        raw: bool = False,
    ) -> hostile.HostileServer:
        server = hostile.HostileServer(handler, host=host, tls=tls, raw=raw).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
