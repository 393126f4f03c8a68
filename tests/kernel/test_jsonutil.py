"""dumps_compact writes the JSON json.dumps would, faster, and refuses the same values."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billy_core.jsonutil import dumps_compact


def reference(value):
    def plain(item):
        if isinstance(item, Decimal):
            return str(item)
        raise TypeError(f"{type(item).__name__} is not JSON serialisable")

    return json.dumps(value, separators=(",", ":"), default=plain, ensure_ascii=False)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(documents)
def test_the_same_json_as_the_standard_library(value):
    assert json.loads(dumps_compact(value)) == json.loads(reference(value))


def test_exact_text_for_a_tool_result():
    value = {"amount": Decimal("1234.50"), "name": "Æblegården ApS", 7: [1, True, None], "big": 2**70}
    assert dumps_compact(value) == reference(value)
    assert (
        dumps_compact(value)
        == '{"amount":"1234.50","name":"Æblegården ApS","7":[1,true,null],"big":1180591620717411303424}'
    )


@pytest.mark.parametrize("value", [{1, 2}, date(2026, 1, 1), object()])
def test_values_that_are_not_json_are_refused(value):
    with pytest.raises(TypeError, match="not JSON serialisable"):
        dumps_compact({"x": value})
