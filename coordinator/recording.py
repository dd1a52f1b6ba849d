"""The imperative shell around the rules: load an operation, decide, append, answer.

Handlers call these with a parsed body and the actor; no rule lives here, only the order of
I/O: fold the stored stream into state, let `decide` judge, append what it returns at the
version the state was read at (so a concurrent append is a conflict, never a lost update).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from coordinator.actors import Actor, Role
from coordinator.errors import InvalidInput, NotFound
from coordinator.http.bodies import EventRequest, OpenOperationRequest, RecordEventsRequest
from coordinator.operation import (
    DomainEvent,
    EraseSurvivorData,
    OpenOperation,
    Operation,
    ProposedEvent,
    RecordEvents,
    decide,
    evolve,
)
from events.catalogue import EVENT_TYPES, EventData, UnknownEventType, parse_event
from events.envelope import Appended, AppendedEvent, NewEvent, Recorded
from events.errors import DuplicateEventConflict, VersionConflict
from events.integrity import content_hash
from events.store import EventStore


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who is asking, and under which request and correlation ids."""

    actor: Actor
    request_id: str
    correlation_id: str


@dataclass(frozen=True, slots=True)
class LoadedOperation:
    """An operation's state and the stored events it was folded from."""

    state: Operation
    events: list[Recorded]


def domain_event(recorded: Recorded) -> DomainEvent:
    """A stored event as the rules see it (older schema versions are upcast here)."""
    metadata = recorded.metadata
    return DomainEvent(
        operation_id=recorded.stream_id,
        event_id=recorded.event_id,
        type=recorded.type,
        data=parse_event(recorded.type, recorded.schema_version, recorded.data),
        occurred_at=recorded.occurred_at,
        recorded_by=Actor(
            str(metadata.get("recorded_by", "")), Role(str(metadata.get("role", Role.ADMIN)))
        ),
        version=recorded.version,
    )


def fold(events: Sequence[Recorded]) -> Operation | None:
    """The state a stream's events leave an operation in (None for no events)."""
    state: Operation | None = None
    for recorded in events:
        state = evolve(state, domain_event(recorded))
    return state


async def load(store: EventStore, operation_id: UUID) -> LoadedOperation:
    """Read and fold an operation's stream, or `NotFound`."""
    events = await store.read_stream(operation_id)
    state = fold(events)
    if state is None:
        raise NotFound(f"operation {operation_id} does not exist")
    return LoadedOperation(state, events)


def _payload(event_type: str, data: dict[str, Any]) -> EventData:
    try:
        return parse_event(event_type, EVENT_TYPES[event_type].schema_version, data)
    except (UnknownEventType, KeyError) as error:
        raise InvalidInput(f"{event_type!r} is not an event type of the catalogue") from error
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise InvalidInput(_validation_sentence(event_type, error)) from error


def _validation_sentence(event_type: str, error: ValueError) -> str:
    from pydantic import ValidationError  # noqa: PLC0415  only for its error listing

    from coordinator.http.bodies import describe  # noqa: PLC0415  avoids a cycle at import

    if isinstance(error, ValidationError):
        return f"{event_type} data is not valid: {describe(error)}"
    return f"{event_type} data is not valid: {error}"


def _proposed(request: EventRequest) -> ProposedEvent:
    return ProposedEvent(
        event_id=request.event_id or uuid4(),
        type=request.type,
        data=_payload(request.type, request.data),
        occurred_at=request.occurred_at or datetime.now(UTC),
    )


def _new_event(event: ProposedEvent, context: RequestContext) -> NewEvent:
    data = event.data.model_dump(mode="json")
    return NewEvent(
        event_id=event.event_id,
        type=event.type,
        schema_version=type(event.data).schema_version,
        data=data,
        occurred_at=event.occurred_at,
        metadata={
            "recorded_by": context.actor.name,
            "role": context.actor.role.value,
            "request_id": context.request_id,
            "correlation_id": context.correlation_id,
        },
    )


def _already_recorded(
    events: Sequence[Recorded], proposed: Sequence[NewEvent], stream_id: UUID
) -> Appended | None:
    """The first answer to a re-sent batch, None for a new one; a conflict for a mixed one."""
    by_id = {recorded.event_id: recorded for recorded in events}
    found = [by_id[event.event_id] for event in proposed if event.event_id in by_id]
    if not found:
        return None
    same = len(found) == len(proposed) and all(
        recorded.content_hash == content_hash(event.type, event.schema_version, event.data)
        for recorded, event in zip(found, proposed, strict=True)
    )
    if not same:
        raise DuplicateEventConflict([recorded.event_id for recorded in found])
    return Appended(
        stream_id=stream_id,
        version=events[-1].version,
        events=tuple(AppendedEvent(r.event_id, r.version, r.position, r.hash) for r in found),
        duplicate=True,
    )


async def open_operation(
    store: EventStore, context: RequestContext, request: OpenOperationRequest
) -> Appended:
    """Open an operation with its CaseReported (a re-send answers as the first time)."""
    operation_id = request.operation_id or uuid4()
    proposed = ProposedEvent(
        event_id=request.event_id or uuid4(),
        type="CaseReported",
        data=_payload("CaseReported", request.data),
        occurred_at=request.occurred_at or datetime.now(UTC),
    )
    existing = await store.read_stream(operation_id)
    new = [_new_event(proposed, context)]
    if existing:
        repeat = _already_recorded(existing[:1], new, operation_id)
        if repeat is not None:
            return repeat
    # With events already there, decide refuses a second CaseReported (422), and the expected
    # version 0 makes a race with another opener a conflict.
    decided = decide(fold(existing), OpenOperation(operation_id, proposed), context.actor)
    return await store.append(
        operation_id, [_new_event(e, context) for e in decided], expected_version=0
    )


async def record_events(
    store: EventStore,
    context: RequestContext,
    operation_id: UUID,
    request: RecordEventsRequest,
) -> Appended:
    """Judge and append a batch; a re-send of an appended batch answers as the first time."""
    loaded = await load(store, operation_id)
    proposed = [_proposed(event) for event in request.events]
    repeat = _already_recorded(
        loaded.events, [_new_event(e, context) for e in proposed], operation_id
    )
    if repeat is not None:
        return repeat
    version = loaded.state.version
    if request.expected_version is not None and request.expected_version != version:
        raise VersionConflict(operation_id, request.expected_version, version)
    decided = decide(loaded.state, RecordEvents(operation_id, proposed), context.actor)
    return await store.append(
        operation_id, [_new_event(e, context) for e in decided], expected_version=version
    )


async def erase_survivor_data(
    store: EventStore,
    context: RequestContext,
    operation_id: UUID,
    survivor_id: UUID,
    reason: str,
) -> Appended | None:
    """Record that a survivor's personal data was erased (None when it already was)."""
    loaded = await load(store, operation_id)
    decided = decide(loaded.state, EraseSurvivorData(survivor_id, reason), context.actor)
    if not decided:
        return None
    return await store.append(
        operation_id,
        [_new_event(e, context) for e in decided],
        expected_version=loaded.state.version,
    )
