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
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from pydantic import ValidationError

from coordinator.domain.state import DomainEvent
from coordinator.errors import RuleBroken
from events.catalogue import EVENT_TYPES, EventCorrected, EventData, EventType

S = TypeVar("S")

UNCORRECTABLE = frozenset(
    {
        EventType.EVENT_CORRECTED,
        EventType.PERSONAL_DATA_ERASED,
        EventType.TEAM_ASSIGNED,
        EventType.TEAM_UNASSIGNED,
    }
)
"""A correction is corrected by correcting the original again; an erasure is final; a team
assignment is undone by the opposite event, whose recorder's right to it is checked."""


class CorrectionInvalid(ValueError):
    """A correction whose result is not a valid payload of the corrected type, or changes an id."""


_BRANCHES = frozenset({"constrained-str", "str"})
"""Names pydantic gives the branches of a free-text union; a reader needs only the field."""

_SEALED_SHAPE = frozenset({"sealed", "subject_id", "nonce", "ciphertext"})


def _ids(value: Any, key: str = "") -> Iterable[str]:
    """The ids a payload names (values of `*_id` and `*_ids` keys), outside personal objects and
    sealed values (whose sealed form carries the id of its subject, not a fact of the
    payload)."""
    if isinstance(value, dict):
        if value.keys() >= _SEALED_SHAPE:  # a sealed value: its subject is no fact of the payload
            return
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
            dict.fromkeys(
                f"{'.'.join(str(p) for p in problem['loc'] if p not in _BRANCHES) or 'data'}: "
                f"{problem['msg']}"
                for problem in error.errors(include_url=False)
                if "SealedPersonal" not in problem["loc"]
            )
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


def refuse_invalid_correction(target: DomainEvent, correction: EventCorrected) -> None:
    """`RuleBroken` unless `correction` may correct `target`: not a correction nor an erasure,
    and its result a valid payload of the target's type naming the same ids."""
    if target.type in UNCORRECTABLE:
        raise RuleBroken(
            f"EventCorrected cannot correct {target.type}; " + _uncorrectable_because(target.type),
        )
    try:
        corrected_payload(target.type, target.data, correction)
    except CorrectionInvalid as error:
        raise RuleBroken(f"EventCorrected is refused: {error}.") from None


def _uncorrectable_because(target_type: str) -> str:
    if target_type == EventType.EVENT_CORRECTED:
        return "correct the original event again (the latest correction wins)."
    if target_type == EventType.PERSONAL_DATA_ERASED:
        return "an erasure is final."
    return "record TeamAssigned or TeamUnassigned instead."


def replay_judged(
    events: Sequence[DomainEvent],
    start: S,
    *,
    fold: Callable[[S, DomainEvent], S],
    check: Callable[[S, DomainEvent], None],
    judges: Callable[[S, DomainEvent], bool],
) -> S:
    """Fold a stream again with its corrections in effect, judging each event that `judges`
    picks with `check` on the state before it: `RuleBroken` names the first event the corrected
    record would no longer allow (the last of `events` is the correction being judged)."""
    state = start
    for event in with_corrections(events):
        if judges(state, event) and not isinstance(event.data, EventCorrected):
            try:
                check(state, event)
            except RuleBroken as broken:
                raise RuleBroken(
                    f"EventCorrected is refused: with it, {event.type} (version "
                    f"{event.version}) would break a rule. {broken}",
                ) from None
        state = fold(state, event)
    return state
