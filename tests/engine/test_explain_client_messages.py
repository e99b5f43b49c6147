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
        assert doc["repository"] and doc["versions"], doc["client"]
        assert all(v["version"] and v["commit"] for v in doc["versions"])
        pinned = [v["version"] for v in doc["versions"]]
        assert doc["templates"], doc["client"]
        seen: set[str] = set()
        for row in doc["templates"]:
            assert row["template"] and row["file"]
            # one row per distinct text, with the pinned versions that print it, in order
            assert row["template"] not in seen, row
            seen.add(row["template"])
            assert row["versions"] and all(v in pinned for v in row["versions"]), row
            assert row["versions"] == sorted(row["versions"], key=pinned.index), row
            if row["category"] is not None:
                assert row["category"] in PASTE_CATEGORIES, row
                assert "out_of_scope" not in row


def test_almost_every_template_has_a_verdict():
    rows, _misses = _coverage_module().coverage(load_catalog())
    templates = sum(r["templates"] for r in rows)
    unmapped = sum(r["unmapped"] for r in rows)
    assert templates >= 950
    # Every mined template has a category or a reason it is out of scope (mine.py's
    # CLASSIFY, OUT_OF_SCOPE and REVIEWED tables; --reclassify applies them again).
    assert unmapped == 0, unmapped


def test_explain_recognises_the_mapped_templates():
    module = _coverage_module()
    rows, misses = module.coverage(load_catalog())
    mapped = sum(r["mapped"] for r in rows)
    recognised = sum(r["recognised"] for r in rows)
    assert mapped >= 190
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


def test_the_older_versions_people_run_are_mined():
    """dockerd 19.03-24, containerd 1.6-1.7, podman 3-4 (containers/image 5.10-5.24),
    kubelet 1.24/1.28, CRI-O 1.24, distribution v2, buildkit 0.11, credential helpers 0.6:
    each is pinned; docker, containerd, podman's library and the kubelet have wordings
    their newest version no longer prints."""
    docs = {
        d["client"]: d
        for d in (yaml.safe_load(p.read_text(encoding="utf-8")) for p in HERE.glob("*.yaml"))
    }
    wanted = {
        "moby": {"v20.10.24", "v24.0.9"},
        "docker-cli": {"v20.10.24"},
        "containerd": {"v1.6.20", "v1.7.27"},
        "containers-image": {"v5.10.6", "v5.24.3"},
        "kubelet": {"v1.24", "v1.28"},
        "cri-o": {"v1.24.6"},
        "distribution": {"v2.8.3"},
        "buildkit": {"v0.11.6"},
        "credential-helpers": {"v0.6.4"},
    }
    for client, versions in wanted.items():
        pinned = [v["version"] for v in docs[client]["versions"]]
        assert versions <= set(pinned), client
        if client in {"moby", "docker-cli", "containerd", "containers-image", "kubelet"}:
            newest = pinned[-1]
            older = [t for t in docs[client]["templates"] if newest not in t["versions"]]
            assert older, client
    # the classic wording of dockerd 20.10 and of podman 3 are there
    moby = {t["template"] for t in docs["moby"]["templates"]}
    assert "invalid mirror: path, query, or fragment at end of the URI %q" in moby
    image = {t["template"]: t for t in docs["containers-image"]["templates"]}
    assert image["Error reading manifest %s in %s"]["wraps"] is True


def test_explain_reads_past_every_wrapper_to_the_cause():
    """Every template kept out of scope because it only wraps the real cause ("the chain
    parser reads past it"), at every mined version, wrapping a manifest unknown, a 401, an
    untrusted certificate, a refused connection and an unknown host: explain names the
    cause, not the wrapper."""
    checked, misses = _coverage_module().wrapper_misses(load_catalog())
    assert checked >= 1500
    assert not misses, misses[:20]


def test_explain_recognises_the_mapped_templates_as_the_front_ends_print_them():
    """Each mapped template's sample as docker, a kubelet event, podman, a journal line and
    the kubelet's own log print it (quotes escaped inside the quoting ones)."""
    checked, misses = _coverage_module().framed_misses(load_catalog())
    assert checked >= 1000
    assert not misses, misses[:20]
