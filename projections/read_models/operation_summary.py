"""Folding an operation's events into a summary, for projections that need the operation's rules.

The rules live in `coordinator/` (which projections may not import), so the service hands a
`Folder` to these projections at its composition root. A `FoldingCache` keeps the latest state of
recently seen operations; on a miss (a new leader, a restart) it folds the stream from the store.
Corrections take effect: at an `EventCorrected` the stream is folded again, whole, with every
correction in effect (`Folder.fold_stream`), and followed event by event from there.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from events.catalogue import EventType
from events.store.envelope import Recorded
from events.store.event_store import EventStore


@dataclass(frozen=True, slots=True)
class OperationSummary:
    """What projections keep of an operation: no personal data, only pseudonymous facts.

    `stage` is what the board shows (closed; else the least advanced survivor's; else the
    attempt's), `phase` the attempt's own stage. `survivors_by_status` counts the survivors by
    their journey's status; `abroad_since` is when the earliest registered survivor still abroad
    was registered (None when none is abroad), so the board judges at read time how long.
    """

    operation_id: UUID
    stage: str
    version: int
    country: str | None
    opened_at: datetime
    updated_at: datetime
    is_open: bool
    awaiting_approval: bool
    survivors: tuple[dict[str, Any], ...]
    partners: tuple[dict[str, Any], ...]
    phase: str
    reference: str | None
    awaiting_review_since: datetime | None
    abroad_since: datetime | None
    survivors_by_status: Mapping[str, int]


class Folder(Protocol):
    """The operation's own fold (`evolve`), its stage, and the summary of a folded state."""

    def fold(self, state: Any, event: Recorded) -> Any:
        """The state after `event` (None before the first, and for streams it cannot fold)."""

    def fold_stream(self, events: Sequence[Recorded]) -> Any:
        """The state a stream's first events leave, with every correction among them in effect
        (None for a stream it cannot fold)."""

    def stage(self, state: Any) -> str:
        """The stage a state is in (cheap: asked after every event)."""

    def summary(self, state: Any) -> OperationSummary:
        """The projection-safe summary of a state (asked once per operation and batch)."""


@dataclass(slots=True)
class Folded:
    """A cached state: the operation's version, its stage and since when it has been in it."""

    state: Any
    version: int
    stage: str
    stage_since: datetime


class FoldingCache:
    """The latest folded state of recently seen operations, always in step with the log."""

    def __init__(self, folder: Folder, store: EventStore, *, capacity: int = 5_000) -> None:
        self._folder = folder
        self._store = store
        self._capacity = capacity
        self._states: OrderedDict[UUID, Folded] = OrderedDict()
        # Streams found not to be operations' (test or benchmark data): skipped without a read.
        self._foreign: OrderedDict[UUID, None] = OrderedDict()

    def forget(self) -> None:
        """Drop everything (after a rolled-back batch, the cache may be ahead of the rows)."""
        self._states.clear()
        self._foreign.clear()

    def summary(self, folded: Folded) -> OperationSummary:
        """The summary of a folded state."""
        return self._folder.summary(folded.state)

    async def latest(self, events: Sequence[Recorded]) -> dict[UUID, tuple[Folded, Recorded]]:
        """Fold `events` in order: each touched operation's latest state and its last event.

        Streams that are not operations' are left out.
        """
        latest: dict[UUID, tuple[Folded, Recorded]] = {}
        for event in events:
            folded = self._states.get(event.stream_id)
            if (
                folded is not None
                and folded.version == event.version - 1
                and event.type != EventType.EVENT_CORRECTED
                and event.stream_id not in self._foreign
            ):
                # The common case, without a coroutine per event: the state before is cached.
                result = self._follow(folded, event)
            else:
                result = await self.apply(event)
            if result is not None:
                latest[event.stream_id] = (result, event)
        return latest

    async def apply(self, event: Recorded) -> Folded | None:
        """Fold `event` into its operation's state; None if its stream is not an operation."""
        if event.stream_id in self._foreign:
            return None
        folded = self._states.get(event.stream_id)
        if event.type == EventType.EVENT_CORRECTED:
            # The correction changes what came before it: fold the stream again, whole.
            events = await self._store.read_stream(event.stream_id, limit=event.version)
            if folded is None or folded.version != event.version - 1:
                return self._keep(event, self._fold(events))
            return self._keep(event, self._corrected(folded, events, len(events) - 1))
        if folded is None or folded.version != event.version - 1:
            folded = await self._load(event.stream_id, event.version - 1)
            if folded is None and event.version > 1:
                self._skip(event.stream_id)
                return None
        return self._follow(folded, event)

    def _follow(self, folded: Folded | None, event: Recorded) -> Folded | None:
        return self._keep(event, self._next(folded, event))

    def _keep(self, event: Recorded, result: Folded | None) -> Folded | None:
        if result is None:
            self._skip(event.stream_id)
            return None
        self._states[event.stream_id] = result
        self._states.move_to_end(event.stream_id)
        if len(self._states) > self._capacity:
            self._states.popitem(last=False)
        return result

    def _next(self, folded: Folded | None, event: Recorded) -> Folded | None:
        return self._then(folded, self._folder.fold(folded.state if folded else None, event), event)

    def _then(self, folded: Folded | None, state: Any, event: Recorded) -> Folded | None:
        """`state` after `event` as cached: its stage keeps its time if `event` left it."""
        if state is None:
            return None
        stage = self._folder.stage(state)
        since = event.occurred_at
        if folded is not None and folded.stage == stage:
            since = folded.stage_since
        return Folded(state, event.version, stage, since)

    def _skip(self, stream_id: UUID) -> None:
        self._foreign[stream_id] = None
        if len(self._foreign) > self._capacity:
            self._foreign.popitem(last=False)

    def _corrected(
        self, folded: Folded | None, events: Sequence[Recorded], index: int
    ) -> Folded | None:
        """The state after `events[index]`, an `EventCorrected`: the stream up to it folded again
        with every correction in effect."""
        return self._then(folded, self._folder.fold_stream(events[: index + 1]), events[index])

    def _fold(self, events: Sequence[Recorded]) -> Folded | None:
        """Fold a stream's first events as the live cache does: event by event, and again
        whole at each correction (so a loaded state is the one the cache would have held)."""
        folded: Folded | None = None
        for index, recorded in enumerate(events):
            if recorded.type == EventType.EVENT_CORRECTED:
                folded = self._corrected(folded, events, index)
            else:
                folded = self._next(folded, recorded)
            if folded is None:
                return None
        return folded

    async def _load(self, operation_id: UUID, version: int) -> Folded | None:
        if version <= 0:
            return None
        return self._fold(await self._store.read_stream(operation_id, limit=version))
