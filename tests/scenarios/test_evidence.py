"""The evidence regdoctor has is shown where a support engineer reads it (default plain
output and markdown, not only JSON or ``-v``), against the real registries of the
testbed: the tags nearest to a missing one, the registry's error detail on an HTTP 500,
the untrusted issuer and the CA folders each runtime tried, the token server that
refused, and ``seen:`` lines that quote only what a server or client said."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import procs
from tests.harness.content import Pusher
from tests.harness.registry import Registry, RegistryOptions
from tests.harness.testbed import PASSWORD, Testbed
from tests.scenarios.test_check_scenarios import regdoctor

TAGS = ("1.2.0", "1.2.1", "1.3.0", "1.20.0", "2.0.0", "latest", "0.9.9")


def _prose(text: str) -> str:
    """Plain output with its line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def tagged(testbed: Testbed) -> str:
    """evidence/tags with several tags, pushed through the plain registry."""
    with httpx.Client(base_url=testbed.endpoints["plain"].url, timeout=10, trust_env=False) as c:
        pusher = Pusher(c)
        for tag in TAGS:
            pusher.image("evidence/tags", tag, f"/{tag}")
    return f"{testbed.endpoints['plain'].hostport}/evidence/tags"


def test_a_missing_tag_is_shown_with_the_nearest_tags(tagged: str) -> None:
    result = regdoctor(f"{tagged}:1.2.2")
    assert result.leading["category"] == "image.manifest_unknown"
    manifest = next(
        o for o in result.document["targets"][0]["observations"] if o["kind"] == "image.manifest"
    )
    assert manifest["facts"]["tags_count"] == len(TAGS)
    nearest = manifest["facts"]["tags_nearest"]
    assert len(nearest) == 5 and set(nearest[:2]) == {"1.2.0", "1.2.1"}, nearest
    assert "latest" not in nearest
    # facts, not prose: the rule says them
    assert manifest["facts"]["tags_more"] == len(TAGS) - 5
    assert not [k for k in manifest["facts"] if k.endswith("_text")]
    plain = _prose(regdoctor(f"{tagged}:1.2.2", fmt="plain").stdout)
    shown = f"{', '.join(nearest[:4])} and {nearest[4]}."
    assert f"Of the {len(TAGS)} tags the registry lists, the nearest are: {shown}" in plain, plain
    markdown = regdoctor(f"{tagged}:1.2.2", fmt="markdown").stdout
    assert "the nearest are: 1.2." in _prose(markdown)


@pytest.fixture
def broken_storage(testbed: Testbed, tmp_path: Path) -> Iterator[str]:
    """A real registry whose tag link is a directory: it answers the manifest with
    HTTP 500 and the storage driver's error in the body's ``detail``."""
    storage = tmp_path / "storage"
    shutil.copytree(testbed.storage_root, storage)
    link = next(storage.rglob("repositories/team/app/_manifests/tags/1.2/current/link"))
    link.unlink()
    link.mkdir()
    registry = Registry("broken", tmp_path / "registry", storage, RegistryOptions())
    registry.start()
    try:
        procs.poll_all({"broken registry": registry.check_ready}, timeout_s=20.0)
        yield f"127.0.0.1:{registry.port}/team/app:1.2"
    finally:
        registry.stop()


def test_a_server_error_shows_the_registrys_detail(broken_storage: str) -> None:
    result = regdoctor(broken_storage)
    assert result.leading["category"] == "server.error", result.categories
    manifest = next(
        o for o in result.document["targets"][0]["observations"] if o["kind"] == "image.manifest"
    )
    assert '"DriverName":"filesystem"' in manifest["facts"]["error_detail"]
    plain = regdoctor(broken_storage, fmt="plain").stdout
    seen = _prose(plain.split("seen:", 1)[1])
    assert seen.startswith("UNKNOWN: unknown error (detail: {") and "DriverName" in seen
    markdown = regdoctor(broken_storage, fmt="markdown").stdout
    assert "DriverName" in markdown


