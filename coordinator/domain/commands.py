"""What a caller asks of the rules: open an operation, record a batch, erase a survivor's data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

from coordinator.domain.state import ProposedEvent


@dataclass(frozen=True, slots=True)
class OpenOperation:
    """Open a new operation with its `CaseReported` event."""

    operation_id: UUID
    event: ProposedEvent


@dataclass(frozen=True, slots=True)
class RecordEvents:
    """Record a batch of events on an operation, atomically and in order; `break_glass` when a
    field token of a team not assigned to it states a reason to record anyway."""

    operation_id: UUID
    events: Sequence[ProposedEvent]
    break_glass: bool = False


@dataclass(frozen=True, slots=True)
class EraseSurvivorData:
    """Destroy a survivor's personal-data key; the shell picks the event id and time."""

    survivor_id: UUID
    reason: str
    event_id: UUID = field(default_factory=uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


Command = OpenOperation | RecordEvents | EraseSurvivorData
