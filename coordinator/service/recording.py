"""The imperative shell around an operation's rules: load it, judge, append, answer.

Handlers call these with a parsed body and the actor; no rule lives here, only the order of
I/O: fold the stored stream into state, load what the rules need from beyond it (the standing of
survivors a batch registers or closes on), let `judge` decide, append what it returns at the
version the state was read at (so a concurrent append is a conflict, never a lost update), and
take the survivors' registrations in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from coordinator.domain import (
    OpenOperation,
    Operation,
    ProposedEvent,
    RecordEvents,
    decide,
    judge,
)
from coordinator.domain.decide import needs_history, survivors_to_register
from coordinator.domain.state import DomainEvent
from coordinator.domain.stored import domain_event, fold
from coordinator.errors import NotFound, RuleBroken
from coordinator.service.commands import OpenOperationRequest, RecordEventsRequest
from coordinator.service.court.as_of import known_then, recorded_by
from coordinator.service.opening import prepare_opening
from coordinator.service.proposing import (
    PreparedBatch,
    RequestContext,
    record_batch,
    to_append,
)
from coordinator.service.registrations import append_registering
from coordinator.service.streams import refuse_other_kind
from coordinator.service.survivor_cases import standings
from events.catalogue import CloseReason, EventType, OperationClosed, StreamKind
from events.store.envelope import Appended, NewEvent, Recorded
from events.store.errors import VersionConflict
from events.store.event_store import EventStore

if TYPE_CHECKING:
    from coordinator.service.operation_cache import OperationCache
    from coordinator.service.privacy.service import Privacy

__all__ = ["LoadedOperation", "RequestContext", "load", "open_operation", "record_events"]


@dataclass(frozen=True, slots=True)
class LoadedOperation:
    """An operation's state and the stored events it was folded from."""

    state: Operation
    events: list[Recorded]


async def load(
    store: EventStore, operation_id: UUID, *, as_of: datetime | None = None
) -> LoadedOperation:
    """Read and fold an operation's stream, or `NotFound` (also for another kind's id); with
    `as_of`, only the events recorded by then (`NotFound` if it was not opened yet)."""
    events = recorded_by(await store.read_stream(operation_id), as_of)
    if not events:
        raise NotFound(f"operation {operation_id} does not exist" + known_then(as_of))
    refuse_other_kind(events[0], StreamKind.OPERATION, operation_id, reading=True)
    state = fold(events)
    if state is None:  # pragma: no cover - a stream with events folds to a state
        raise NotFound(f"operation {operation_id} does not exist")
    return LoadedOperation(state, events)


async def open_operation(
    store: EventStore, privacy: Privacy, context: RequestContext, request: OpenOperationRequest
) -> Appended:
    """Open an operation with its CaseReported (a re-send answers as the first time)."""
    opening = await prepare_opening(
        store,
        privacy,
        context,
        kind=StreamKind.OPERATION,
        event_type=EventType.CASE_REPORTED,
        stream_id=request.operation_id,
        event_id=request.event_id,
        occurred_at=request.occurred_at,
        data=request.data,
        stored_as=lambda report: _with_team(report, context),
    )
    if opening.resent is not None:
        return opening.resent
    operation_id, event, new, existing = (
        opening.stream_id,
        opening.event,
        opening.new,
        opening.existing,
    )
    # With events already there, decide refuses a second CaseReported (422), and the expected
    # version 0 makes a race with another opener a conflict.
    decided = decide(fold(existing), OpenOperation(operation_id, event), context.actor)
    return await store.append(
        operation_id,
        await to_append(
            decided, [event], new, context=context, privacy=privacy, stream_id=operation_id
        ),
        expected_version=0,
    )


def _with_team(report: NewEvent, context: RequestContext) -> NewEvent:
    """The CaseReported with the reporting token's team in its envelope: the fold assigns that
    team to the operation (coordinator/domain/evolve.py). Tokens without a team add nothing, so
    their reports are stored as before teams existed."""
    if context.actor.team is None:
        return report
    return replace(report, metadata={**report.metadata, "team": context.actor.team})


async def record_events(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    operation_id: UUID,
    request: RecordEventsRequest,
    *,
    cache: OperationCache,
    break_glass: bool = False,
) -> Appended:
    """Judge and append a batch; a re-send of an appended batch answers as the first time.
    `break_glass` lets a field team not assigned to the operation record (the caller logged
    its reason)."""

    async def judge_and_append(batch: PreparedBatch) -> Appended:
        return await _judge_and_append(
            store, privacy, context, batch, cache=cache, break_glass=break_glass
        )

    return await record_batch(
        store, privacy, context, operation_id, request, judge_and_append=judge_and_append
    )


async def _state_and_history(
    store: EventStore,
    operation_id: UUID,
    events: Sequence[ProposedEvent],
    expected_version: int | None,
    cache: OperationCache,
) -> tuple[Operation, list[DomainEvent]]:
    if not needs_history(events):
        return await cache.current(store, operation_id, expected_version), []
    stored = await store.read_stream(operation_id)
    if not stored:
        raise NotFound(f"Operation {operation_id} does not exist.")
    refuse_other_kind(stored[0], StreamKind.OPERATION, operation_id, reading=False)
    history = [domain_event(recorded) for recorded in stored]
    state = fold(stored)
    assert state is not None  # noqa: S101  a stream with events folds to a state
    return state, history


def _closing_on_cases(state: Operation, events: Sequence[ProposedEvent]) -> set[UUID]:
    """The survivors whose cases the batch's closing must read (handed to aftercare)."""
    closing = any(
        isinstance(e.data, OperationClosed) and e.data.reason is CloseReason.HANDED_TO_AFTERCARE
        for e in events
    )
    return set(state.survivors) if closing else set()


async def _judge_and_append(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    batch: PreparedBatch,
    *,
    cache: OperationCache,
    break_glass: bool,
) -> Appended:
    operation_id, events, new = batch.stream_id, batch.events, batch.new
    state, history = await _state_and_history(
        store, operation_id, events, batch.expected_version, cache
    )
    version = batch.at(state.version)
    concerned = survivors_to_register(events) | _closing_on_cases(state, events)
    known = await standings(store, concerned) if concerned else {}
    judged = judge(
        state,
        RecordEvents(operation_id, events, break_glass=break_glass),
        context.actor,
        standings=known,
        history=history,
    )
    stored = await to_append(
        judged.events, events, new, context=context, privacy=privacy, stream_id=operation_id
    )
    try:
        appended = await append_registering(
            store,
            operation_id,
            stored,
            expected_version=version,
            registrations=judged.registrations,
        )
    except (VersionConflict, RuleBroken):
        cache.forget(operation_id)
        raise
    # Appended at the expected version, the events landed where judge folded them.
    if appended.version == judged.state.version and not appended.duplicate:
        cache.remember(judged.state)
    else:
        cache.forget(operation_id)
    return appended
