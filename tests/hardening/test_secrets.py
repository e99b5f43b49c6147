"""Canaries: a distinct secret planted in every credential source that exists, then
every output format, the ``--debug`` trace and the error paths are searched for it.

Credential sources today: the password on stdin (``--password-stdin``), the userinfo of
a proxy URL (``HTTPS_PROXY``), a token in the query string of a realm URL, the token a
token server issues, and the signature of a signed blob-redirect URL. The hostile
registry also *echoes* what it received (the Authorization header, bare and decoded)
in error messages, headers and bodies, which is how real proxies and registries leak.
"""

from __future__ import annotations

import base64
import json
import os
import pickle

import pytest

from regdoctor.model import Credentials, Secret
from tests.hardening.runner import finish, leaked_controls, run, start
from tests.harness.hostile import REGISTRY_HEADERS, Conn, RawRequest

USER = "robot"
PASSWORD = "Pw-canary-0a1b2c3d"
TOKEN = "tok-canary-4e5f6a7b8c9d"
REFRESH = "refresh-canary-11aa22bb"
QUERY = "query-canary-33cc44dd"
SIGNATURE = "sig-canary-55ee66ff"
AMZ_CREDENTIAL = "AKIACANARY77GG88HH"
PROXY_PASSWORD = "proxy-canary-99ii00jj"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
PROXY_BASIC = base64.b64encode(f"u:{PROXY_PASSWORD}".encode()).decode()
CANARIES = {
    "stdin password": PASSWORD,
    "basic user:password": BASIC,
    "issued token": TOKEN,
    "refresh token": REFRESH,
    "realm query token": QUERY,
    "blob URL signature": SIGNATURE,
    "blob URL credential": AMZ_CREDENTIAL,
    "proxy password": PROXY_PASSWORD,
    "proxy basic": PROXY_BASIC,
}


def leaks(text: str) -> list[str]:
    return [name for name, value in CANARIES.items() if value in text]


@pytest.fixture
def canary_registry(serve):  # type: ignore[no-untyped-def]
    """A registry, its token server and its blob storage, all echoing credentials."""
    config = json.dumps({"os": "linux", "architecture": "amd64"}).encode()

    def storage(conn: Conn, request: RawRequest) -> None:
        conn.respond(200, {"Content-Type": "application/octet-stream"}, config)

    store = serve(storage, host="127.0.0.2")

    def tokens(conn: Conn, request: RawRequest) -> None:
        if request.authorization != f"Basic {BASIC}":
            conn.respond(401, {"X-Echo": request.authorization or ""}, "bad credentials")
            return
        answer = {"token": TOKEN, "access_token": TOKEN, "refresh_token": REFRESH}
        conn.respond(200, {"Content-Type": "application/json"}, json.dumps(answer))

    token_server = serve(tokens)
    realm = f"http://{token_server.hostport}/token?access_token={QUERY}"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"digest": "sha256:" + "1" * 64, "size": len(config)},
            "layers": [],
        }
    ).encode()
    signed = (
        f"http://{store.hostport}/blob?X-Amz-Credential={AMZ_CREDENTIAL}"
        f"&X-Amz-Signature={SIGNATURE}"
    )

    def registry(conn: Conn, request: RawRequest) -> None:
        got = request.authorization or ""
        if got != f"Bearer {TOKEN}":
            challenge = f'Bearer realm="{realm}",service="canary",echo="{got}"'
            conn.respond(401, {**REGISTRY_HEADERS, "WWW-Authenticate": challenge}, b"{}")
        elif request.path == "/v2/":
            conn.respond(200, REGISTRY_HEADERS, b"{}")
        elif "/manifests/" in request.path and "/app/" in request.path:
            headers = {
                **REGISTRY_HEADERS,
                "Content-Type": "application/vnd.oci.image.manifest.v1+json",
            }
            conn.respond(200, headers, manifest)
        elif "/blobs/" in request.path:
            conn.respond(307, {"Location": signed}, b"")
        else:  # echo everything, bare and decorated
            message = (
                f"denied: you sent {got}; token {TOKEN}; refresh {REFRESH}; "
                f"password {PASSWORD}; basic {BASIC}; signed {signed}"
            )
            document = json.dumps({"errors": [{"code": "DENIED", "message": message}]})
            conn.respond(403, {**REGISTRY_HEADERS, "X-Echo": f"{got} {TOKEN}"}, document)

    return serve(registry)


