"""The shell around a survivor's case: record on it, and erase her personal data.

Her case stream (id: her `survivor_id`) starts with her first case event; it exists only for a
survivor an operation registered. Erasure records `PersonalDataErased` on her case, then destroys
her data key and the keys of the missing person she is, so her name in her mother's report goes
with the rest; every hash still verifies, since hashes cover the sealed form.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from coordinator.domain import EraseSurvivorData
from coordinator.domain.case_rules import RecordCaseEvents, erase, judge_case
from coordinator.errors import NotFound, RuleBroken
from coordinator.service.commands import RecordEventsRequest
from coordinator.service.court.as_of import known_then
from coordinator.service.proposing import (
    PreparedBatch,
    RequestContext,
    new_events,
    record_batch,
    to_append,
)
from coordinator.service.streams import kind_of
from coordinator.service.survivor_cases import LoadedCase, load_case, missing_person_ids
from events.catalogue import StreamKind, SurvivorRetrafficked
from events.store.envelope import Appended
from events.store.event_store import EventStore

if TYPE_CHECKING:
    from coordinator.service.privacy.service import Privacy


async def load_registered_case(
    store: EventStore, survivor_id: UUID, *, as_of: datetime | None = None
) -> LoadedCase:
    """Her case (with `as_of`, as known then), or `NotFound` until an operation registered her."""
    loaded = await load_case(store, survivor_id, as_of=as_of)
    if not loaded.state.registered:
        raise NotFound(
            f"survivor {survivor_id} is not registered by any operation" + known_then(as_of)
        )
    return loaded


async def record_case_events(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    survivor_id: UUID,
    request: RecordEventsRequest,
) -> Appended:
    """Judge and append a batch on her case; a re-send answers as the first time."""

    async def judge_and_append(batch: PreparedBatch) -> Appended:
        for event in batch.events:
            if isinstance(event.data, SurvivorRetrafficked):
                await _names_an_operation(store, event.data.operation_id)
        loaded = await load_case(store, survivor_id, reading=False)  # another kind's id: 422
        if not loaded.state.registered:
            raise NotFound(f"survivor {survivor_id} is not registered by any operation")
        version = batch.at(loaded.state.version)
        judged = judge_case(
            loaded.state,
            RecordCaseEvents(survivor_id, batch.events),
            context.actor,
            history=loaded.history,
        )
        stored = await to_append(
            judged.events,
            batch.events,
            batch.new,
            context=context,
            privacy=privacy,
            stream_id=survivor_id,
        )
        return await store.append(survivor_id, stored, expected_version=version)

    return await record_batch(
        store, privacy, context, survivor_id, request, judge_and_append=judge_and_append
    )


async def _names_an_operation(store: EventStore, operation_id: UUID) -> None:
    """Nothing if `operation_id` is an operation's or not used yet (the team may open it next)."""
    kind = await kind_of(store, operation_id)
    if kind not in (None, StreamKind.OPERATION):
        raise RuleBroken(
            f"SurvivorRetrafficked names {operation_id}, which is not an operation's id.",
        )


async def erase_survivor_data(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    *,
    survivor_id: UUID,
    reason: str,
) -> Appended | None:
    """Record `PersonalDataErased` on her case, then destroy her keys and her missing-person
    keys. The event comes first: if the process dies in between, a repeated call finds it,
    records nothing more, and destroys the keys. None when it was recorded before."""
    loaded = await load_registered_case(store, survivor_id)
    decided = erase(loaded.state, EraseSurvivorData(survivor_id, reason), context.actor)
    appended = None
    if decided:
        appended = await store.append(
            survivor_id,
            await new_events(decided, context, privacy, survivor_id),
            expected_version=loaded.state.version,
        )
    for subject in {survivor_id, *missing_person_ids(loaded.history, survivor_id)}:
        await privacy.data_keys.erase(subject)
    return appended
