"""The fast indented JSON writer of tag scans writes exactly what json.dumps(indent=1)
writes, for any value (property test), and leaves what it does not know to json."""

from __future__ import annotations

import enum
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regdoctor.render.json_indent import dumps_indent1

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=40,
)


@given(VALUES)
def test_same_text_as_json_dumps(value: object) -> None:
    assert dumps_indent1(value) == json.dumps(value, indent=1)


class Color(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_enums_and_nested_empties() -> None:
    value = {"a": Color.RED, "b": Level.HIGH, "c": [[], {}, [{}]], "d": ({"x": None},)}
    assert dumps_indent1(value) == json.dumps(value, indent=1)


def test_keys_json_converts_are_left_to_json() -> None:
    value = {"a": {1: "one", None: "none", 2.5: True}}
    assert dumps_indent1(value) == json.dumps(value, indent=1)


def test_an_unknown_type_fails_as_json_does() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_indent1({"a": [object()]})
