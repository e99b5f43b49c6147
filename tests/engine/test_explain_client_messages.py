"""The clients' own message templates (fixtures/client-messages/, mined from their source
at pinned versions by mine.py): every template is recorded with its file and either a
category or the reason it is out of scope, and explain recognises the mapped ones."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

from regdoctor.engine import load_catalog
from regdoctor.engine.categories import PASTE_CATEGORIES

HERE = Path(__file__).resolve().parents[2] / "fixtures" / "client-messages"
CLIENTS = {
    "moby",
    "docker-cli",
    "containerd",
    "containers-image",
    "containers-common",
    "cri-o",
    "kubelet",
    "buildkit",
    "distribution",
    "credential-helpers",
    "helm",
}


def _coverage_module():
    spec = importlib.util.spec_from_file_location("client_coverage", HERE / "coverage.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_client_is_mined_with_source_and_version():
    docs = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(HERE.glob("*.yaml"))]
    assert {d["client"] for d in docs} == CLIENTS
    for doc in docs:
        assert doc["repository"] and doc["version"] and doc["commit"]
        assert doc["templates"], doc["client"]
        for row in doc["templates"]:
            assert row["template"] and row["file"]
            if row["category"] is not None:
                assert row["category"] in PASTE_CATEGORIES, row
                assert "out_of_scope" not in row


def test_almost_every_template_has_a_verdict():
    rows, _misses = _coverage_module().coverage(load_catalog())
    templates = sum(r["templates"] for r in rows)
    unmapped = sum(r["unmapped"] for r in rows)
    assert templates >= 500
    assert unmapped / templates <= 0.03, unmapped


def test_explain_recognises_the_mapped_templates():
    module = _coverage_module()
    rows, misses = module.coverage(load_catalog())
    mapped = sum(r["mapped"] for r in rows)
    recognised = sum(r["recognised"] for r in rows)
    assert mapped >= 100
    assert recognised / mapped >= 0.95, [(c, t["template"], got) for c, t, got in misses]
