"""``regdoctor tags`` against real registries (distribution 2.8.2): aliases and digests
(compared with skopeo), bounded connections, multi-arch platforms, divergent replicas,
a stale pull-through mirror, drift across two runs, signatures, policy, manifests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.harness.content import OCI_INDEX, OCI_MANIFEST, canonical_json, sha256_digest
from tests.harness.mirror import start_mirror, start_standalone
from tests.harness.populate import populate, push_image, push_raw_manifest
from tests.harness.skopeo import skopeo_available
from tests.harness.tcp_forward import Forwarder
from tests.tags.conftest import rules_of


def test_groups_aliases_like_skopeo(testbed, tags_json):
    plain = testbed.endpoints["plain"]
    pushed = populate(plain.url, "tags/basic", tags=12, manifests=4)
    code, doc = tags_json(f"{plain.hostport}/tags/basic")
    assert code == 0, doc["findings"]
    assert {t["tag"]: t["digest"] for t in doc["tags"]} == pushed.tags
    assert all(
        t["media_type"] == "application/vnd.docker.distribution.manifest.v2+json"
        for t in doc["tags"]
    )
    aliases = {d["digest"]: d["tags"] for d in doc["aliases"]}
    assert aliases[pushed.tags["t0000"]] == ["t0000", "t0004", "t0008"]
    assert len(doc["digests"]) == 4
    if skopeo_available():
        raw = subprocess.run(
            [
                "skopeo",
                "inspect",
                "--raw",
                "--tls-verify=false",
                f"docker://{plain.hostport}/tags/basic:t0005",
            ],
            capture_output=True,
            timeout=30,
            check=True,
        ).stdout
        assert sha256_digest(raw) == pushed.tags["t0005"]


def test_connections_bounded_by_concurrency(testbed, tags_json):
    plain = testbed.endpoints["plain"]
    populate(plain.url, "tags/conns", tags=60, manifests=10)
    forwarder = Forwarder(plain.port)
    try:
        code, doc = tags_json(f"http://127.0.0.1:{forwarder.port}/tags/conns", "--concurrency", "3")
    finally:
        forwarder.close()
    assert code == 0
    assert doc["resolution"]["head_requests"] == 60
    assert doc["resolution"]["connections"] == 3
    # + the one pooled HTTP client connection for /v2/ and tags/list
    assert forwarder.accepted <= 3 + 1, forwarder.accepted


def test_multi_arch_platforms(testbed, tags_json):
    plain = testbed.endpoints["plain"]
    multi = testbed.images.multi
    code, doc = tags_json(f"{plain.hostport}/{multi.repository}", "--platform", "linux/arm64")
    assert code == 0, doc["findings"]
    assert doc["tags"][0]["media_type"] == OCI_INDEX
    code, doc = tags_json(
        f"{plain.hostport}/{multi.repository}",
        "--platform",
        "linux/s390x",
        "--platform",
        "linux/amd64",
    )
    assert code == 2
    finding = next(f for f in doc["findings"] if f["rule"] == "image-platform-mismatch")
    assert "linux/s390x" in finding["title"]
    assert "linux/amd64" in finding["explanation"] and "linux/arm64/v8" in finding["explanation"]
    assert rules_of(doc).count("image-platform-mismatch") == 1


def test_divergent_replica(testbed, tags_json, tmp_path):
    primary = start_standalone(tmp_path, "primary")
    replica = start_standalone(tmp_path, "replica")
    try:
        push_image(primary.url, "team/app", "1.0", layers=[b"same"])
        push_image(replica.url, "team/app", "1.0", layers=[b"same"])
        new, _ = push_image(primary.url, "team/app", "2.0", layers=[b"new"])
        old, _ = push_image(replica.url, "team/app", "2.0", layers=[b"old"])
        code, doc = tags_json(
            f"127.0.0.1:{primary.port}/team/app", "--compare", f"127.0.0.1:{replica.port}"
        )
    finally:
        primary.stop()
        replica.stop()
    divergent = [f for f in doc["findings"] if f["rule"] == "tag-divergent"]
    assert [f["target"] for f in divergent] == [f"127.0.0.1:{primary.port}/team/app:2.0"]
    assert new in divergent[0]["title"] and old in divergent[0]["title"]
    assert code == 1


def test_stale_pull_through_mirror(testbed, tags_json, tmp_path):
    upstream = start_standalone(tmp_path, "upstream")
    link = Forwarder(upstream.port)
    mirror = start_mirror(tmp_path, "mirror", f"http://127.0.0.1:{link.port}")
    try:
        old, _ = push_image(upstream.url, "team/app", "1.0", layers=[b"v1"])
        code, doc = tags_json(
            f"127.0.0.1:{upstream.port}/team/app", "--mirror", f"127.0.0.1:{mirror.port}"
        )
        assert code == 0, doc["findings"]  # the mirror fetched and cached 1.0
        link.cut()  # the mirror loses its upstream...
        new, _ = push_image(upstream.url, "team/app", "1.0", layers=[b"v2"])  # ...which moves on
        code, doc = tags_json(
            f"127.0.0.1:{upstream.port}/team/app", "--mirror", f"127.0.0.1:{mirror.port}"
        )
    finally:
        mirror.stop()
        link.close()
        upstream.stop()
    stale = [f for f in doc["findings"] if f["rule"] == "mirror-stale"]
    assert len(stale) == 1, doc["findings"]
    assert stale[0]["category"] == "mirror.stale"
    assert new in stale[0]["explanation"] and old in stale[0]["explanation"]
    assert "tag-divergent" not in rules_of(doc)
    assert code == 1


def test_stale_mirror_found_in_the_configuration(testbed, tags_json, tmp_path):
    """No --mirror: the containerd hosts.toml under --root names the pull-through cache."""
    upstream = start_standalone(tmp_path, "upstream")
    link = Forwarder(upstream.port)
    mirror = start_mirror(tmp_path, "mirror", f"http://127.0.0.1:{link.port}")
    root = tmp_path / "root"
    hosts_dir = root / f"etc/containerd/certs.d/127.0.0.1:{upstream.port}"
    hosts_dir.mkdir(parents=True)
    (root / "etc/containerd/config.toml").write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n'
    )
    (hosts_dir / "hosts.toml").write_text(
        f'server = "http://127.0.0.1:{upstream.port}"\n\n'
        f'[host."http://127.0.0.1:{mirror.port}"]\n  capabilities = ["pull", "resolve"]\n'
    )
    repo = f"127.0.0.1:{upstream.port}/team/app"
    try:
        old, _ = push_image(upstream.url, "team/app", "1.0", layers=[b"v1"])
        code, doc = tags_json(repo, "--root", str(root))
        assert code == 0, doc["findings"]
        link.cut()
        new, _ = push_image(upstream.url, "team/app", "1.0", layers=[b"v2"])
        code, doc = tags_json(repo, "--root", str(root))
        _, ignored = tags_json(repo, "--root", str(root), "--no-config")
    finally:
        mirror.stop()
        link.close()
        upstream.stop()
    stale = [f for f in doc["findings"] if f["rule"] == "mirror-stale"]
    assert len(stale) == 1, doc["findings"]
    assert new in stale[0]["explanation"] and old in stale[0]["explanation"]
    assert "mirror-stale" not in rules_of(ignored)


def test_drift_across_two_runs(testbed, tags_json, tmp_path, isolate_env):
    plain = testbed.endpoints["plain"]
    first, _ = push_image(plain.url, "tags/drift", "latest", layers=[b"team a"])
    push_image(plain.url, "tags/drift", "stable", layers=[b"stable"])
    code, doc = tags_json(f"{plain.hostport}/tags/drift", "--state")
    assert code == 0 and doc["moved"] == []
    state_path = Path(doc["state_file"])
    assert state_path.is_relative_to(isolate_env.home / ".local" / "state")
    second, _ = push_image(plain.url, "tags/drift", "latest", layers=[b"team b"])
    code, doc = tags_json(f"{plain.hostport}/tags/drift", "--state")
    assert code == 1
    assert [m["tag"] for m in doc["moved"]] == ["latest"]
    assert doc["moved"][0]["from"] == first and doc["moved"][0]["to"] == second
    drift = [f for f in doc["findings"] if f["rule"] == "tag-drift"]
    assert len(drift) == 1 and first in drift[0]["title"] and second in drift[0]["title"]
    saved = json.loads(state_path.read_text())
    entry = saved["repositories"][f"{plain.hostport}/tags/drift"]["latest"]
    assert entry["digest"] == second and entry["history"][0]["digest"] == first
    assert not [p for p in state_path.parent.iterdir() if p.name.endswith(".tmp")]
    code, doc = tags_json(f"{plain.hostport}/tags/drift", "--state")  # a third run: quiet again
    assert code == 0 and doc["moved"] == []


def test_signatures_cosign_tag_and_referrers_fallback(testbed, tags_json):
    plain = testbed.endpoints["plain"]
    signed, _ = push_image(plain.url, "tags/signed", "1.0", layers=[b"signed"])
    push_image(plain.url, "tags/signed", "2.0", layers=[b"unsigned"])
    notarised, _ = push_image(plain.url, "tags/signed", "3.0", layers=[b"notary"])
    # cosign: an OCI manifest under sha256-<hex>.sig whose layer is a simple signing payload
    payload = b'{"critical":{}}'
    push_image(plain.url, "tags/signed", "scratch", layers=[payload, b"{}"])
    cosign = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 2,
                "digest": sha256_digest(b"{}"),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "size": len(payload),
                    "digest": sha256_digest(payload),
                }
            ],
        }
    )
    push_raw_manifest(
        plain.url, "tags/signed", "sha256-" + signed.split(":")[1] + ".sig", cosign, OCI_MANIFEST
    )
    # referrers fallback tag schema: an index under sha256-<hex> listing a notary signature
    index = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": sha256_digest(cosign),
                    "size": len(cosign),
                    "artifactType": "application/vnd.cncf.notary.signature",
                }
            ],
        }
    )
    push_raw_manifest(
        plain.url, "tags/signed", "sha256-" + notarised.split(":")[1], index, OCI_INDEX
    )
    code, doc = tags_json(
        f"{plain.hostport}/tags/signed", "--require-signature", "--match", "[0-9].0"
    )
    facts = {
        o["facts"]["tag"]: o["facts"]
        for s in doc["subjects"]
        for o in s["observations"]
        if o["kind"] == "tag.signature"
    }
    assert facts["1.0"]["cosign"] is True
    assert facts["1.0"]["artifact_types"] == ["application/vnd.dev.cosign.simplesigning.v1+json"]
    assert facts["3.0"]["referrers_source"] == "tag_schema"
    assert facts["3.0"]["artifact_types"] == ["application/vnd.cncf.notary.signature"]
    unsigned = [f["target"] for f in doc["findings"] if f["rule"] == "tag-unsigned"]
    assert unsigned == [f"{plain.hostport}/tags/signed:2.0"]
    assert code == 2


def test_policy_and_mutable_manifests(testbed, tags_json, tmp_path):
    plain = testbed.endpoints["plain"]
    release, _ = push_image(plain.url, "tags/policy", "1.2.3", layers=[b"rel"])
    latest, _ = push_image(plain.url, "tags/policy", "latest", layers=[b"latest"])
    push_image(plain.url, "tags/policy", "dev", layers=[b"dev"])
    repo = f"{plain.hostport}/tags/policy"
    (tmp_path / "deploy.yaml").write_text(
        f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  template:
    spec:
      initContainers: [{{name: init, image: "{repo}:1.2.3"}}]
      containers:
        - {{name: app, image: "{repo}:latest"}}
        - {{name: side, image: "{repo}"}}
        - {{name: pinned, image: "{repo}@{release}"}}
---
services:
  db: {{image: "{repo}:dev"}}
"""
    )
    (tmp_path / "compose.yaml").write_text(f'services:\n  db: {{image: "{repo}:dev"}}\n')
    code, doc = tags_json(repo, "--policy", "semver", "--manifests", str(tmp_path))
    policy = next(f for f in doc["findings"] if f["rule"] == "tag-policy-misfit")
    assert "2 of 3" in policy["title"] and "dev" in policy["explanation"]
    mutable = {f["target"]: f for f in doc["findings"] if f["rule"] == "tag-mutable-reference"}
    assert set(mutable) == {f"{repo}:latest", repo, f"{repo}:dev"}
    assert latest in mutable[f"{repo}:latest"]["explanation"]
    assert f"{repo}@{latest}" in mutable[repo]["remediation"][0]["text"]
    assert code == 1


