"""regdoctor.render.json_out and the check-v2 JSON Schema."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from rich.console import Console

from regdoctor.model import PHASES, SCHEMA_VERSION, PhaseStatus, Report, Severity
from regdoctor.redact.secrets import Redactor
from regdoctor.render import RENDERERS, render_json
from regdoctor.render.json_out import to_document
from regdoctor.schemas import SCHEMAS, load_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = load_schema("check-v3")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(validator: Draft202012Validator, doc: object) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def test_full_report_validates(validator: Draft202012Validator, full_report: Report) -> None:
    doc = json.loads(render_json(full_report))
    assert _errors(validator, doc) == []
    assert doc["schema_version"] == SCHEMA_VERSION == 3
    assert doc["status"] == "error" and doc["exit_code"] == 2
    assert doc["summary"] == {
        "targets": 3,
        "configs": 0,
        "errors": 2,
        "warnings": 2,
        "infos": 0,
    }
    assert doc["configs"] == []
    assert [t["target"] for t in doc["targets"]] == [
        "registry.example.com:5000/team/app:1.2.3",
        "expired.example.com",
        "crashy.example.com:5000",
    ]
    assert len(doc["findings"]) == 4
    expired = doc["targets"][1]
    assert expired["phases"][4] == {
        "name": "http",
        "status": "skipped",
        "duration_ms": None,
        "error": None,
        "reason": "tls failed",
    }
    leading = [f for f in expired["findings"] if f["leading"]]
    assert leading[0]["category"] == "tls.expired"
    assert leading[0]["remediation"][0]["commands"]["podman"].startswith("podman pull")


def test_healthy_report_validates(validator: Draft202012Validator, healthy_report: Report) -> None:
    doc = json.loads(render_json(healthy_report))
    assert _errors(validator, doc) == []
    assert doc["status"] == "ok" and doc["exit_code"] == 0 and doc["findings"] == []


def test_empty_report_validates(validator: Draft202012Validator, samples: ModuleType) -> None:
    assert _errors(validator, json.loads(render_json(samples.make_report()))) == []


def test_no_secret_in_json(full_report: Report, samples: ModuleType) -> None:
    text = render_json(full_report)
    assert samples.FAKE_JWT not in text
    assert samples.FAKE_JWT.split(".")[1] not in text
    assert samples.FAKE_PASSWORD not in text
    assert "deadbeef" not in text and "abc123" not in text
    assert "Ym9iOnMzY3IzdA" not in text
    assert "Authorization: Bearer ****" in text
    # untrusted text stays data: escapes are JSON escapes, the markup is literal
    assert "\x1b" not in text
    assert "\\u001b]52;c;" in text
    assert "[bold red]hi[/]" in text


def test_redactor_param(samples: ModuleType, full_report: Report) -> None:
    text = render_json(full_report, redactor=Redactor(["crashy"]))
    assert "crashy" not in text


def test_json_is_stable(full_report: Report) -> None:
    first = render_json(full_report)
    assert first == render_json(full_report)
    doc = json.loads(first)
    assert list(doc) == list(full_report.to_dict())  # key order of Report.to_dict()
    assert first.startswith('{\n  "schema_version": 3,')


def test_odd_values_are_made_json_safe(
    validator: Draft202012Validator, samples: ModuleType
) -> None:
    from dataclasses import replace

    from regdoctor.model import Observation, Secret

    tr = samples.healthy_target()
    facts: dict[Any, Any] = {
        "nan": float("nan"),
        "inf": float("inf"),
        "set": {"b", "a"},
        "bytes": b"\xffab",
        "secret": Secret("zzz-hidden"),
        "obj": object(),
        "status": PhaseStatus.OK,
        1: "int key",
    }
    odd = Observation(
        kind="x.odd",
        target=tr.target.raw,
        ok=True,
        phase="config",
        facts=facts,
    )
    report = samples.make_report(replace(tr, observations=(*tr.observations, odd)))
    text = render_json(report)
    doc = json.loads(text)
    assert _errors(validator, doc) == []
    facts = doc["targets"][0]["observations"][-1]["facts"]
    assert facts["nan"] is None and facts["inf"] is None
    assert facts["set"] == ["a", "b"]
    assert facts["secret"] == "****"
    assert facts["status"] == "ok"
    assert facts["1"] == "int key"
    assert "zzz-hidden" not in text


def test_schema_rejects_what_it_should(
    validator: Draft202012Validator, full_report: Report
) -> None:
    doc = to_document(full_report)
    bad = json.loads(json.dumps(doc))
    bad["findings"][0]["category"] = "not.a.category"
    assert _errors(validator, bad)
    bad = json.loads(json.dumps(doc))
    bad["targets"][0]["phases"][0]["status"] = "fine"
    assert _errors(validator, bad)
    bad = json.loads(json.dumps(doc))
    bad["schema_version"] = 1
    assert _errors(validator, bad)
    bad = json.loads(json.dumps(doc))
    del bad["targets"][0]["findings"]
    assert _errors(validator, bad)


def test_schema_enums_follow_the_model() -> None:
    defs = load_schema()["$defs"]
    assert defs["severity"]["enum"] == [s.value for s in Severity]
    assert defs["phase_status"]["enum"] == [s.value for s in PhaseStatus]
    assert set(defs["status"]["enum"]) == {"ok", "warning", "error"}
    for phase in PHASES:
        assert re.match(defs["phase_name"]["pattern"], phase)
    categories = defs["category"]["enum"]
    assert len(categories) == len(set(categories))
    assert {"tls.expired", "auth.unauthorized", "other", "host.disk_low"} <= set(categories)


@pytest.mark.parametrize("name", ["check-v2", "check-v3"])
def test_schema_copy_in_docs_is_identical(name: str) -> None:
    shipped = (ROOT / "regdoctor" / "schemas" / f"{name}.json").read_bytes()
    copy = (ROOT / "docs" / f"{name}.schema.json").read_bytes()
    assert shipped == copy, f"run: cp regdoctor/schemas/{name}.json docs/{name}.schema.json"


def test_docs_describe_every_field() -> None:
    doc = (ROOT / "docs" / "json-schema.md").read_text(encoding="utf-8")
    assert "regdoctor/schemas/check-v3.json" in doc
    assert "docs/check-v3.schema.json" in doc
    schema = load_schema()
    names = set(schema["properties"])
    for name in ("target", "spec", "phase", "observation", "finding", "remediation_step"):
        names |= set(schema["$defs"][name]["properties"])
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert not missing, missing


def test_load_schema() -> None:
    assert SCHEMAS == ("check-v2", "check-v3", "explain-v1")
    first = load_schema()
    assert first["properties"]["schema_version"]["const"] == 3
    first["mutated"] = True
    assert "mutated" not in load_schema("check-v3")
    for bad in ("nope", "../model", "check-v2.json"):
        with pytest.raises(KeyError):
            load_schema(bad)


def test_json_renderer_in_table_writes_verbatim(full_report: Report) -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=40, force_terminal=True, color_system="truecolor")
    RENDERERS["json"](full_report, console)
    out = buf.getvalue()
    assert out == render_json(full_report) + "\n"  # no wrapping, no colour, no markup


def test_render_imports_no_network_or_ui_library() -> None:
    program = (
        "import sys, json, regdoctor.render, regdoctor.redact.secrets, regdoctor.schemas;"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    modules = set(json.loads(result.stdout))
    heavy = {"httpx", "httpcore", "dns", "OpenSSL", "cryptography", "textual", "jwt", "yaml"}
    assert not modules & heavy, sorted(modules & heavy)


def test_schema_categories_match_the_rule_engine() -> None:
    from regdoctor.engine import categories as engine

    assert set(load_schema()["$defs"]["category"]["enum"]) == set(engine.CATEGORIES)


def test_a_mirror_names_the_images_it_serves(validator: Draft202012Validator, samples: Any) -> None:
    """``endpoint.mirror_for`` (review of session 10): which images a mirror or search
    registry target serves; it was known to the verdicts only. A later addition to
    schema 3 where the schema published before allows other keys (``endpoint``): a
    consumer validating with that schema accepts the new document (it rejected
    ``spec.mirror_for``: ``spec`` allows no other key), and a document without it
    still validates."""
    import copy

    from regdoctor.model import Target, TargetReport

    image = "docker.io/library/app:1"
    mirror = Target(
        raw="https://mirror.example.com/library/app:1",
        registry="mirror.example.com",
        host="mirror.example.com",
        port=443,
        scheme="https",
        repository="library/app",
        tag="1",
        mirror_of="docker.io",
        mirror_for=(image, "app:1"),
    )
    report = samples.make_report(
        TargetReport(
            target=mirror, endpoint={}, phases=(), observations=(), findings=(), duration_ms=0.0
        )
    )
    doc = json.loads(render_json(report))
    assert _errors(validator, doc) == []
    assert doc["targets"][0]["endpoint"]["mirror_for"] == [image, "app:1"]
    assert "mirror_for" not in doc["targets"][0]["spec"]
    # the schema as published before this addition (no mirror_for anywhere)
    before = copy.deepcopy(load_schema())
    for definition in before["$defs"].values():
        definition.get("properties", {}).pop("mirror_for", None)
    assert _errors(Draft202012Validator(before), doc) == []
    image_target = json.loads(render_json(samples.make_report(samples.healthy_target())))
    assert "mirror_for" not in image_target["targets"][0]["endpoint"]
    assert _errors(validator, image_target) == []


def test_an_observation_dict_is_its_fields_in_order_with_a_copy_of_its_facts() -> None:
    """``Observation.to_dict`` as ``dataclasses.asdict`` gave it (then ``facts`` replaced
    by a shallow copy), without asdict's deep copy of the facts it threw away."""
    from dataclasses import asdict

    from regdoctor.model import Observation

    facts = {"certificates": [{"subject": "CN=a", "sans": ["a"]}], "ok": True}
    observation = Observation("tls.chain", "t", True, "tls", "s", facts, "e", "v", "src", 1.5)
    expected = asdict(observation)
    expected["facts"] = dict(facts)
    data = observation.to_dict()
    assert data == expected and list(data) == list(expected)
    assert data["facts"] is not facts and data["facts"]["certificates"] is facts["certificates"]
