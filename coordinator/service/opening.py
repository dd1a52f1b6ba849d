"""Opening a stream with its first event, the part every kind shares: the id (the client's or a
new one), a re-send of the same first event answered as the first time, and an id that another
kind of stream (or a registered survivor) already uses refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from coordinator.domain import ProposedEvent
from coordinator.errors import RuleBroken
from coordinator.service.proposing import RequestContext, new_event, payload, repeated
from coordinator.service.registrations import registering_operations
from coordinator.service.streams import refuse_other_kind
from events.catalogue import StreamKind
from events.store.envelope import Appended, NewEvent, Recorded
from events.store.event_store import EventStore

if TYPE_CHECKING:
    from coordinator.service.privacy.service import Privacy

_NAMES = {StreamKind.OPERATION: "an operation", StreamKind.PROSECUTION: "a prosecution"}


@dataclass(frozen=True, slots=True)
class Opening:
    """A stream about to be opened: its id, its first event as proposed and as stored, the
    events it already holds (a client's id may name one), or the answer to a re-send."""

    stream_id: UUID
    event: ProposedEvent
    new: list[NewEvent]
    existing: list[Recorded]
    resent: Appended | None


async def prepare_opening(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    *,
    kind: StreamKind,
    event_type: str,
    stream_id: UUID | None,
    event_id: UUID | None,
    occurred_at: datetime | None,
    data: dict[str, Any],
    stored_as: Callable[[NewEvent], NewEvent] = lambda event: event,
) -> Opening:
    """The first event of a new stream of `kind`, checked against what its id already names."""
    chosen = stream_id or uuid4()
    event = ProposedEvent(
        event_id=event_id or uuid4(),
        type=event_type,
        data=payload(event_type, data),
        occurred_at=occurred_at or datetime.now(UTC),
    )
    # An id the server just chose has no stream yet: only a client's id is worth reading.
    existing = [] if stream_id is None else await store.read_stream(chosen)
    new = [stored_as(await new_event(event, context, privacy, chosen))]
    # A re-send carries the stream's first event: the same id, the same content.
    first = [e for e in existing[:1] if e.event_id == event.event_id]
    resent = await repeated(first, [event], new, chosen, privacy)
    if resent is None and existing:
        refuse_other_kind(existing[0], kind, chosen, reading=False)
    elif resent is None and stream_id is not None and await _a_survivors_id(store, chosen):
        raise RuleBroken(f"{chosen} is a survivor's id; {_NAMES[kind]} needs an id of its own.")
    return Opening(chosen, event, new, existing, resent)


async def _a_survivors_id(store: EventStore, stream_id: UUID) -> bool:
    """Whether an operation registered a survivor under this id (her case may have no event)."""
    return bool((await registering_operations(store.pool, [stream_id]))[stream_id])
