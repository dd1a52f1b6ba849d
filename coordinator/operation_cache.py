"""The latest state of recently written operations, so an append need not re-read its stream.

A state is cached only as of a version that is committed (read from the log, or appended by
this process), so it is always a true past state of its operation. When the client states the
version it expects and the cache holds exactly that version, no read is needed at all: if the
stream has moved on meanwhile, the append's expected version makes it a conflict, as it should.
Otherwise only the events after the cached version are read and folded.
"""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

from coordinator.errors import NotFound
from coordinator.operation import Operation, evolve
from coordinator.recording import domain_event
from events.store import EventStore

CAPACITY = 10_000


class OperationCache:
    """Operation states by id, least recently used dropped first."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._states: OrderedDict[UUID, Operation] = OrderedDict()

    def remember(self, state: Operation) -> None:
        """Keep `state` (a committed version of its operation)."""
        self._states[state.operation_id] = state
        self._states.move_to_end(state.operation_id)
        if len(self._states) > self._capacity:
            self._states.popitem(last=False)

    def forget(self, operation_id: UUID) -> None:
        """Drop the operation's state (after a conflict showed it is behind)."""
        self._states.pop(operation_id, None)

    async def current(
        self, store: EventStore, operation_id: UUID, expected_version: int | None
    ) -> Operation:
        """The operation's state to decide on: cached, brought up to date, or read whole."""
        cached = self._states.get(operation_id)
        if cached is not None and expected_version == cached.version:
            return cached
        start = cached.version + 1 if cached is not None else 1
        state = cached
        for recorded in await store.read_stream(operation_id, from_version=start):
            state = evolve(state, domain_event(recorded))
        if state is None:
            raise NotFound(f"operation {operation_id} does not exist")
        self.remember(state)
        return state
