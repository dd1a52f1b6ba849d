"""A batch of new events made ready to write: checked, hashed, and laid out as columns."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from events.store.envelope import NewEvent
from events.store.errors import InvalidEventData
from events.verifier.canonical import NotCanonicalisable
from events.verifier.chain import body_hash, content_hash

# Beyond this, jsonb would keep numbers other than the ones hashed (I-JSON's safe integers).
_MAX_JSON_INTEGER = 2**53


class Batch(NamedTuple):
    """A batch of new events as columns, in the order `append_events` takes its arguments."""

    event_ids: list[UUID]
    types: list[str]
    schema_versions: list[int]
    data: list[dict[str, Any]]
    metadata: list[dict[str, Any]]
    occurred_at: list[datetime]
    recorded_at: datetime
    content_hashes: list[bytes]
    body_hashes: list[bytes]


def prepare_batch(stream_id: UUID, events: Sequence[NewEvent], recorded_at: datetime) -> Batch:
    """The batch's columns with each event's content and body hash; refuses what JSON can't keep."""
    content_hashes = []
    body_hashes = []
    for event in events:
        _check_numbers(event.data)
        _check_numbers(event.metadata)
        try:
            content_hashes.append(
                event.content_hash or content_hash(event.type, event.schema_version, event.data)
            )
            body_hashes.append(
                body_hash(
                    event_id=event.event_id,
                    stream_id=stream_id,
                    event_type=event.type,
                    schema_version=event.schema_version,
                    data=event.data,
                    metadata=event.metadata,
                    occurred_at=event.occurred_at,
                    recorded_at=recorded_at,
                )
            )
        except NotCanonicalisable as error:
            raise InvalidEventData(str(error)) from error
    return Batch(
        event_ids=[event.event_id for event in events],
        types=[event.type for event in events],
        schema_versions=[event.schema_version for event in events],
        data=[event.data for event in events],
        metadata=[event.metadata for event in events],
        occurred_at=[event.occurred_at for event in events],
        recorded_at=recorded_at,
        content_hashes=content_hashes,
        body_hashes=body_hashes,
    )


def _check_numbers(value: Any) -> None:
    # jsonb keeps numbers as exact decimals; beyond 2**53 they would come back as other numbers
    # than the ones hashed, and the record would no longer verify.
    if isinstance(value, dict):
        for item in value.values():
            _check_numbers(item)
    elif isinstance(value, list):
        for item in value:
            _check_numbers(item)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidEventData("NaN and infinity are not JSON numbers")
    elif (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not -_MAX_JSON_INTEGER < value < _MAX_JSON_INTEGER
    ):
        raise InvalidEventData(f"the number {value} is too large to keep exactly")
