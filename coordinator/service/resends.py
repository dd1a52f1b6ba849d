"""Recognising a re-sent batch: the same event ids with the same content answer as the first time.

A field team offline sends a batch again when it never saw the answer; the ids it chose make the
second send recognisable. Ids recorded with other content, in another stream, or only some of
them, are a conflict, never a silent partial append.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from events.store.envelope import Appended, AppendedEvent, NewEvent, Recorded
from events.store.errors import DuplicateEventConflict


def resent(found: Sequence[Recorded], new: Sequence[NewEvent], stream_id: UUID) -> Appended | None:
    """The first answer to a re-sent batch (`found`: its ids already recorded), None for a new
    batch; a conflict when the ids were recorded with other content, elsewhere, or in part."""
    if not found:
        return None
    by_id = {recorded.event_id: recorded for recorded in found}
    same = len(found) == len(new) and all(
        event.event_id in by_id
        and by_id[event.event_id].stream_id == stream_id
        and by_id[event.event_id].content_hash == event.content_hash
        for event in new
    )
    if not same:
        raise DuplicateEventConflict([recorded.event_id for recorded in found])
    ordered = [by_id[event.event_id] for event in new]
    return Appended(
        stream_id=stream_id,
        version=max(recorded.version for recorded in ordered),
        events=tuple(AppendedEvent(r.event_id, r.version, r.position, r.hash) for r in ordered),
        duplicate=True,
    )
