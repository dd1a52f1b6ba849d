"""From a caller's request to events ready to append: parse the payloads, then seal them.

Shared by the three kinds of stream: the request's events are parsed into `ProposedEvent`s for
the rules to judge, and those the rules accept become `NewEvent`s with their personal data
sealed and their keyed fingerprint (for idempotent re-sends) computed on the plain content.
"""

from __future__ import annotations

import asyncio
import difflib
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

from coordinator.domain import ProposedEvent
from coordinator.domain.actors import Actor
from coordinator.errors import InvalidInput
from coordinator.service.commands import EventRequest, RecordEventsRequest, describe
from coordinator.service.resends import resent
from events.catalogue import (
    EVENT_TYPES,
    KIND_EVENT_TYPES,
    EventData,
    StreamKind,
    UnknownEventType,
    parse_event,
)
from events.store.envelope import Appended, NewEvent, Recorded
from events.store.errors import DuplicateEventConflict, VersionConflict
from events.store.event_store import EventStore
from events.verifier.canonical import NotCanonicalisable

if TYPE_CHECKING:
    from coordinator.service.privacy.service import Privacy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who is asking, and under which request and correlation ids."""

    actor: Actor
    request_id: str
    correlation_id: str


def payload(event_type: str, data: dict[str, Any]) -> EventData:
    """A request's payload as its event type's model, or `InvalidInput` saying what is wrong."""
    try:
        return parse_event(event_type, EVENT_TYPES[event_type].schema_version, data)
    except (UnknownEventType, KeyError) as error:
        raise InvalidInput(_unknown_type_sentence(event_type)) from error
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise InvalidInput(_validation_sentence(event_type, error)) from error


_STREAMS = {
    StreamKind.OPERATION: "an operation",
    StreamKind.SURVIVOR_CASE: "a survivor's case",
    StreamKind.PROSECUTION: "a prosecution",
}


def _unknown_type_sentence(event_type: str) -> str:
    """What may be recorded instead, by kind of stream (the caller knows which it writes to)."""
    close = difflib.get_close_matches(event_type, list(EVENT_TYPES), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    valid = "; ".join(
        f"on {name}: {', '.join(t for t in EVENT_TYPES if t in KIND_EVENT_TYPES[kind])}"
        for kind, name in _STREAMS.items()
    )
    return f"{event_type!r} is not an event type{hint}; valid types {valid}"


def _validation_sentence(event_type: str, error: ValueError) -> str:
    from pydantic import ValidationError  # noqa: PLC0415  only for its error listing

    if isinstance(error, ValidationError):
        return f"{event_type} data is not valid: {describe(error)}"
    return f"{event_type} data is not valid: {error}"


def proposed(request: EventRequest) -> ProposedEvent:
    """One requested event, with a fresh id and the present time where the caller gave none."""
    return ProposedEvent(
        event_id=request.event_id or uuid4(),
        type=request.type,
        data=payload(request.type, request.data),
        occurred_at=request.occurred_at or datetime.now(UTC),
    )


async def new_event(
    event: ProposedEvent, context: RequestContext, privacy: Privacy, stream_id: UUID
) -> NewEvent:
    """An accepted event as the store takes it: its personal data and free text sealed, and
    the keyed fingerprint of its plain content (coordinator/service/privacy)."""
    schema_version = type(event.data).schema_version
    data = event.data.model_dump(mode="json")
    try:
        stored = await privacy.sealed(stream_id, event.event_id, event.type, schema_version, data)
    except NotCanonicalisable as error:
        raise InvalidInput(f"{event.type} data cannot be recorded faithfully: {error}") from error
    return NewEvent(
        event_id=event.event_id,
        type=event.type,
        schema_version=schema_version,
        data=stored.data,
        content_hash=stored.fingerprint,
        occurred_at=event.occurred_at,
        metadata={
            "recorded_by": context.actor.name,
            "role": context.actor.role.value,
            "request_id": context.request_id,
            "correlation_id": context.correlation_id,
        },
    )


async def to_append(
    decided: Sequence[ProposedEvent],
    proposed_events: Sequence[ProposedEvent],
    new: list[NewEvent],
    *,
    context: RequestContext,
    privacy: Privacy,
    stream_id: UUID,
) -> list[NewEvent]:
    """The decided events as stored: `new` (made from `proposed_events`) when the rules kept
    them as they were, else made again from what the rules decided."""
    if len(decided) == len(proposed_events) and all(
        d is p for d, p in zip(decided, proposed_events, strict=True)
    ):
        return new
    return await new_events(decided, context, privacy, stream_id)


async def new_events(
    events: Sequence[ProposedEvent], context: RequestContext, privacy: Privacy, stream_id: UUID
) -> list[NewEvent]:
    """`new_event` for each of `events`."""
    return [await new_event(event, context, privacy, stream_id) for event in events]


async def repeated(
    found: Sequence[Recorded],
    events: Sequence[ProposedEvent],
    new: Sequence[NewEvent],
    stream_id: UUID,
    privacy: Privacy,
) -> Appended | None:
    """The first answer to a re-sent batch (see coordinator/service/resends.py), also for events
    stored with the fingerprint of version 1 (`new` is made from `events`)."""
    try:
        return resent(found, new, stream_id)
    except DuplicateEventConflict:
        legacy = [
            replace(
                stored,
                content_hash=privacy.legacy_fingerprint(
                    event.type, stored.schema_version, event.data.model_dump(mode="json")
                ),
            )
            for event, stored in zip(events, new, strict=True)
        ]
        return resent(found, legacy, stream_id)


UNSTATED_VERSION_ATTEMPTS = 1000
"""How often a batch that states no version is judged again after others got in first: more
than the writers one stream ever has at once, so such a caller sees no version conflict."""


async def judged_again_on_conflict(
    expected_version: int | None, attempt: Callable[[], Awaitable[T]]
) -> T:
    """Run `attempt` (judge and append); when the caller stated no version and another writer
    got in first, judge it again on the new state instead of answering a conflict."""
    attempts = 0
    while True:
        try:
            return await attempt()
        except VersionConflict:
            attempts += 1
            if expected_version is not None or attempts > UNSTATED_VERSION_ATTEMPTS:
                raise
            await asyncio.sleep(random.uniform(0, 0.001 * min(attempts, 20)))  # noqa: S311


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A caller's batch, parsed and fingerprinted, for one kind of stream's judge to append."""

    stream_id: UUID
    events: list[ProposedEvent]
    new: list[NewEvent]
    expected_version: int | None

    def at(self, version: int) -> int:
        """`version` (the stream's, as just read), unless the caller stated another: then
        `VersionConflict`."""
        if self.expected_version is not None and self.expected_version != version:
            raise VersionConflict(self.stream_id, self.expected_version, version)
        return version


async def record_batch(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    stream_id: UUID,
    request: RecordEventsRequest,
    *,
    judge_and_append: Callable[[PreparedBatch], Awaitable[Appended]],
) -> Appended:
    """What every kind of stream does with a batch: parse it, answer a re-send as the first
    time, else judge and append it with `judge_and_append`, again on the new state when the
    caller stated no version and another writer got in first."""
    events = [proposed(event) for event in request.events]
    new = await new_events(events, context, privacy, stream_id)
    if any(event.event_id is not None for event in request.events):  # ids chosen offline
        found = await store.find_events([e.event_id for e in new])
        repeat = await repeated(found, events, new, stream_id, privacy)
        if repeat is not None:
            return repeat
    batch = PreparedBatch(stream_id, events, new, request.expected_version)

    async def attempt() -> Appended:
        return await judge_and_append(batch)

    return await judged_again_on_conflict(request.expected_version, attempt)
