"""The kind of a stream, as its first event fixed it, and the answers to an id of another kind."""

from __future__ import annotations

from uuid import UUID

from coordinator.errors import NotFound, RuleBroken
from events.catalogue import StreamKind, kind_opened_by
from events.store.envelope import Recorded
from events.store.event_store import EventStore

_NAMES = {
    StreamKind.OPERATION: "an operation",
    StreamKind.SURVIVOR_CASE: "a survivor's case",
    StreamKind.PROSECUTION: "a prosecution",
}


async def kind_of(store: EventStore, stream_id: UUID) -> StreamKind | None:
    """The kind of a stream, or None when it has no events yet."""
    first = await store.read_stream(stream_id, limit=1)
    return kind_opened_by(first[0].type) if first else None


def refuse_other_kind(
    first: Recorded, expected: StreamKind, stream_id: UUID, *, reading: bool
) -> None:
    """Nothing if the stream whose first event is `first` is of the `expected` kind; else 404
    for a read under the wrong path and 422 for a write."""
    kind = kind_opened_by(first.type)
    if kind is expected:
        return
    if reading:
        raise NotFound(f"{stream_id} is not {_NAMES[expected]}'s id.")
    raise RuleBroken(
        f"{stream_id} is the id of {_NAMES[kind]}; {_NAMES[expected]} needs an id of its own.",
    )
