"""A rescue operation's state as its events leave it, and the events and commands that move it.

Everything here is plain frozen data; `evolve` folds events into an `Operation`, `decide` turns
commands into events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from uuid import UUID, uuid4

from coordinator.domain.actors import Actor
from events.catalogue import (
    EVENT_TYPES,
    AgencyType,
    CloseReason,
    EventData,
    Exploitation,
    Form,
    Gender,
    Phase,
)


class Stage(StrEnum):
    """Where an operation is, in the order the work goes."""

    REPORTED = "reported"
    INVESTIGATING = "investigating"
    PLANNING = "planning"
    APPROVED = "approved"
    RESCUED = "rescued"
    IN_TRANSIT = "in_transit"
    RETURNED = "returned"
    REUNITED = "reunited"
    AFTERCARE = "aftercare"
    CLOSED = "closed"

    @property
    def rank(self) -> int:
        """The stage's place in the order, so that stages compare by how far the work got."""
        return _STAGE_RANKS[self]


_STAGE_RANKS = {stage: rank for rank, stage in enumerate(Stage)}


class SurvivorStatus(StrEnum):
    """Where one survivor is; each status is also the operation stage of the same name."""

    RESCUED = "rescued"
    IN_TRANSIT = "in_transit"
    RETURNED = "returned"
    REUNITED = "reunited"
    AFTERCARE = "aftercare"


@dataclass(frozen=True, slots=True)
class SurvivorRecord:
    """One survivor of the operation, under their pseudonymous id; no personal data is kept."""

    survivor_id: UUID
    gender: Gender
    age_at_rescue: int
    exploitation: Exploitation
    form: Form | None
    found_in_country: str
    home_province: str | None
    status: SurvivorStatus = SurvivorStatus.RESCUED
    personal_erased: bool = False


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner agency engaged in the operation."""

    agency: str
    agency_type: AgencyType
    country: str


@dataclass(frozen=True, slots=True)
class Operation:
    """A rescue operation as of its latest event.

    `country` is the suspected country until a location is confirmed. `updated_at` is the
    latest `occurred_at` seen (events prepared offline may arrive late and out of order).
    `survivors` keeps the order of registration. `event_types` maps every event id seen to its
    type, so corrections can be checked against what they correct.
    """

    operation_id: UUID
    stage: Stage
    version: int
    opened_at: datetime
    updated_at: datetime
    country: str | None = None
    country_confirmed: bool = False
    lead_investigator: str | None = None
    survivors: Mapping[UUID, SurvivorRecord] = field(default_factory=lambda: MappingProxyType({}))
    partners: tuple[Partner, ...] = ()
    planned_by: str | None = None
    approved_by: str | None = None
    unsuccessful_attempts: int = 0
    close_reason: CloseReason | None = None
    event_types: Mapping[UUID, str] = field(default_factory=lambda: MappingProxyType({}))
    testimonies: int = 0
    evidence_items: int = 0
    prosecution_phase: Phase | None = None

    @property
    def closed(self) -> bool:
        """Whether the operation has been closed."""
        return self.stage is Stage.CLOSED

    @property
    def approved(self) -> bool:
        """Whether the current rescue plan is approved."""
        return self.approved_by is not None


def _check_type(event_type: str, data: EventData) -> None:
    model = EVENT_TYPES.get(event_type)
    if model is None or type(data) is not model:
        raise ValueError(f"an event of type {event_type!r} cannot carry {type(data).__name__}")


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """A recorded event as the rules see it: the parsed payload and its envelope's facts.

    The HTTP layer builds these from stored events; `decide` builds them while folding a batch.
    """

    operation_id: UUID
    event_id: UUID
    type: str
    data: EventData
    occurred_at: datetime
    recorded_by: Actor
    version: int

    def __post_init__(self) -> None:
        _check_type(self.type, self.data)


@dataclass(frozen=True, slots=True)
class ProposedEvent:
    """An event a client asks to record; the event id may come from the client (offline)."""

    event_id: UUID
    type: str
    data: EventData
    occurred_at: datetime

    def __post_init__(self) -> None:
        _check_type(self.type, self.data)

    @classmethod
    def of(
        cls,
        data: EventData,
        *,
        event_id: UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> ProposedEvent:
        """Propose `data` under its own type name, with a fresh id and now unless given."""
        return cls(
            event_id=event_id or uuid4(),
            type=type(data).__name__,
            data=data,
            occurred_at=occurred_at or datetime.now(UTC),
        )


@dataclass(frozen=True, slots=True)
class OpenOperation:
    """Open a new operation with its `CaseReported` event."""

    operation_id: UUID
    event: ProposedEvent


@dataclass(frozen=True, slots=True)
class RecordEvents:
    """Record a batch of events on an operation, atomically and in order."""

    operation_id: UUID
    events: Sequence[ProposedEvent]


@dataclass(frozen=True, slots=True)
class EraseSurvivorData:
    """Destroy a survivor's personal-data key; the shell picks the event id and time."""

    survivor_id: UUID
    reason: str
    event_id: UUID = field(default_factory=uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


Command = OpenOperation | RecordEvents | EraseSurvivorData
