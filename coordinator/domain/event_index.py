"""An immutable map of an operation's event ids to their types that grows in constant time.

Folding a stream adds one entry per event; copying a dict each time made folding quadratic:
folding 1,000 event ids costs 0.45 ms here against 1.5 ms with a new dict per event
(ops/bench_fast_paths.py), and the gap grows with the stream. tests/test_event_index.py pins it
to plain dicts under any branching. Every `EventIndex` is a view of the first `size`
entries of a store shared along one line of folding: adding to the newest view appends to the
shared store, which older views never see (they stop at their own size); adding to an older view
(a branch, as property tests do) copies first, unless it adds the very event that follows.

Every cached operation state holds one, so the store is compact: the ids' 16 bytes each, end to
end, and one byte per event for its type. A UUID object, a tuple and a dict entry per event cost
about 330 bytes, 17 here. A lookup scans the ids (C speed: some microseconds for a thousand
events), and only corrections look anything up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from uuid import UUID

_ID = 16
# Event type names by code, interned once per process: the catalogue has about twenty.
_NAMES: list[str] = []
_CODES: dict[str, int] = {}


def _code(event_type: str) -> int:
    code = _CODES.get(event_type)
    if code is None:
        if len(_NAMES) == 256:
            raise ValueError("an event index holds at most 256 distinct event types")
        code = _CODES[event_type] = len(_NAMES)
        _NAMES.append(event_type)
    return code


class EventIndex(Mapping[UUID, str]):
    """Event id to event type, for the events folded so far."""

    __slots__ = ("_ids", "_size", "_types")

    def __init__(
        self, ids: bytearray | None = None, types: bytearray | None = None, size: int = 0
    ) -> None:
        self._ids = ids if ids is not None else bytearray()
        self._types = types if types is not None else bytearray()
        self._size = size

    def with_event(self, event_id: UUID, event_type: str) -> EventIndex:
        """This index with one more event."""
        key, code, size = event_id.bytes, _code(event_type), self._size
        ids, types = self._ids, self._types
        if size < len(types) and types[size] == code and ids[size * _ID : (size + 1) * _ID] == key:
            # The same event was folded from this view before (decide, then the state after
            # the append): the shared store already holds it.
            return EventIndex(ids, types, size + 1)
        if size != len(types):  # an older view: branch off with a copy
            ids, types = ids[: size * _ID], types[:size]
        ids += key
        types.append(code)
        return EventIndex(ids, types, size + 1)

    def _find(self, event_id: object) -> int | None:
        """The position of the first event with this id in this view, or None."""
        if not isinstance(event_id, UUID):
            return None
        key, ids, end = event_id.bytes, self._ids, self._size * _ID
        at = ids.find(key, 0, end)
        while at >= 0 and at % _ID:  # a match across two ids: search on
            at = ids.find(key, at + 1, end)
        return None if at < 0 else at // _ID

    def __getitem__(self, event_id: UUID) -> str:
        position = self._find(event_id)
        if position is None:
            raise KeyError(event_id)
        return _NAMES[self._types[position]]

    def __contains__(self, event_id: object) -> bool:
        return self._find(event_id) is not None

    def __iter__(self) -> Iterator[UUID]:
        ids = self._ids
        return (UUID(bytes=bytes(ids[at : at + _ID])) for at in range(0, self._size * _ID, _ID))

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"EventIndex({dict(self)!r})"
