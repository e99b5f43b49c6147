"""tags/list pagination against a fake server (distribution 2.8.2 ignores n/last),
RateLimit headers via HEAD, GET only where HEAD gives no digest, referrers API."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.harness.fake_registry import FakeRegistry, digest_of
from tests.tags.conftest import rules_of

TAGS = [f"v{i:02d}" for i in range(25)]


@pytest.mark.parametrize("mode", ["link", "last"])
def test_pages_are_followed(tags_json, mode):
    with FakeRegistry(TAGS, mode=mode) as fake:
        code, doc = tags_json(f"http://{fake.hostport}/team/app", "--page-size", "10")
    assert code == 0, doc["findings"]
    assert doc["listing"]["count"] == 25
    assert doc["listing"]["pages"] == 3
    assert sorted(t["tag"] for t in doc["tags"]) == TAGS
    assert all(t["digest"] == digest_of(t["tag"]) for t in doc["tags"])
    lists = [r for r in fake.requests if "/tags/list" in r]
    assert any("last=v09" in r for r in lists)


def test_link_loop_does_not_hang(tags_json):
    with FakeRegistry(TAGS, mode="loop") as fake:
        code, doc = tags_json(f"http://{fake.hostport}/team/app", "--page-size", "10")
    assert doc["listing"]["loop"] is True
    assert doc["listing"]["pages"] <= 3
    assert doc["listing"]["count"] == 10
    assert code == 0


def test_ignored_n_and_cap(tags_json):
    with FakeRegistry(TAGS, mode="ignore") as fake:
        _code, doc = tags_json(f"http://{fake.hostport}/team/app", "--page-size", "10")
        assert doc["listing"]["count"] == 25 and doc["listing"]["pages"] == 1
        _code, doc = tags_json(f"http://{fake.hostport}/team/app", "--max-tags", "12")
    assert doc["listing"]["truncated"] is True
    assert doc["listing"]["count"] == 12


def test_ratelimit_read_from_head_and_low(tags_json):
    with FakeRegistry(["a", "b"], ratelimit=(100, 5, 21600)) as fake:
        code, doc = tags_json(f"http://{fake.hostport}/team/app")
        manifest_requests = [r for r in fake.requests if "/manifests/" in r]
    assert manifest_requests and all(r.startswith("HEAD ") for r in manifest_requests)
    assert "ratelimit-low" in rules_of(doc)
    rate = next(
        o for s in doc["subjects"] for o in s["observations"] if o["kind"] == "ratelimit.status"
    )
    assert rate["facts"] == {
        "limit": 100,
        "remaining": 5,
        "reset_s": 10800,
        "window_s": 21600,
        "source": None,
    }
    assert code == 1


def test_get_only_where_head_has_no_digest(tags_json):
    with FakeRegistry(["a", "b", "c"], no_digest={"b"}) as fake:
        code, doc = tags_json(f"http://{fake.hostport}/team/app")
        gets = [r for r in fake.requests if r.startswith("GET ") and "/manifests/" in r]
    assert gets == ["GET /v2/team/app/manifests/b"]
    body = json.dumps({"schemaVersion": 2, "tag": "b"}).encode()
    by_tag = {t["tag"]: t for t in doc["tags"]}
    assert by_tag["b"]["digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert doc["resolution"]["get_requests"] == 1 and doc["resolution"]["head_requests"] == 3
    assert code == 0


def test_referrers_api(tags_json):
    signed = digest_of("v1")
    referrers = {
        signed: [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:" + "1" * 64,
                "size": 10,
                "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
            }
        ]
    }
    with FakeRegistry(["v1", "v2"], referrers=referrers) as fake:
        code, doc = tags_json(f"http://{fake.hostport}/team/app", "--require-signature")
    unsigned = [f for f in doc["findings"] if f["rule"] == "tag-unsigned"]
    assert [f["target"] for f in unsigned] == [f"{fake.hostport}/team/app:v2"]
    signatures = {
        o["facts"]["tag"]: o["facts"]
        for s in doc["subjects"]
        for o in s["observations"]
        if o["kind"] == "tag.signature"
    }
    assert signatures["v2"]["referrers_source"] == "api"
    assert code == 2