def test_an_untrusted_certificate_names_its_issuer_and_the_places_tried(testbed) -> None:
    endpoint = testbed.endpoints["tls_untrusted"]
    image = testbed.images.app.ref(endpoint.hostport)
    plain = _prose(regdoctor("--runtime", "podman", image, fmt="plain").stdout)
    assert 'It was issued by "CN=regdoctor untrusted CA' in plain, plain
    assert "the trust sources checked were: system (/" in plain
    assert (
        f"Besides those, podman looked in /etc/containers/certs.d/{endpoint.hostport}/ and "
        f"/etc/docker/certs.d/{endpoint.hostport}/ (no CA file there)."
    ) in plain
    verify = next(
        o
        for o in regdoctor("--runtime", "podman", image).document["targets"][0]["observations"]
        if o["kind"] == "tls.verify"
    )
    assert verify["facts"]["issuer"].startswith("CN=regdoctor untrusted CA")
    # facts, not prose: the rule says them
    assert verify["facts"]["ca_tried_by"] == ["podman"]
    assert verify["facts"]["ca_tried_dirs"] == [
        f"/etc/containers/certs.d/{endpoint.hostport}/",
        f"/etc/docker/certs.d/{endpoint.hostport}/",
    ]
    assert not [k for k in verify["facts"] if k.endswith("_text")]


def test_seen_lines_quote_only_what_was_observed(testbed, check_schema) -> None:
    """containerd talks plain HTTP to a loopback TLS port: regdoctor infers it from the
    runtime model, nothing answered it, so no ``seen:`` line may quote words for it."""
    image = testbed.images.app.ref(testbed.endpoints["tls_untrusted"].hostport)
    result = regdoctor("--runtime", "containerd", image)
    check_schema(result.document)
    path = next(
        o for o in result.document["targets"][0]["observations"] if o["kind"] == "runtime.path"
    )
    assert path["ok"] is False and path["error"] is None
    assert "speaks TLS" in path["facts"]["walk_reason"]
    plain = regdoctor("--runtime", "containerd", image, fmt="plain").stdout
    assert "seen: the server speaks TLS on this port" not in plain


def test_the_token_server_that_refuses_is_named(testbed) -> None:
    endpoint = testbed.endpoints["token_refuse"]
    result = regdoctor(
        "--ca-file",
        str(testbed.ca_file),
        testbed.images.app.ref(endpoint.hostport),
        password=PASSWORD,
    )
    realm = testbed.token_server
    assert result.leading["category"] == "auth.unauthorized"
    title = result.leading["title"]
    assert f"rejected by the token server 127.0.0.1:{realm.port}" in title, title
    assert endpoint.hostport not in title
    # the server's own words, quoted: its error message and detail
    said = 'It said: "authentication required (the token server refuses every request)".'
    assert said in result.leading["explanation"], result.leading["explanation"]
    auth = next(
        o for o in result.document["targets"][0]["observations"] if o["kind"] == "auth.result"
    )
    assert auth["facts"]["realm_said"] == (
        "authentication required (the token server refuses every request)"
    )
    assert said in _prose(
        regdoctor(
            "--ca-file",
            str(testbed.ca_file),
            testbed.images.app.ref(endpoint.hostport),
            password=PASSWORD,
            fmt="plain",
        ).stdout
    )


def test_a_failing_token_server_is_named_with_its_port(testbed) -> None:
    endpoint = testbed.endpoints["token_error"]
    result = regdoctor(
        "--ca-file",
        str(testbed.ca_file),
        testbed.images.app.ref(endpoint.hostport),
        password=PASSWORD,
    )
    assert result.leading["title"].startswith(
        f"The token server 127.0.0.1:{testbed.token_server.port} answers HTTP 503"
    ), result.leading["title"]
    # what the server said (its plain-text body), not only regdoctor's words for it
    assert (
        'answered HTTP 503. It said: "503 Service Unavailable".' in (result.leading["explanation"])
    ), result.leading["explanation"]


def test_a_token_server_answering_garbage_is_quoted(testbed) -> None:
    endpoint = testbed.endpoints["token_badjson"]
    result = regdoctor(
        "--ca-file",
        str(testbed.ca_file),
        testbed.images.app.ref(endpoint.hostport),
        password=PASSWORD,
    )
    assert result.leading["rule"] == "auth-token-bad-response", result.categories
    assert '(it began: "{not json")' in result.leading["explanation"]


def test_http_on_a_tls_client_quotes_what_the_server_answered(testbed) -> None:
    """Plain HTTP where HTTPS was dialled: the ``seen:`` line carries the status line
    the registry sent, not only the Go client's words for it."""
    image = testbed.images.app.ref(f"https://{testbed.endpoints['plain'].hostport}")
    result = regdoctor(image)
    handshake = next(
        o for o in result.document["targets"][0]["observations"] if o["kind"] == "tls.handshake"
    )
    assert handshake["error"] == (
        'server gave HTTP response to HTTPS client (the server answered "HTTP/1.1 400 Bad Request")'
    )
    plain = _prose(regdoctor(image, fmt="plain").stdout)
    assert (
        'seen: server gave HTTP response to HTTPS client (the server answered "HTTP/1.1 400'
        in plain
    )
