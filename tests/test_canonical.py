"""Canonical JSON matches an independent RFC 8785 implementation on any JSON value."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from events.verifier.canonical import NotCanonicalisable, canonical_json
from events.verifier.chain import body_hash, link_hash, timestamp

pytestmark = pytest.mark.unit

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


@given(
    data=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    metadata=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    event_type=st.text(),
    schema_version=st.integers(min_value=1, max_value=2**53 - 1),
    version=st.integers(min_value=1, max_value=2**53 - 1),
)
def test_event_hashes_are_taken_over_the_canonical_documents(
    data: dict[str, Any],
    metadata: dict[str, Any],
    event_type: str,
    schema_version: int,
    version: int,
) -> None:
    """The body and link hashes, written member by member, hash the documents' RFC 8785 form."""
    event_id, stream_id = uuid.uuid4(), uuid.uuid4()
    moment = datetime(2024, 5, 17, 8, 30, 1, 250, tzinfo=UTC)
    document: dict[str, Any] = {
        "event_id": str(event_id),
        "stream_id": str(stream_id),
        "type": event_type,
        "schema_version": schema_version,
        "data": data,
        "metadata": metadata,
        "occurred_at": timestamp(moment),
        "recorded_at": timestamp(moment),
    }
    try:
        expected = hashlib.sha256(rfc8785.dumps(document)).digest()
    except rfc8785.CanonicalizationError:
        return  # a lone surrogate: test_values_without_a_canonical_form_are_refused covers it
    body = body_hash(
        event_id=event_id,
        stream_id=stream_id,
        event_type=event_type,
        schema_version=schema_version,
        data=data,
        metadata=metadata,
        occurred_at=moment,
        recorded_at=moment,
    )
    assert body == expected
    link: dict[str, Any] = {"body": body.hex(), "prev": bytes(32).hex(), "version": version}
    assert link_hash(body, bytes(32), version) == hashlib.sha256(rfc8785.dumps(link)).digest()


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7, minutes=-30))])))
def test_times_are_written_as_strftime_writes_them(moment: datetime) -> None:
    """The hashed text of a time is its UTC strftime form, whatever zone it came in."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return  # beyond year 1 or 9999 once in UTC: no datetime holds it
    assert timestamp(moment) == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
