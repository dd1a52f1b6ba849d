"""Canonical JSON matches an independent RFC 8785 implementation on any JSON value."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from events.canonical import NotCanonicalisable, canonical_json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_form_matches_the_reference_implementation(value: Any) -> None:
    """Our bytes equal the `rfc8785` package's bytes for every JSON value."""
    assert canonical_json(value) == rfc8785.dumps(value)


def test_keys_sort_by_utf16_code_units() -> None:
    """A key beyond the BMP sorts by its surrogates, before U+FF61 (RFC 8785 3.2.3)."""
    value = {"\uff61": 1, "\U0001f600": 2, "a": 3}
    assert canonical_json(value) == '{"a":3,"\U0001f600":2,"\uff61":1}'.encode()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**53, {1: "x"}, "\ud800"])
def test_values_without_a_canonical_form_are_refused(value: object) -> None:
    """NaN, infinity, unsafe integers, non-string keys and lone surrogates are refused."""
    with pytest.raises(NotCanonicalisable):
        canonical_json(value)
