"""Corrections that take effect: the payload each event has once the latest correction of it is
applied, for every kind of stream.

`EventCorrected.corrected_data` is a partial replacement: each top-level key replaces the
original's (a list whole), the result must validate as the original's type, and no id may
change. The original stays in the log and in every bundle; states, projections and figures fold
the effective payloads. The latest correction of an event wins; a correction is not corrected.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from coordinator.domain.state import DomainEvent
from events.catalogue import EVENT_TYPES, EventCorrected, EventData, EventType

UNCORRECTABLE = frozenset({EventType.EVENT_CORRECTED, EventType.PERSONAL_DATA_ERASED})
"""A correction is corrected by correcting the original again; an erasure is final."""


class CorrectionInvalid(ValueError):
    """A correction whose result is not a valid payload of the corrected type, or changes an id."""


def _ids(value: Any, key: str = "") -> Iterable[str]:
    """The ids a payload names (values of `*_id` and `*_ids` keys), outside personal objects
    (whose sealed form carries the id of its subject, not a fact of the payload)."""
    if isinstance(value, dict):
        for name, item in value.items():
            if name != "personal":
                yield from _ids(item, name)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _ids(item, key)
    elif key.endswith(("_id", "_ids")) and value is not None:
        yield str(value)


def corrected_payload(
    event_type: str, original: EventData, correction: EventCorrected
) -> EventData:
    """`original` with the correction's top-level keys replacing its own, validated.

    Raises `CorrectionInvalid` with the reason when the result is not a valid payload of
    `event_type` or names other ids than the original.
    """
    if event_type in UNCORRECTABLE:
        raise CorrectionInvalid(f"{event_type} cannot be corrected")
    before = original.model_dump(mode="json")
    after = {**before, **correction.corrected_data}
    if Counter(_ids(before)) != Counter(_ids(after)):
        raise CorrectionInvalid("a correction cannot change an id; record a new event instead")
    try:
        return EVENT_TYPES[event_type].model_validate(after)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'data'}: {problem['msg']}"
            for problem in error.errors(include_url=False)
        )
        raise CorrectionInvalid(f"the corrected {event_type} is not valid ({problems})") from None


def latest_corrections(events: Iterable[DomainEvent]) -> dict[UUID, EventCorrected]:
    """The latest correction of each corrected event among `events` (in stream order)."""
    latest: dict[UUID, EventCorrected] = {}
    for event in events:
        if isinstance(event.data, EventCorrected):
            latest[event.data.corrects_event_id] = event.data
    return latest


def with_corrections(events: Sequence[DomainEvent]) -> list[DomainEvent]:
    """A stream's events with each corrected event carrying its effective payload.

    A correction recorded before corrections were judged (version 1 stored any
    `corrected_data`) that does not give a valid payload leaves the original in effect, so a
    stream the log holds always folds.
    """
    latest = latest_corrections(events)
    if not latest:
        return list(events)
    return [_effective(event, latest.get(event.event_id)) for event in events]


def _effective(event: DomainEvent, correction: EventCorrected | None) -> DomainEvent:
    if correction is None:
        return event
    try:
        return dataclasses.replace(
            event, data=corrected_payload(event.type, event.data, correction)
        )
    except CorrectionInvalid:
        return event
