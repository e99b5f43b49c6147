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
    "go-containerregistry",
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
    # Every mined template has a category or a reason it is out of scope (mine.py's
    # CLASSIFY, OUT_OF_SCOPE and REVIEWED tables; --reclassify applies them again).
    assert unmapped == 0, unmapped


def test_explain_recognises_the_mapped_templates():
    module = _coverage_module()
    rows, misses = module.coverage(load_catalog())
    mapped = sum(r["mapped"] for r in rows)
    recognised = sum(r["recognised"] for r in rows)
    assert mapped >= 110
    assert recognised == mapped, [(c, t["template"], got) for c, t, got in misses]


def test_reclassify_reproduces_the_committed_tables():
    """The committed <client>.yaml files are what mine.py's tables say: applying them
    again (--reclassify, no mirrors needed) changes no verdict."""
    spec = importlib.util.spec_from_file_location("client_mine", HERE / "mine.py")
    assert spec is not None and spec.loader is not None
    mine = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mine)
    for client, rows in mine.reclassified().items():
        committed = yaml.safe_load((HERE / f"{client}.yaml").read_text(encoding="utf-8"))
        assert rows == committed["templates"], client