@pytest.fixture
def echo_proxy(serve):  # type: ignore[no-untyped-def]
    """An HTTP proxy refusing every CONNECT with 407, echoing Proxy-Authorization."""

    def proxy(conn: Conn, request: RawRequest) -> None:
        echoed = request.headers.get("proxy-authorization", "")
        conn.respond(407, {"Proxy-Authenticate": 'Basic realm="p"', "X-Echo": echoed}, echoed)

    return serve(proxy)


def test_no_canary_in_any_output(canary_registry, echo_proxy) -> None:
    host = canary_registry.hostport
    targets = [
        f"http://{host}/team/app:1",  # token dance, platform check, blob redirect
        f"http://{host}/team/missing:1",  # the echoing error
        "registry.test/team/app:1",  # through the proxy (its URL carries a password)
    ]
    env = {
        **os.environ,
        "HTTPS_PROXY": f"http://u:{PROXY_PASSWORD}@{echo_proxy.hostport}",
        "HTTP_PROXY": f"http://u:{PROXY_PASSWORD}@{echo_proxy.hostport}",
        "COLUMNS": "120",
    }
    common = ["--timeout", "1", "--deadline", "4", "--platform", "linux/amd64"]
    auth = ["--username", USER, "--password-stdin"]
    variants = [
        ["check", "--format", "json", *auth, *common],
        ["check", "--format", "json", "--debug", *auth, *common],
        ["check", "--format", "plain", *auth, *common],
        ["check", "--format", "plain", "-v", "--debug", *auth, *common],
    ]
    runs = []
    for args in variants:
        proc = start([*args, *targets], stdin=PASSWORD, env=env)
        runs.append(finish(*proc, stdin=PASSWORD, hard_limit_s=15))
    for result in runs:
        everything = result.stdout + result.stderr
        assert result.code == 2, everything[-3000:]
        assert leaks(everything) == [], (result.argv, everything[-5000:])
        assert leaked_controls(everything) == []
    as_json = json.loads(runs[0].stdout)
    app = as_json["targets"][0]
    assert any(o["kind"] == "image.platform" and o["ok"] for o in app["observations"])
    debug = runs[3].stderr
    # The planted values did travel (the trace shows their masked places).
    assert "access_token=****" in debug and "X-Amz-Signature=****" in debug
    assert "Authorization: Basic ****" in debug and "Authorization: Bearer ****" in debug
    missing = json.loads(runs[0].stdout)["targets"][1]
    manifest = next(o for o in missing["observations"] if o["kind"] == "image.manifest")
    assert "token ****" in manifest["error"] and "password ****" in manifest["error"]
    proxied = json.loads(runs[0].stdout)["targets"][2]
    assert any(o["kind"] == "proxy.configured" for o in proxied["observations"])


def test_credentials_in_a_target_url_are_not_echoed() -> None:
    """A user pasting ``https://user:password@host`` gets an error that hides it."""
    for target in (
        f"https://{USER}:{PASSWORD}@127.0.0.1:99999/team/app:1",
        f"https://{USER}:{PASSWORD}@127.0.0.1:1/team/app:1",
    ):
        result = run(["check", "--format", "json", "--timeout", "1", "--deadline", "2", target])
        assert leaks(result.stdout + result.stderr) == [], (target, result.stderr)
        assert "Traceback" not in result.stderr


def test_password_on_stdin_is_not_in_a_usage_error() -> None:
    """The one-line error of a failing run (exit 3) goes through the redactor too."""
    result = run(
        ["check", "--username", USER, "--password-stdin", "--dns-server", PASSWORD, "x.test"],
        stdin=PASSWORD,
    )
    assert result.code == 3
    assert leaks(result.stdout + result.stderr) == []


# -- the Secret type -------------------------------------------------------------------


def test_secret_is_masked_in_every_string_form() -> None:
    secret = Secret(PASSWORD)
    forms = [
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret!s}",
        "%s" % secret,  # noqa: UP031 - the old form is what is tested
        "%r" % secret,  # noqa: UP031
        "{}".format(secret),  # noqa: UP032
        format(secret),
        repr([secret]),
        repr({"password": secret}),
        repr(Credentials(USER, secret, "stdin")),
        str(Credentials(USER, secret, "stdin")),
        json.dumps({"p": secret}, default=str),
    ]
    assert all(PASSWORD not in form for form in forms), forms
    assert secret.reveal() == PASSWORD


def test_secret_with_a_format_spec_is_masked() -> None:
    secret = Secret(PASSWORD)
    shown = f"{secret:>30}"
    assert PASSWORD not in shown and "****" in shown


def test_secret_does_not_pickle_its_value() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret(PASSWORD))
