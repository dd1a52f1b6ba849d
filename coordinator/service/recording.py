"""The imperative shell around the rules: load an operation, decide, append, answer.

Handlers call these with a parsed body and the actor; no rule lives here, only the order of
I/O: fold the stored stream into state, let `decide` judge, append what it returns at the
version the state was read at (so a concurrent append is a conflict, never a lost update).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from coordinator.domain import (
    EraseSurvivorData,
    OpenOperation,
    Operation,
    ProposedEvent,
    RecordEvents,
    decide,
    judge,
)
from coordinator.domain.actors import Actor
from coordinator.domain.stored import fold
from coordinator.errors import InvalidInput, NotFound
from coordinator.service.commands import (
    EventRequest,
    OpenOperationRequest,
    RecordEventsRequest,
    describe,
)
from coordinator.service.resends import resent
from events.catalogue import EVENT_TYPES, EventData, EventType, UnknownEventType, parse_event
from events.store.envelope import Appended, NewEvent, Recorded
from events.store.errors import VersionConflict
from events.store.event_store import EventStore
from events.verifier.canonical import NotCanonicalisable

if TYPE_CHECKING:
    from coordinator.service.operation_cache import OperationCache
    from coordinator.service.privacy.service import Privacy


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


def _fingerprint(
    privacy: Privacy, event_type: str, schema_version: int, data: dict[str, Any]
) -> bytes:
    try:
        return privacy.fingerprint(event_type, schema_version, data)
    except NotCanonicalisable as error:
        raise InvalidInput(f"{event_type} data cannot be recorded faithfully: {error}") from error


def _new_event(event: ProposedEvent, context: RequestContext, privacy: Privacy) -> NewEvent:
    data = event.data.model_dump(mode="json")
    schema_version = type(event.data).schema_version
    return NewEvent(
        event_id=event.event_id,
        type=event.type,
        schema_version=schema_version,
        data=data,
        content_hash=_fingerprint(privacy, event.type, schema_version, data),
        occurred_at=event.occurred_at,
        metadata={
            "recorded_by": context.actor.name,
            "role": context.actor.role.value,
            "request_id": context.request_id,
            "correlation_id": context.correlation_id,
        },
    )


async def _to_append(
    decided: Sequence[ProposedEvent],
    proposed: Sequence[ProposedEvent],
    new: list[NewEvent],
    *,
    context: RequestContext,
    privacy: Privacy,
    operation_id: UUID,
) -> list[NewEvent]:
    """The decided events as stored (sealed), reusing `new` (made from `proposed`) when decide
    kept them as they were."""
    if not (
        len(decided) == len(proposed)
        and all(d is p for d, p in zip(decided, proposed, strict=True))
    ):
        new = [_new_event(e, context, privacy) for e in decided]
    return await privacy.seal_events(operation_id, new)


async def open_operation(
    store: EventStore, privacy: Privacy, context: RequestContext, request: OpenOperationRequest
) -> Appended:
    """Open an operation with its CaseReported (a re-send answers as the first time)."""
    operation_id = request.operation_id or uuid4()
    proposed = ProposedEvent(
        event_id=request.event_id or uuid4(),
        type=EventType.CASE_REPORTED,
        data=_payload(EventType.CASE_REPORTED, request.data),
        occurred_at=request.occurred_at or datetime.now(UTC),
    )
    # An id the server just chose has no stream yet: only a client's id is worth reading.
    existing = [] if request.operation_id is None else await store.read_stream(operation_id)
    new = [_new_event(proposed, context, privacy)]
    # A re-send carries the stream's first event: the same id, the same content.
    repeat = resent([e for e in existing[:1] if e.event_id == proposed.event_id], new, operation_id)
    if repeat is not None:
        return repeat
    # With events already there, decide refuses a second CaseReported (422), and the expected
    # version 0 makes a race with another opener a conflict.
    decided = decide(fold(existing), OpenOperation(operation_id, proposed), context.actor)
    return await store.append(
        operation_id,
        await _to_append(
            decided, [proposed], new, context=context, privacy=privacy, operation_id=operation_id
        ),
        expected_version=0,
    )


async def record_events(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    operation_id: UUID,
    request: RecordEventsRequest,
    *,
    cache: OperationCache,
) -> Appended:
    """Judge and append a batch; a re-send of an appended batch answers as the first time."""
    proposed = [_proposed(event) for event in request.events]
    new = [_new_event(e, context, privacy) for e in proposed]
    if any(event.event_id is not None for event in request.events):  # ids chosen offline
        repeat = resent(await store.find_events([e.event_id for e in new]), new, operation_id)
        if repeat is not None:
            return repeat
    attempt = 0
    while True:
        try:
            return await _judge_and_append(
                store,
                privacy,
                context,
                operation_id,
                request,
                proposed=proposed,
                new=new,
                cache=cache,
            )
        except VersionConflict:
            # A caller who stated no version asked for the batch to go on top of whatever is
            # there: another writer got in first, so judge it again on the new state.
            attempt += 1
            if request.expected_version is not None or attempt > UNSTATED_VERSION_ATTEMPTS:
                raise
            await asyncio.sleep(random.uniform(0, 0.001 * min(attempt, 20)))  # noqa: S311


UNSTATED_VERSION_ATTEMPTS = 1000
"""How often a batch that states no version is judged again after others got in first: more
than the writers one operation ever has at once, so such a caller sees no version conflict."""


async def _judge_and_append(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    operation_id: UUID,
    request: RecordEventsRequest,
    *,
    proposed: list[ProposedEvent],
    new: list[NewEvent],
    cache: OperationCache,
) -> Appended:
    state = await cache.current(store, operation_id, request.expected_version)
    version = state.version
    if request.expected_version is not None and request.expected_version != version:
        raise VersionConflict(operation_id, request.expected_version, version)
    judged = judge(state, RecordEvents(operation_id, proposed), context.actor)
    stored = await _to_append(
        judged.events, proposed, new, context=context, privacy=privacy, operation_id=operation_id
    )
    try:
        appended = await store.append(operation_id, stored, expected_version=version)
    except VersionConflict:
        cache.forget(operation_id)
        raise
    # Appended at the expected version, the events landed where judge folded them.
    if appended.version == judged.state.version and not appended.duplicate:
        cache.remember(judged.state)
    else:
        cache.forget(operation_id)
    return appended


async def erase_survivor_data(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    *,
    operation_id: UUID,
    survivor_id: UUID,
    reason: str,
) -> int:
    """Record that a survivor's personal data was erased, then destroy their data key.

    The event comes first: if the process dies in between, a repeated call finds the event,
    records nothing more, and destroys the key. Returns the operation's version after it.
    """
    loaded = await load(store, operation_id)
    decided = decide(loaded.state, EraseSurvivorData(survivor_id, reason), context.actor)
    version = loaded.state.version
    if decided:
        appended = await store.append(
            operation_id,
            [_new_event(e, context, privacy) for e in decided],
            expected_version=version,
        )
        version = appended.version
    await privacy.data_keys.erase(survivor_id)
    return version
