"""The shell around a prosecution: open it (its links must name real streams), record, load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from coordinator.domain.prosecution import (
    Prosecution,
    fold_prosecution,
    judge_prosecution,
    open_prosecution,
)
from coordinator.domain.stored import domain_event
from coordinator.errors import NotFound, RuleBroken
from coordinator.service.commands import OpenProsecutionRequest, RecordEventsRequest
from coordinator.service.court.as_of import known_then, recorded_by
from coordinator.service.opening import prepare_opening
from coordinator.service.proposing import (
    PreparedBatch,
    RequestContext,
    record_batch,
    to_append,
)
from coordinator.service.registrations import registering_operations
from coordinator.service.streams import kind_of, refuse_other_kind
from events.catalogue import EventType, ProsecutionOpened, StreamKind
from events.store.envelope import Appended, Recorded
from events.store.event_store import EventStore

if TYPE_CHECKING:
    from coordinator.service.privacy.service import Privacy


@dataclass(frozen=True, slots=True)
class LoadedProsecution:
    """A prosecution's state and the stored events it was folded from."""

    state: Prosecution
    events: list[Recorded]


async def load_prosecution(
    store: EventStore, prosecution_id: UUID, *, as_of: datetime | None = None
) -> LoadedProsecution:
    """Read and fold a prosecution's stream, or `NotFound` (also for another kind's id); with
    `as_of`, only the events recorded by then (`NotFound` if it was not opened yet)."""
    events = recorded_by(await store.read_stream(prosecution_id), as_of)
    if not events:
        raise NotFound(f"prosecution {prosecution_id} does not exist" + known_then(as_of))
    refuse_other_kind(events[0], StreamKind.PROSECUTION, prosecution_id, reading=True)
    state = fold_prosecution([domain_event(recorded) for recorded in events])
    assert state is not None  # noqa: S101  a stream with events folds to a state
    return LoadedProsecution(state, events)


async def open_prosecution_stream(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    request: OpenProsecutionRequest,
) -> Appended:
    """Open a prosecution with its `ProsecutionOpened` (a re-send answers as the first time)."""
    opening = await prepare_opening(
        store,
        privacy,
        context,
        kind=StreamKind.PROSECUTION,
        event_type=EventType.PROSECUTION_OPENED,
        stream_id=request.prosecution_id,
        event_id=request.event_id,
        occurred_at=request.occurred_at,
        data=request.data,
    )
    if opening.resent is not None:
        return opening.resent
    prosecution_id, event, new, existing = (
        opening.stream_id,
        opening.event,
        opening.new,
        opening.existing,
    )
    data = event.data
    assert isinstance(data, ProsecutionOpened)  # noqa: S101  parsed as its type above
    operations = frozenset(
        [
            operation_id
            for operation_id in data.operation_ids
            if await kind_of(store, operation_id) is StreamKind.OPERATION
        ]
    )
    registered = await registering_operations(store.pool, data.survivor_ids)
    decided = open_prosecution(
        event,
        context.actor,
        known_operations=operations,
        registered_survivors=frozenset(s for s, ops in registered.items() if ops),
    )
    if existing:
        raise RuleBroken(f"Prosecution {prosecution_id} is open already.")
    return await store.append(
        prosecution_id,
        await to_append(
            decided, [event], new, context=context, privacy=privacy, stream_id=prosecution_id
        ),
        expected_version=0,
    )


async def record_prosecution_events(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    prosecution_id: UUID,
    request: RecordEventsRequest,
) -> Appended:
    """Judge and append a batch on a prosecution; a re-send answers as the first time."""

    async def judge_and_append(batch: PreparedBatch) -> Appended:
        stored = await store.read_stream(prosecution_id)
        if stored:
            refuse_other_kind(stored[0], StreamKind.PROSECUTION, prosecution_id, reading=False)
        history = [domain_event(recorded) for recorded in stored]
        state = fold_prosecution(history)
        version = batch.at(0 if state is None else state.version)
        judged = judge_prosecution(
            state, prosecution_id, batch.events, context.actor, history=history
        )
        sealed = await to_append(
            judged.events,
            batch.events,
            batch.new,
            context=context,
            privacy=privacy,
            stream_id=prosecution_id,
        )
        return await store.append(prosecution_id, sealed, expected_version=version)

    return await record_batch(
        store, privacy, context, prosecution_id, request, judge_and_append=judge_and_append
    )