@pytest.mark.parametrize("endpoint", ["tls_basic", "token"])
def test_same_tls_and_auth_options_as_check(testbed, tags_json, endpoint, monkeypatch):
    import io

    ep = testbed.endpoints[endpoint]
    app = testbed.images.app
    monkeypatch.setattr("sys.stdin", io.StringIO(testbed.password + "\n"))
    code, doc = tags_json(
        f"{ep.hostport}/{app.repository}",
        "--ca-file",
        str(testbed.ca_file),
        "-u",
        testbed.username,
        "--password-stdin",
    )
    assert code == 0, doc["findings"]
    assert {t["tag"]: t["digest"] for t in doc["tags"]} == {app.tag: app.digest}
    code, doc = tags_json(f"{ep.hostport}/{app.repository}", "--ca-file", str(testbed.ca_file))
    assert code == 2 and doc["error"]
    assert doc["findings"][0]["category"].startswith("auth.")


def test_through_a_proxy_with_a_login_the_tags_tunnel(testbed, tags_json, monkeypatch):
    """Through HTTPS_PROXY (a CONNECT proxy that wants a login, given in the URL as
    Go reads it), the scan's requests tunnel through the proxy with its credentials
    (the lean client does not tunnel: the check's HTTP client does) and resolve."""
    from tests.harness.proxy import ConnectProxy

    ep, app = testbed.endpoints["tls"], testbed.images.app
    proxy = ConnectProxy({"registry.test": "127.0.0.1"}, mode="auth", credentials=("u@x", "p:w"))
    proxy.start()
    try:
        monkeypatch.setenv("HTTPS_PROXY", f"http://u%40x:p%3Aw@127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        code, doc = tags_json(
            f"registry.test:{ep.port}/{app.repository}", "--ca-file", str(testbed.ca_file)
        )
    finally:
        proxy.stop()
    assert code == 0, doc["findings"]
    assert doc["resolution"]["client"] == "httpx"  # the name the output keeps
    assert {t["tag"]: t["digest"] for t in doc["tags"]} == {app.tag: app.digest}
    assert proxy.requests and all(
        line == f"CONNECT registry.test:{ep.port} HTTP/1.1" for line in proxy.requests
    )
