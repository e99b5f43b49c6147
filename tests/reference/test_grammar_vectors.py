"""The reference grammar against the distribution/reference test vectors (ported as data
in fixtures/reference/distribution-vectors.yaml, source named there)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from regdoctor.reference.grammar import ReferenceSyntaxError, parse, parse_any, parse_normalized

VECTORS = yaml.safe_load(
    (Path(__file__).parents[2] / "fixtures/reference/distribution-vectors.yaml").read_text()
)


def _id(case: dict) -> str:
    text = case.get("input", case.get("reference", ""))
    return text[:60] or "<empty>"


@pytest.mark.parametrize("case", VECTORS["parse"], ids=_id)
def test_parse(case):
    if "error" in case:
        with pytest.raises(ReferenceSyntaxError) as info:
            parse(case["input"])
        assert info.value.code == case["error"]
        return
    ref = parse(case["input"])
    assert str(ref) == case["input"]
    assert (ref.name, ref.domain, ref.tag, ref.digest) == (
        case["repository"],
        case["domain"],
        case["tag"],
        case["digest"],
    )


@pytest.mark.parametrize("case", VECTORS["domain_and_path"], ids=_id)
def test_domain_and_path(case):
    ref = parse(case["input"])
    assert (ref.domain, ref.path) == (case["domain"], case["path"])


@pytest.mark.parametrize("name", VECTORS["normalized_valid"])
def test_normalized_valid(name):
    parse_normalized(name)


@pytest.mark.parametrize("name", VECTORS["normalized_invalid"], ids=lambda n: n[:60])
def test_normalized_invalid(name):
    with pytest.raises(ReferenceSyntaxError):
        parse_normalized(name)


@pytest.mark.parametrize("case", VECTORS["repository_info"], ids=lambda c: c["full"])
def test_repository_info(case):
    names = [case["familiar"], case["full"]] + ([case["ambiguous"]] if case["ambiguous"] else [])
    for text in names:
        ref = parse_normalized(text)
        assert ref.familiar_name == case["familiar"], text
        assert ref.name == case["full"], text
        assert ref.domain == case["domain"], text
        assert ref.path == case["remote"], text


@pytest.mark.parametrize("case", VECTORS["parse_any"], ids=_id)
def test_parse_any(case):
    assert str(parse_any(case["reference"])) == case["equivalent"]


@pytest.mark.parametrize("case", VECTORS["normalized_split"], ids=_id)
def test_normalized_split(case):
    ref = parse_normalized(case["input"])
    assert (ref.domain, ref.path) == (case["domain"], case["path"])


@pytest.mark.parametrize("case", VECTORS["tag_and_digest"], ids=_id)
def test_tag_and_digest(case):
    ref = parse_normalized(case["input"])
    assert str(ref) == case["full"]
    assert ref.familiar_string == case["familiar"]
    assert ref.tag and ref.digest


def test_vector_count():
    count = sum(len(v) for v in VECTORS.values() if isinstance(v, list))
    assert count >= 140


@given(st.text(max_size=300))
def test_any_text_gives_a_reference_or_a_located_error(text):
    try:
        ref = parse_normalized(text)
    except ReferenceSyntaxError as exc:
        assert exc.code and str(exc)
    else:
        assert ref.domain and ref.path
