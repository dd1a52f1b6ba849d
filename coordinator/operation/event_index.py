"""An immutable map of an operation's event ids to their types that grows in constant time.

Folding a stream adds one entry per event; copying a dict each time made folding quadratic (a
1,000-event operation took half a second). Every `EventIndex` is a view of the first `size`
entries of a list shared along one line of folding: adding to the newest view appends to the
shared list, which older views never see (they stop at their own size); adding to an older view
(a branch, as property tests do) copies first, unless it adds the very event that follows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from uuid import UUID


class EventIndex(Mapping[UUID, str]):
    """Event id to event type, for the events folded so far."""

    __slots__ = ("_entries", "_positions", "_size")

    def __init__(
        self,
        entries: list[tuple[UUID, str]] | None = None,
        positions: dict[UUID, int] | None = None,
        size: int = 0,
    ) -> None:
        self._entries = entries if entries is not None else []
        self._positions = positions if positions is not None else {}
        self._size = size

    def with_event(self, event_id: UUID, event_type: str) -> EventIndex:
        """This index with one more event."""
        if self._size < len(self._entries) and self._entries[self._size] == (event_id, event_type):
            # The same event was folded from this view before (decide, then the state after
            # the append): the shared list already holds it.
            return EventIndex(self._entries, self._positions, self._size + 1)
        if self._size != len(self._entries):  # an older view: branch off with a copy
            entries = self._entries[: self._size]
            positions = {key: index for index, (key, _) in enumerate(entries)}
        else:
            entries, positions = self._entries, self._positions
        if event_id not in positions or positions[event_id] >= self._size:
            positions[event_id] = len(entries)
        entries.append((event_id, event_type))
        return EventIndex(entries, positions, self._size + 1)

    def __getitem__(self, event_id: UUID) -> str:
        position = self._positions.get(event_id)
        if position is None or position >= self._size:
            raise KeyError(event_id)
        return self._entries[position][1]

    def __iter__(self) -> Iterator[UUID]:
        return (event_id for event_id, _ in self._entries[: self._size])

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"EventIndex({dict(self)!r})"
