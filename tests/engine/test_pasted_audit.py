"""fixtures/pasted/audit_labels.py: tuned entries that say the same thing share a group
key whatever wraps them, disagreeing labels are listed, and the held-out split is never
read."""

# ruff: noqa: E501 - real pasted errors are long lines

from __future__ import annotations

import importlib.util
from pathlib import Path

AUDIT_PY = Path(__file__).resolve().parents[2] / "fixtures" / "pasted" / "audit_labels.py"


def audit_module():
    spec = importlib.util.spec_from_file_location("pasted_audit", AUDIT_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_same_refusal_gets_the_same_keys_whatever_wraps_it():
    audit = audit_module()
    docker = 'Error response from daemon: Head "https://ghcr.io/v2/acme/app/manifests/latest": denied: denied'
    kubelet = (
        'Failed to pull image "ghcr.io/other/thing:1.0": rpc error: code = Unknown desc = '
        'Error response from daemon: Head "https://ghcr.io/v2/other/thing/manifests/1.0": denied: denied'
    )
    shared = audit.keys(docker, []) & audit.keys(kubelet, [])
    assert "code  denied: denied" in shared


def test_a_token_status_is_told_from_a_manifest_status():
    audit = audit_module()
    token = "failed to authorize: failed to fetch oauth token: unexpected status: 403 Forbidden"
    manifest = "unexpected status from HEAD request to https://r.example.test/v2/a/manifests/1: 403 Forbidden"
    assert "status 403 (token)" in audit.keys(token, [])
    assert "status 403 (manifest)" in audit.keys(manifest, [])


def test_disagreeing_labels_are_listed_and_the_heldout_split_is_not_read(
    tmp_path, monkeypatch, capsys
):
    audit = audit_module()
    same = 'Error response from daemon: Head "https://ghcr.io/v2/a/b/manifests/1": denied: denied'
    (tmp_path / "one.yaml").write_text(
        "entries:\n"
        f"  - {{id: first, text: '{same}', tool: docker, category: auth.denied, source: a/b#1}}\n"
        f"  - {{id: second, text: '{same} ', tool: docker, category: auth.token_expired, source: a/b#2}}\n",
        encoding="utf-8",
    )
    held = tmp_path / "heldout"
    held.mkdir()
    (held / "heldout.yaml").write_text(
        "entries:\n"
        f"  - {{id: secret-heldout, text: '{same}', tool: docker, category: other, source: a/b#3}}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(audit, "HERE", tmp_path)
    monkeypatch.setattr(audit, "TEMPLATES", tmp_path / "no-templates")
    assert audit.main([]) == 0
    out = capsys.readouterr().out
    assert "code  denied: denied" in out
    assert "auth.denied" in out and "auth.token_expired" in out
    assert "secret-heldout" not in out
