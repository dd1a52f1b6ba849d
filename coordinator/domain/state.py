"""A rescue operation's state as its events leave it, and the events and commands that move it.

Everything here is plain frozen data; `evolve` folds events into an `Operation`, `decide` turns
commands into events.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    Destination,
    EventData,
    Exploitation,
    Form,
    Gender,
    Phase,
    Recovery,
)


class Stage(StrEnum):
    """Where an operation is, in the order the work goes.

    The first stages (reported to approved, then rescued after a successful rescue, and closed)
    are the attempt's own: `Operation.phase`, which the rules judge by. The others are shown
    for the survivors: an operation with survivors shows the stage of its least advanced one.
    """

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
    """Where a survivor is, or what became of her.

    The first six follow her journey since her latest registration; the last four come from her
    case and take precedence (see coordinator/domain/case.py).
    """

    ABROAD = "abroad"
    IN_TRANSIT = "in_transit"
    IN_SHELTER = "in_shelter"
    HOME = "home"
    REUNITED = "reunited"
    IN_AFTERCARE = "in_aftercare"
    DECLINED_SUPPORT = "declined_support"
    LOST_CONTACT = "lost_contact"
    RE_TRAFFICKED = "re_trafficked"
    INDEPENDENT = "independent"


STAGE_OF_STATUS: Mapping[SurvivorStatus, Stage] = MappingProxyType(
    {
        SurvivorStatus.ABROAD: Stage.RESCUED,
        SurvivorStatus.IN_TRANSIT: Stage.IN_TRANSIT,
        SurvivorStatus.IN_SHELTER: Stage.RETURNED,
        SurvivorStatus.HOME: Stage.RETURNED,
        SurvivorStatus.REUNITED: Stage.REUNITED,
        SurvivorStatus.IN_AFTERCARE: Stage.AFTERCARE,
    }
)
"""The operation stage a survivor's journey status shows as on the board."""

HOME_COUNTRY = "VN"
"""Where survivors return to; a survivor found elsewhere crosses a border to come home."""


@dataclass(frozen=True, slots=True)
class SurvivorRecord:
    """One survivor as an operation registered her, under her pseudonymous id, and her journey
    since: handed over, returned (and where to), then reunited or in aftercare after her return.

    No personal data is kept. Reunion or care before her return change nothing here: they are
    recorded, and her status stays where her journey is.
    """

    survivor_id: UUID
    gender: Gender
    age_at_rescue: int | None
    exploitation: Exploitation
    form: Form | None
    found_in_country: str
    home_province: str | None
    age_estimated: bool = False
    ethnic_group: str | None = None
    missing_person_id: UUID | None = None
    recovered: Recovery | None = None
    registered_at: datetime | None = None
    handed_off: bool = False
    returned_to: Destination | None = None
    reunited: bool = False
    supported: bool = False
    personal_erased: bool = False

    @property
    def found_abroad(self) -> bool:
        """Whether she was found outside the home country (and so must cross a border)."""
        return self.found_in_country != HOME_COUNTRY

    @property
    def returned(self) -> bool:
        """Whether she has come home or to a shelter."""
        return self.returned_to is not None

    @property
    def status(self) -> SurvivorStatus:
        """Where her journey is: abroad, in transit, in a shelter or home, reunited, in care."""
        if self.returned_to is None:
            if self.handed_off or not self.found_abroad:
                return SurvivorStatus.IN_TRANSIT
            return SurvivorStatus.ABROAD
        if self.supported:
            return SurvivorStatus.IN_AFTERCARE
        if self.reunited:
            return SurvivorStatus.REUNITED
        if self.returned_to is Destination.SHELTER:
            return SurvivorStatus.IN_SHELTER
        return SurvivorStatus.HOME


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner agency engaged in the operation."""

    agency: str
    agency_type: AgencyType
    country: str


@dataclass(frozen=True, slots=True)
class Operation:
    """A rescue operation as of its latest event.

    `phase` is the attempt's stage, which the rules judge by; `stage` is what the board shows.
    `country` is the suspected country until a location is confirmed. `updated_at` is the
    latest `occurred_at` seen (events prepared offline may arrive late and out of order).
    `survivors` keeps the order of registration. `event_types` maps every event id seen to its
    type, so corrections can be checked against what they correct. `teams` are the field teams
    assigned to it (need-to-know: coordinator/domain/need_to_know.py).
    """

    operation_id: UUID
    phase: Stage
    version: int
    opened_at: datetime
    updated_at: datetime
    reference: str | None = None
    missing_persons: tuple[UUID, ...] = ()
    country: str | None = None
    country_confirmed: bool = False
    lead_investigator: str | None = None
    survivors: Mapping[UUID, SurvivorRecord] = field(default_factory=lambda: MappingProxyType({}))
    partners: tuple[Partner, ...] = ()
    planned_by: str | None = None
    approved_by: str | None = None
    rescues: int = 0
    unsuccessful_attempts: int = 0
    awaiting_review_since: datetime | None = None
    reviews: int = 0
    close_reason: CloseReason | None = None
    event_types: Mapping[UUID, str] = field(default_factory=lambda: MappingProxyType({}))
    testimonies: int = 0
    evidence_items: int = 0
    prosecution_phase: Phase | None = None
    teams: frozenset[str] = frozenset()

    @property
    def closed(self) -> bool:
        """Whether the operation has been closed."""
        return self.phase is Stage.CLOSED

    @property
    def approved(self) -> bool:
        """Whether the current rescue plan is approved."""
        return self.approved_by is not None

    @property
    def awaiting_review(self) -> bool:
        """Whether an emergency rescue still awaits leadership's review."""
        return self.awaiting_review_since is not None

    @property
    def stage(self) -> Stage:
        """What the board shows: closed; else the least advanced survivor's stage; else, with no
        survivor, the attempt's stage. The rules never judge by it."""
        if self.phase is Stage.CLOSED or not self.survivors:
            return self.phase
        return min((STAGE_OF_STATUS[s.status] for s in self.survivors.values()), key=_rank)


def _rank(stage: Stage) -> int:
    return stage.rank


def _check_type(event_type: str, data: EventData) -> None:
    model = EVENT_TYPES.get(event_type)
    if model is None or type(data) is not model:
        raise ValueError(f"an event of type {event_type!r} cannot carry {type(data).__name__}")


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """A recorded event as the rules see it: the parsed payload and its envelope's facts.

    The HTTP layer builds these from stored events; `decide` builds them while folding a batch.
    `stream_id` is the operation's, the survivor's or the prosecution's id.
    """

    stream_id: UUID
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

    def recorded(self, stream_id: UUID, actor: Actor, version: int) -> DomainEvent:
        """The event as it will stand in stream `stream_id` at `version`, recorded by `actor`."""
        return DomainEvent(
            stream_id=stream_id,
            event_id=self.event_id,
            type=self.type,
            data=self.data,
            occurred_at=self.occurred_at,
            recorded_by=actor,
            version=version,
        )

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
