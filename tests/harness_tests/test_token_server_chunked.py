"""The harness token server reads a chunked form body (Go's net/http sends the body of
containers/image's OAuth2 refresh-token POST chunked); before, it answered without
reading it and the close reset the connection (podman: "connection reset by peer")."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

from tests.harness.procs import poll_until
from tests.harness.token_server import TokenServer, make_signing_key


def test_a_chunked_password_grant_is_read(tmp_path: Path) -> None:
    server = TokenServer(
        tls=None, signing=make_signing_key(tmp_path / "token"), username="u", password="p"
    )
    server.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        body = [b"grant_type=password&", b"username=u&password=p&service=s"]
        conn.request(
            "POST",
            "/token",
            body=iter(body),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            encode_chunked=True,
        )
        answer = conn.getresponse()
        assert answer.status == 200
        assert json.loads(answer.read())["token"]
        # the server records the request after it has answered
        poll_until(lambda: bool(server.requests), 5.0, "the token request's record")
        [request] = server.requests
        assert request.username == "u"
    finally:
        server.stop()
