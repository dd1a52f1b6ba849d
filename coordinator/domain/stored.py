"""Stored events as the operation's rules see them: `DomainEvent`s, and the fold of a stream.

Kept apart from recording.py (the HTTP shell) so that folding the log, as projections and their
rebuild's helper processes do, does not load the web stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from coordinator.domain import DomainEvent, Operation, fold_operation
from coordinator.domain.actors import Actor, Role
from events.catalogue import EventData, parse_event
from events.store.envelope import Recorded

PayloadParser = Callable[[str, int, dict[str, Any]], EventData]
"""Reads a stored payload: (event type, schema version, data) to the current payload model."""


@lru_cache(maxsize=256)
def _recorder(name: str, role: str, team: str | None) -> Actor:
    # The few people who record events, shared: a fold of the whole log asks once per event.
    return Actor(name, Role(role), team)


def domain_event(recorded: Recorded, parse: PayloadParser = parse_event) -> DomainEvent:
    """A stored event as the rules see it (older schema versions are upcast by `parse`)."""
    metadata = recorded.metadata
    return DomainEvent(
        stream_id=recorded.stream_id,
        event_id=recorded.event_id,
        type=recorded.type,
        data=parse(recorded.type, recorded.schema_version, recorded.data),
        occurred_at=recorded.occurred_at,
        recorded_by=_recorder(
            str(metadata.get("recorded_by", "")),
            str(metadata.get("role", Role.ADMIN)),
            _team(metadata.get("team")),
        ),
        version=recorded.version,
    )


def _team(value: object) -> str | None:
    # Only a field token with a team records one (coordinator/service/proposing.py).
    return value if isinstance(value, str) else None


def fold(events: Sequence[Recorded]) -> Operation | None:
    """The state a stream's events leave an operation in (None for no events), with every
    correction in effect."""
    return fold_operation([domain_event(recorded) for recorded in events])
