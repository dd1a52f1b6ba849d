"""Loading a survivor's case from the log, and what the operations' rules need of it.

Her case is folded from her own stream (whose id is her `survivor_id`) and every event of the
operations that registered her, merged in log order (coordinator/domain/case.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from coordinator.domain import Standing
from coordinator.domain.case import SurvivorCase, fold_case
from coordinator.domain.state import DomainEvent
from coordinator.domain.stored import domain_event
from coordinator.service.court.as_of import recorded_by
from coordinator.service.registrations import registering_operations
from coordinator.service.streams import refuse_other_kind
from events.catalogue import StreamKind
from events.store.envelope import Recorded
from events.store.event_store import EventStore


@dataclass(frozen=True, slots=True)
class LoadedCase:
    """Her case, the events of her own stream, and every event it was folded from."""

    state: SurvivorCase
    own: list[Recorded]
    history: list[DomainEvent]
    stored: list[Recorded]


async def load_case(
    store: EventStore, survivor_id: UUID, *, reading: bool = True, as_of: datetime | None = None
) -> LoadedCase:
    """Her case as the log holds it now, or with `as_of` as it held it then: her own events and
    the operations' events recorded by then (not registered: an empty case). Her id used by a
    stream of another kind is `NotFound` when `reading`, else `RuleBroken`."""
    operations = (await registering_operations(store.pool, [survivor_id]))[survivor_id]
    own = await store.read_stream(survivor_id)
    if own:
        refuse_other_kind(own[0], StreamKind.SURVIVOR_CASE, survivor_id, reading=reading)
    own = recorded_by(own, as_of)
    stored = list(own)
    for operation_id in operations:
        stored.extend(recorded_by(await store.read_stream(operation_id), as_of))
    stored.sort(key=lambda recorded: recorded.cursor)
    history = [domain_event(recorded) for recorded in stored]
    return LoadedCase(fold_case(survivor_id, history), own, history, stored)


async def standings(store: EventStore, survivor_ids: Iterable[UUID]) -> dict[UUID, Standing]:
    """What the record says of each survivor, for an operation's rules (an id that another kind
    of stream uses is refused)."""
    return {
        survivor_id: (await load_case(store, survivor_id, reading=False)).state.standing()
        for survivor_id in set(survivor_ids)
    }


def missing_person_ids(history: Sequence[DomainEvent], survivor_id: UUID) -> set[UUID]:
    """The missing persons of the reports she is, by every registration of her."""
    found: set[UUID] = set()
    for event in history:
        for survivor in getattr(event.data, "survivors", ()):
            if survivor.survivor_id == survivor_id and survivor.missing_person_id is not None:
                found.add(survivor.missing_person_id)
    return found
