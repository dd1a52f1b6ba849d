"""The latest state of recently written operations, so an append need not re-read its stream.

A state is cached only as of a version that is committed (read from the log, or appended by
this process), so it is always a true past state of its operation. When the client states the
version it expects and the cache holds exactly that version, no read is needed at all: if the
stream has moved on meanwhile, the append's expected version makes it a conflict, as it should.
Otherwise only the events after the cached version are read and folded.

The cache is bounded by an estimate of the memory its states take, not by their count: a state
grows with its events (the event index) and survivors, and a few long operations must not take
the room of thousands of short ones. Least recently used states go first.
"""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

from coordinator.domain import NotAnOperationStream, Operation, evolve
from coordinator.domain.stored import domain_event, fold
from coordinator.errors import NotFound, RuleBroken
from events.catalogue import EventType
from events.store.event_store import EventStore

# Measured with sys.getsizeof over a folded state (ops/load_test.py's 40-event operations take
# about 1.7 KB): the fixed part, then what each event, survivor and partner adds.
STATE_BYTES = 900
EVENT_BYTES = 20
SURVIVOR_BYTES = 400
PARTNER_BYTES = 200


def estimated_bytes(state: Operation) -> int:
    """Roughly how much memory a cached state holds."""
    return (
        STATE_BYTES
        + EVENT_BYTES * len(state.event_types)
        + SURVIVOR_BYTES * len(state.survivors)
        + PARTNER_BYTES * len(state.partners)
    )


class OperationCache:
    """Operation states by id within a memory budget, least recently used dropped first."""

    def __init__(self, budget_bytes: int = 16 * 1024 * 1024) -> None:
        self._budget = budget_bytes
        self._used = 0
        self._states: OrderedDict[UUID, tuple[Operation, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    @property
    def used_bytes(self) -> int:
        """The estimated memory of the states held."""
        return self._used

    def held(self, operation_id: UUID) -> Operation | None:
        """The state held for an operation, if any (without reading or refreshing it)."""
        found = self._states.get(operation_id)
        return None if found is None else found[0]

    def remember(self, state: Operation) -> None:
        """Keep `state` (a committed version of its operation)."""
        self.forget(state.operation_id)
        size = estimated_bytes(state)
        self._states[state.operation_id] = (state, size)
        self._used += size
        while self._used > self._budget and self._states:
            _, (_, dropped) = self._states.popitem(last=False)
            self._used -= dropped

    def forget(self, operation_id: UUID) -> None:
        """Drop the operation's state (after a conflict showed it is behind)."""
        held = self._states.pop(operation_id, None)
        if held is not None:
            self._used -= held[1]

    async def current(
        self, store: EventStore, operation_id: UUID, expected_version: int | None
    ) -> Operation:
        """The operation's state to decide on: cached, brought up to date, or read whole."""
        held = self._states.get(operation_id)
        cached = None if held is None else held[0]
        if cached is not None and expected_version == cached.version:
            self._states.move_to_end(operation_id)
            return cached
        start = cached.version + 1 if cached is not None else 1
        state = cached
        newer = await store.read_stream(operation_id, from_version=start)
        try:
            if any(recorded.type == EventType.EVENT_CORRECTED for recorded in newer):
                # A correction changes what earlier events mean: fold the stream again whole.
                state = fold(await store.read_stream(operation_id))
            else:
                for recorded in newer:
                    state = evolve(state, domain_event(recorded))
        except NotAnOperationStream as error:
            raise RuleBroken(
                f"{operation_id} is not an operation's id; an operation needs an id of its own.",
            ) from error
        if state is None:
            raise NotFound(f"operation {operation_id} does not exist")
        self.remember(state)
        return state
